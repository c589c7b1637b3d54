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
    long samples, peakSamples;
    /** Nodes being evaluated, outermost first (Prometheus' inspection path), for SelectHints. */
    final java.util.ArrayList<Expr> path = new java.util.ArrayList<>();

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

    /**
     * Sample accounting follows Prometheus' peak semantics: {@code samples} is the number of samples
     * currently held in memory (results of evaluated nodes still needed by their parents plus the
     * output being built); it is released when a node's children are no longer needed.
     */
    void addSamples(long n) {
        samples += n;
        if (samples > peakSamples) peakSamples = samples;
        if (samples > maxSamples) throw tooMany();
    }

    /** Checks that {@code extra} transiently held samples (e.g. a range window) fit in the limit. */
    void checkTransient(long extra) {
        long v = samples + extra;
        if (v > peakSamples) peakSamples = v;
        if (v > maxSamples) throw tooMany();
    }

    /** Sets the number of samples held (after a node released its inputs), checking the limit. */
    void setSamples(long n) {
        samples = n;
        if (samples > peakSamples) peakSamples = samples;
        if (samples > maxSamples) throw tooMany();
    }

    private static QueryException tooMany() {
        return new QueryException(QueryException.Kind.TOO_MANY_SAMPLES, "query processing would load too many samples into memory in query execution");
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
