package dev.vigil.query.storage;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.vigil.promql.Labels;
import dev.vigil.promql.ast.AggregateExpr;
import dev.vigil.promql.ast.Call;
import dev.vigil.promql.ast.Expr;
import dev.vigil.promql.ast.MatrixSelector;
import dev.vigil.promql.ast.NumberLiteral;
import dev.vigil.promql.ast.ParenExpr;
import dev.vigil.promql.ast.VectorSelector;
import dev.vigil.promql.engine.ClassicHistograms;
import dev.vigil.promql.parser.Parser;
import dev.vigil.promql.storage.Querier;
import dev.vigil.promql.storage.SelectHints;
import dev.vigil.promql.storage.SeriesData;
import dev.vigil.promql.storage.Storage;

/**
 * A range query of the shape {@code histogram_quantile(φ, sum by (le, G) (rate|increase(sel[r])))}
 * whose selector {@link PushdownRewriter} marked for the cross-series sum, evaluated straight from
 * the bucket series the storage returns, without the engine's per-step vectors.
 *
 * <p>With the sum pushed down the storage returns one series per (G, le): the engine's
 * {@code sum by (le, G)} then adds a single value per group and step (x + 0.0), and its
 * {@code histogram_quantile} interpolates within the buckets of each G per step. This class does
 * the same operations on the same doubles in the same order: the window selection (t - r, t],
 * Prometheus' extrapolated rate (the engine's {@code RangeFunctions.extrapolatedRate}), the sum's
 * {@code + 0.0}, and the engine's {@code bucketQuantile} (sort by upper bound, precision and
 * monotonicity fixes, rank search, interpolation), so the answer is the engine's, double for
 * double (ITClickHouseStorage compares them over many queries). Whenever the engine would do
 * something else or say something more, this gives up ({@code null}) and the engine answers: a
 * sum that would add two series, stale markers or start timestamps, a missing or malformed
 * {@code le}, two buckets with one bound, a quantile outside [0, 1], an annotation (a counter
 * name without a counter suffix, a non-monotonic histogram), or more samples than the limit.
 * The win: the engine spends most of such a query on gathering one sample of every le series
 * per step and grouping them by label set (~1,000 series x 1,081 steps for a 6 h dashboard panel).
 */
public final class HistogramQuantilePath {
    private HistogramQuantilePath() {
    }

    /** What the query asks for; the selector's matchers include the pushdown marker. */
    public record Plan(double q, String func, MatrixSelector selector, List<String> grouping) {
    }

    /** One result series: labels and samples (the first {@code n}). */
    public record Out(Labels labels, long[] t, double[] v, int n) {
    }

    /** The plan of a (pushdown-rewritten) query, or null when it does not have the shape. */
    public static Plan plan(String rewrittenQuery) {
        Expr e;
        try {
            e = Parser.parse(rewrittenQuery);
        } catch (RuntimeException ex) {
            return null;
        }
        if (!(unparen(e) instanceof Call hq) || !hq.func().name().equals("histogram_quantile") || hq.args().size() != 2) {
            return null;
        }
        if (!(unparen(hq.args().get(0)) instanceof NumberLiteral q) || !(q.value() >= 0 && q.value() <= 1)) {
            return null;
        }
        if (!(unparen(hq.args().get(1)) instanceof AggregateExpr a) || !a.op().equals("sum") || a.without() || a.param() != null
                || !a.grouping().contains("le") || a.grouping().contains(Labels.METRIC_NAME)) {
            return null;
        }
        if (!(unparen(a.expr()) instanceof Call c) || !(c.func().name().equals("rate") || c.func().name().equals("increase"))
                || c.args().size() != 1 || !(unparen(c.args().get(0)) instanceof MatrixSelector ms)) {
            return null;
        }
        VectorSelector vs = ms.vs();
        if (vs.offset() != null || vs.at() != null || vs.anchored() || vs.smoothed()
                || vs.matchers().stream().noneMatch(m -> m.name().equals(ClickHouseStorage.GROUP_MATCHER))) {
            return null;
        }
        return new Plan(q.value(), c.func().name(), ms, a.grouping());
    }

