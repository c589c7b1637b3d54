package dev.vigil.promql.engine;

import dev.vigil.promql.Labels;
import dev.vigil.promql.ast.*;
import dev.vigil.promql.parser.Parser;
import dev.vigil.promql.storage.Querier;
import dev.vigil.promql.storage.Storage;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The PromQL query engine. Thread-safe; create once and share.
 *
 * <pre>
 *   Engine engine = new Engine(EngineOptions.defaults());
 *   QueryResult r = engine.instantQuery(storage, "sum by (job) (rate(http_requests_total[5m]))", nowMs, QueryContext.withTimeout(30_000));
 * </pre>
 */
public final class Engine {
    private final EngineOptions opts;

    public Engine() { this(EngineOptions.defaults()); }

    public Engine(EngineOptions opts) { this.opts = opts; }

    public EngineOptions options() { return opts; }

    public QueryResult instantQuery(Storage storage, String query, long timeMs) {
        return instantQuery(storage, query, timeMs, QueryContext.withTimeout(opts.timeoutMs()));
    }

    public QueryResult instantQuery(Storage storage, String query, long timeMs, QueryContext qc) {
        Expr e = Parser.parse(query);
        return exec(storage, query, e, timeMs, timeMs, 0, qc);
    }

    public QueryResult rangeQuery(Storage storage, String query, long startMs, long endMs, long stepMs) {
        return rangeQuery(storage, query, startMs, endMs, stepMs, QueryContext.withTimeout(opts.timeoutMs()));
    }

    public QueryResult rangeQuery(Storage storage, String query, long startMs, long endMs, long stepMs, QueryContext qc) {
        if (stepMs <= 0) throw new QueryException(QueryException.Kind.BAD_DATA, "zero or negative query resolution step widths are not accepted");
        if (endMs < startMs) throw new QueryException(QueryException.Kind.BAD_DATA, "end timestamp must not be before start time");
        Expr e = Parser.parse(query);
        if (e.type() != ValueType.SCALAR && e.type() != ValueType.VECTOR)
            throw new QueryException(QueryException.Kind.BAD_DATA, "invalid expression type \"" + e.type() + "\" for range query, must be Scalar or instant Vector");
        return exec(storage, query, e, startMs, endMs, stepMs, qc);
    }

    private QueryResult exec(Storage storage, String query, Expr e, long start, long end, long step, QueryContext qc) {
        qc.check();
        long[] mm = {Long.MAX_VALUE, Long.MIN_VALUE};
        walkTimes(e, start, end, mm, start, end, step);
        if (mm[1] == Long.MIN_VALUE) { mm[0] = 0; mm[1] = 0; }
        try (Querier q = storage.querier(mm[0], mm[1])) {
            Ctx ctx = new Ctx(q, opts, qc, query, start, end, step);
            Evaluator ev = new Evaluator(ctx, start, end, step == 0 ? 1 : step);
            Object v = ev.eval(e);
            Value out;
            if (v instanceof double[] d) {
                if (step == 0) out = new Value.Scalar(start, d[0]);
                else {
                    Series s = new Series(Labels.EMPTY, false, d.length);
                    for (int i = 0; i < d.length; i++) s.add(ev.ts(i), d[i]);
                    out = new Value.Matrix(List.of(s));
                }
            } else if (v instanceof String s) {
                out = new Value.Str(start, s);
            } else {
                Mat m = (Mat) v;
                if (step == 0 && e.type() == ValueType.VECTOR) {
                    List<Sample> samples = new ArrayList<>(m.size());
                    Map<Labels, Boolean> seen = new HashMap<>();
                    for (Series s : m) {
                        Labels l = s.dropName ? s.labels.dropMetricName() : s.labels;
                        if (seen.put(l, Boolean.TRUE) != null) throw new QueryException("vector cannot contain metrics with the same labelset");
                        samples.add(new Sample(l, start, s.f[0]));
                    }
                    out = new Value.Vector(samples);
                } else {
                    Mat c = new Mat(m.size());
                    for (Series s : m) c.add(s.dropName ? s.copyWith(s.labels.dropMetricName(), false) : s);
                    Mat merged = Functions.mergeSameLabelset(c);
                    List<Series> list = new ArrayList<>(merged);
                    list.sort((a, b) -> a.labels.compareTo(b.labels));
                    out = new Value.Matrix(list);
                }
            }
            return new QueryResult(out, ctx.annos);
        }
    }

    /** Computes the overall [mint, maxt] of samples the query may read. */
    private void walkTimes(Expr e, long s, long en, long[] mm, long qs, long qe, long qstep) {
        long lb = opts.lookbackDeltaMs();
        switch (e) {
            case VectorSelector vs -> {
                Long at = atOf(vs.at(), qs, qe);
                long off = durMs(vs.offset(), qstep, qe - qs);
                long lo = (at != null ? at : s) - off - lb + 1, hi = (at != null ? at : en) - off + (vs.smoothed() ? lb : 0);
                mm[0] = Math.min(mm[0], lo);
                mm[1] = Math.max(mm[1], hi);
            }
            case MatrixSelector ms -> {
                VectorSelector vs = ms.vs();
                Long at = atOf(vs.at(), qs, qe);
                long off = durMs(vs.offset(), qstep, qe - qs);
                long range = durMs(ms.range(), qstep, qe - qs);
                long lo = (at != null ? at : s) - off - range + 1 - (vs.anchored() || vs.smoothed() ? lb : 0);
                long hi = (at != null ? at : en) - off + (vs.smoothed() ? lb : 0);
                mm[0] = Math.min(mm[0], lo);
                mm[1] = Math.max(mm[1], hi);
            }
            case SubqueryExpr sq -> {
                Long at = atOf(sq.at(), qs, qe);
                long off = durMs(sq.offset(), qstep, qe - qs);
                long range = durMs(sq.range(), qstep, qe - qs);
                walkTimes(sq.expr(), (at != null ? at : s) - off - range, (at != null ? at : en) - off, mm, qs, qe, qstep);
            }
            case ParenExpr p -> walkTimes(p.expr(), s, en, mm, qs, qe, qstep);
            case UnaryExpr u -> walkTimes(u.expr(), s, en, mm, qs, qe, qstep);
            case BinaryExpr b -> { walkTimes(b.lhs(), s, en, mm, qs, qe, qstep); walkTimes(b.rhs(), s, en, mm, qs, qe, qstep); }
            case AggregateExpr a -> {
                if (a.param() != null) walkTimes(a.param(), s, en, mm, qs, qe, qstep);
                walkTimes(a.expr(), s, en, mm, qs, qe, qstep);
            }
            case Call c -> { for (Expr x : c.args()) walkTimes(x, s, en, mm, qs, qe, qstep); }
            default -> { }
        }
    }

    private static long durMs(Dur d, long step, long range) { return d == null ? 0 : d.millis(step, range); }

    private static Long atOf(At a, long qs, long qe) {
        if (a == null) return null;
        return switch (a.kind()) { case TIMESTAMP -> a.timestampMs(); case START -> qs; case END -> qe; };
    }
}
