package dev.vigil.promql.engine;

import dev.vigil.promql.ast.At;
import dev.vigil.promql.ast.Dur;
import dev.vigil.promql.ast.Expr;
import dev.vigil.promql.storage.Querier;

/** Internal: state shared by all evaluators of one query. */
final class Ctx {
    final Querier querier;
    final Annotations annos = new Annotations();
    final EngineOptions opts;
    final QueryContext qc;
    final String query;
    final long queryStart, queryEnd, queryStep;
    final long maxSamples;
    long samples;

    Ctx(Querier querier, EngineOptions opts, QueryContext qc, String query, long start, long end, long step) {
        this.querier = querier;
        this.opts = opts;
        this.qc = qc;
        this.query = query;
        this.queryStart = start;
        this.queryEnd = end;
        this.queryStep = step;
        this.maxSamples = qc.maxSamples() > 0 ? qc.maxSamples() : opts.maxSamples();
    }

    long ms(Dur d) { return d == null ? 0 : d.millis(queryStep, queryEnd - queryStart); }

    Long at(At a) {
        if (a == null) return null;
        return switch (a.kind()) {
            case TIMESTAMP -> a.timestampMs();
            case START -> queryStart;
            case END -> queryEnd;
        };
    }

    void addSamples(long n) {
        samples += n;
        if (samples > maxSamples)
            throw new QueryException(QueryException.Kind.TOO_MANY_SAMPLES, "query processing would load too many samples into memory in query execution");
    }

    String pos(Expr e) {
        int p = e.pos();
        int line = 1, col = 1;
        for (int i = 0; i < Math.min(p, query.length()); i++) {
            if (query.charAt(i) == '\n') { line++; col = 1; } else col++;
        }
        return " (" + line + ":" + col + ")";
    }
}