    private static Expr unparen(Expr e) {
        while (e instanceof ParenExpr p) {
            e = p.expr();
        }
        return e;
    }

    /**
     * The range query's result series sorted by labels as the engine returns them, or null when
     * the engine must answer (see the class comment). Reads the series exactly as the engine
     * would (same querier bounds, same hints, same matchers).
     */
    public static List<Out> rangeQuery(Storage storage, QueryGuard guard, Plan p, long start, long end, long step, long maxSamples) {
        long range = p.selector().range().millis(step, end - start);
        if (range <= 0 || step <= 0 || end < start) {
            return null;
        }
        int steps = (int) ((end - start) / step) + 1;
        long mint = start - range + 1;
        List<SeriesData> data;
        try (Querier q = storage.querier(mint, end)) {
            guard.check();
            data = q.select(new SelectHints(mint, end, step, p.func(), range, p.grouping(), true), p.selector().vs().matchers());
        }
        List<Out> out = quantiles(p, data, guard, start, step, steps, range, maxSamples);
        if (out == null) {
            guard.addSeries(-data.size()); // the engine selects them again and counts them then
        }
        return out;
    }

    /** The quantile series from the selected bucket series, or null where the engine must answer. */
    private static List<Out> quantiles(Plan p, List<SeriesData> data, QueryGuard guard, long start, long step, int steps, long range,
            long maxSamples) {
        long loaded = 0;
        for (SeriesData sd : data) {
            loaded += sd.size();
        }
        if (maxSamples > 0 && loaded + 3L * data.size() * steps > maxSamples) {
            return null;
        }
        // sum by (grouping): must be one series per group, which then keeps only the grouping labels
        Map<Labels, List<Bucket>> groups = new LinkedHashMap<>();
        Set<Labels> seen = new HashSet<>();
        for (SeriesData sd : data) {
            if (sd.startTimestamps() != null || ClassicHistograms.counterCheck(sd.labels()) != ClassicHistograms.CounterCheck.OK) {
                return null;
            }
            Labels proj = sd.labels().keep(p.grouping());
            if (!seen.add(proj)) {
                return null;
            }
            double ub;
            try {
                ub = ClassicHistograms.parseGoFloat(proj.get("le"));
            } catch (NumberFormatException ex) {
                return null;
            }
            if (Double.isNaN(ub)) {
                return null;
            }
            groups.computeIfAbsent(proj.without(List.of("le")), k -> new ArrayList<>()).add(new Bucket(ub, sd));
        }
        boolean isRate = p.func().equals("rate");
        List<Out> out = new ArrayList<>(groups.size());
        for (Map.Entry<Labels, List<Bucket>> g : groups.entrySet()) {
            guard.check();
            List<Bucket> bs = g.getValue();
            bs.sort((a, b) -> Double.compare(a.ub, b.ub)); // stable, as the engine's sort
            int nb = bs.size();
            double[] ubs = new double[nb];
            for (int i = 0; i < nb; i++) {
                ubs[i] = bs.get(i).ub;
                if (i > 0 && ubs[i] == ubs[i - 1]) {
                    return null; // the engine would add the two buckets' rates: not worth mirroring
                }
            }
            // rate of each bucket series at each step, NaN-free; present[] marks steps with a value
            double[][] rates = new double[nb][];
            boolean[][] present = new boolean[nb][];
            Windows windows = null;
            for (int i = 0; i < nb; i++) {
                SeriesData sd = bs.get(i).sd;
                rates[i] = new double[steps];
                present[i] = new boolean[steps];
                guard.check();
                if (windows == null || windows.t != sd.timestamps() || windows.n != sd.size()) {
                    windows = new Windows(sd.timestamps(), sd.size(), start, step, steps, range, isRate);
                }
                if (!rate(sd, windows, range, isRate, rates[i], present[i])) {
                    return null;
                }
            }
            long[] t = new long[steps];
            double[] v = new double[steps];
            int n = 0;
            double[] ub = new double[nb];
            double[] cnt = new double[nb];
            for (int st = 0; st < steps; st++) {
                int k = 0;
                for (int i = 0; i < nb; i++) {
                    if (present[i][st]) {
                        ub[k] = ubs[i];
                        cnt[k++] = rates[i][st] + 0.0; // the sum of one value
                    }
                }
                if (k == 0) {
                    continue;
                }
                boolean[] forced = new boolean[1];
                double r = ClassicHistograms.bucketQuantile(p.q(), ub, cnt, k, forced);
                if (forced[0]) {
                    return null; // the engine adds an info annotation
                }
                t[n] = start + st * step;
                v[n++] = r;
            }
            if (n > 0) {
                out.add(new Out(g.getKey(), t, v, n));
            }
        }
        out.sort((a, b) -> a.labels().compareTo(b.labels()));
        return out;
    }

