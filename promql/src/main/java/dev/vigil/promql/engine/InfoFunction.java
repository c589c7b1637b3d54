package dev.vigil.promql.engine;

import dev.vigil.promql.ast.Call;

/** info(): not yet supported. */
final class InfoFunction {
    private final Evaluator ev;
    InfoFunction(Evaluator ev) { this.ev = ev; }

    Object eval(Call c) {
        throw new QueryException("function \"info\" is not supported yet");
    }
}
