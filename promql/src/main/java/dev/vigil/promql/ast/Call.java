package dev.vigil.promql.ast;

import java.util.List;

public record Call(Function func, List<Expr> args, int pos, int end) implements Expr {
    @Override public ValueType type() { return func.returnType(); }
}