    private record Bucket(double ub, SeriesData sd) {
    }

    /**
     * The window of every step over one timestamp array: its first and last sample and the
     * extrapolation that depends only on where they lie (the engine caches the same from step to
     * step). The le series of one group share their timestamps, so this is computed once for all.
     */
    static final class Windows {
        final long[] t;
        final int n;
        final int[] lo;
        final int[] hi;
        final double[] toStart;
        final double[] toEnd;
        final double[] sampled;
        final double[] factor;

        Windows(long[] t, int n, long start, long step, int steps, long range, boolean isRate) {
            this.t = t;
            this.n = n;
            lo = new int[steps];
            hi = new int[steps];
            toStart = new double[steps];
            toEnd = new double[steps];
            sampled = new double[steps];
            factor = new double[steps];
            int l = 0, h = 0;
            for (int i = 0; i < steps; i++) {
                long ts = start + i * step;
                long mint = ts - range, maxt = ts;
                while (h < n && t[h] <= maxt) {
                    h++;
                }
                while (l < h && t[l] <= mint) {
                    l++;
                }
                lo[i] = l;
                hi[i] = h;
                if (h - l < 2) {
                    continue;
                }
                int numMinusOne = h - l - 1;
                long firstT = t[l], lastT = t[h - 1];
                double durationToStart = (firstT - (ts - range)) / 1000.0;
                double durationToEnd = (ts - lastT) / 1000.0;
                double sampledInterval = (lastT - firstT) / 1000.0;
                double avg = sampledInterval / numMinusOne;
                double threshold = avg * 1.1;
                if (durationToStart >= threshold) {
                    durationToStart = avg / 2;
                }
                if (durationToEnd >= threshold) {
                    durationToEnd = avg / 2;
                }
                double f = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
                if (isRate) {
                    f /= range / 1000.0;
                }
                toStart[i] = durationToStart;
                toEnd[i] = durationToEnd;
                sampled[i] = sampledInterval;
                factor[i] = f;
            }
        }
    }

    /**
     * rate (or increase) of one counter series at every step, as the engine's range-function loop
     * and {@code RangeFunctions.extrapolatedRate} compute it (no start timestamps, not anchored or
     * smoothed); false when a value is NaN (stale markers: the engine drops them first).
     */
    static boolean rate(SeriesData sd, Windows w, long range, boolean isRate, double[] out, boolean[] present) {
        double[] f = sd.values();
        int sn = sd.size();
        boolean noResets = true;
        for (int k = 0; k < sn; k++) {
            if (Double.isNaN(f[k])) {
                return false;
            }
            if (k > 0 && f[k] < f[k - 1]) {
                noResets = false;
            }
        }
        int steps = w.lo.length;
        for (int i = 0; i < steps; i++) {
            int lo = w.lo[i], hi = w.hi[i];
            if (hi - lo < 2) {
                continue;
            }
            double result = f[hi - 1] - f[lo];
            if (!noResets) {
                for (int k = lo + 1; k < hi; k++) {
                    if (f[k] < f[k - 1]) {
                        result += f[k - 1];
                    }
                }
            }
            double factor = w.factor[i];
            if (result > 0 && f[lo] >= 0) {
                double sampledInterval = w.sampled[i];
                double durationToZero = sampledInterval * (f[lo] / result);
                if (durationToZero < w.toStart[i]) {
                    factor = (sampledInterval + durationToZero + w.toEnd[i]) / sampledInterval;
                    if (isRate) {
                        factor /= range / 1000.0;
                    }
                }
            }
            out[i] = result * factor;
            present[i] = true;
        }
        return true;
    }
}
