package dev.vigil.promql.engine;

import dev.vigil.promql.Labels;
import dev.vigil.promql.Strings;
import dev.vigil.promql.ast.Call;
import dev.vigil.promql.ast.Expr;
import dev.vigil.promql.ast.StringLiteral;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** histogram_quantile / histogram_fraction / histogram_quantiles over classic (le-bucket) histograms. */
final class HistogramFunctions {
    private final Evaluator ev;
    private final Ctx ctx;

    HistogramFunctions(Evaluator ev) { this.ev = ev; this.ctx = ev.ctx; }

    private static final class MB {
        final Labels metric;
        double[] ub = new double[8], cnt = new double[8];
        int n;
        MB(Labels m) { metric = m; }
        void add(double u, double c) {
            if (n == ub.length) { ub = Arrays.copyOf(ub, n * 2); cnt = Arrays.copyOf(cnt, n * 2); }
            ub[n] = u; cnt[n] = c; n++;
        }
    }

    /** A bucket series' upper bound and group labels; {@code sig} null when its le is missing or malformed. */
    private record Bucket(double ub, Labels sig, Labels metric) {
        static Bucket of(Labels m) {
            try {
                double ub = ClassicHistograms.parseGoFloat(m.get("le"));
                return new Bucket(ub, m.without(List.of("le")), m.without(List.of(Labels.METRIC_NAME, "le")));
            } catch (NumberFormatException e) {
                return new Bucket(Double.NaN, null, null);
            }
        }
    }

    Object eval(Call c) {
        String name = c.func().name();
        List<Expr> args = c.args();
        Object[] vals = new Object[args.size()];
        for (int i = 0; i < args.size(); i++) vals[i] = args.get(i) instanceof StringLiteral ? null : ev.eval(args.get(i));
        int vecIdx = name.equals("histogram_quantile") ? 1 : name.equals("histogram_fraction") ? 2 : 0;
        Expr vecArg = args.get(vecIdx);
        String qLabel = name.equals("histogram_quantiles") ? ((StringLiteral) Evaluator.unwrap(args.get(1))).value() : null;
        // a series keeps its labels object from step to step: parse its le and build its group
        // labels once per series, not once per step
        Map<Labels, Bucket> buckets = new IdentityHashMap<>();
        return ev.rangeEval(vals, (v, ts, st) -> {
            List<Smp> out = new ArrayList<>();
            LinkedHashMap<Labels, MB> groups = new LinkedHashMap<>();
            for (Smp s : v.get(vecIdx)) {
                Bucket b = buckets.computeIfAbsent(s.metric(), Bucket::of);
                if (b.sig == null) {
                    ctx.annos.warn("bucket label \"le\" is missing or has a malformed value of " + Strings.quote(s.metric().get("le"))
                            + " for metric name " + Strings.quote(s.metric().metricName()) + ctx.pos(vecArg));
                    continue;
                }
                MB mb = groups.get(b.sig);
                if (mb == null) {
                    mb = new MB(b.metric);
                    groups.put(b.sig, mb);
                }
                mb.add(b.ub, s.f());
            }
            switch (name) {
                case "histogram_quantile" -> {
                    double q = v.get(0).get(0).f();
                    if (Double.isNaN(q) || q < 0 || q > 1)
                        ctx.annos.warn("quantile value should be between 0 and 1, got " + Evaluator.fmtG(q) + ctx.pos(args.get(0)));
                    for (MB mb : groups.values()) {
                        boolean[] forced = new boolean[1];
                        double r = bucketQuantile(q, mb, forced);
                        if (forced[0]) ctx.annos.info("input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name "
                                + Strings.quote(mb.metric.metricName()) + ctx.pos(vecArg));
                        out.add(new Smp(mb.metric, r, ts, true, -1));
                    }
                }
                case "histogram_quantiles" -> {
                    for (int i = 2; i < v.size(); i++) {
                        double q = v.get(i).get(0).f();
                        if (Double.isNaN(q) || q < 0 || q > 1)
                            ctx.annos.warn("quantile value should be between 0 and 1, got " + Evaluator.fmtG(q) + ctx.pos(args.get(i)));
                    }
                    for (int i = 2; i < v.size(); i++) {
                        double q = v.get(i).get(0).f();
                        for (MB mb : groups.values()) {
                            MB copy = copy(mb);
                            boolean[] forced = new boolean[1];
                            double r = bucketQuantile(q, copy, forced);
                            if (forced[0]) ctx.annos.info("input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name "
                                    + Strings.quote(mb.metric.metricName()) + ctx.pos(vecArg));
                            Labels l = mb.metric.toBuilder().set(qLabel, formatOpenMetricsFloat(q)).build();
                            out.add(new Smp(l, r, ts, true, -1));
                        }
                    }
                }
                default -> {
                    double lower = v.get(0).get(0).f(), upper = v.get(1).get(0).f();
                    for (MB mb : groups.values()) out.add(new Smp(mb.metric, bucketFraction(lower, upper, mb), ts, true, -1));
                }
            }
            return out;
        });
    }

    private static MB copy(MB mb) {
        MB c = new MB(mb.metric);
        for (int i = 0; i < mb.n; i++) c.add(mb.ub[i], mb.cnt[i]);
        return c;
    }

    static String formatOpenMetricsFloat(double f) {
        if (Double.isNaN(f)) return "NaN";
        if (Double.isInfinite(f)) return f > 0 ? "+Inf" : "-Inf";
        String s = Evaluator.formatFloat(f);
        if (!s.contains(".") && !s.contains("e") && !s.contains("Inf") && !s.contains("NaN")) s = s + ".0";
        return s;
    }

    private static void sortAndCoalesce(MB mb) {
        Integer[] idx = new Integer[mb.n];
        for (int i = 0; i < mb.n; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> Double.compare(mb.ub[a], mb.ub[b]));
        double[] ub = new double[mb.n], cnt = new double[mb.n];
        for (int i = 0; i < mb.n; i++) { ub[i] = mb.ub[idx[i]]; cnt[i] = mb.cnt[idx[i]]; }
        int k = 0;
        for (int i = 0; i < mb.n; i++) {
            if (k > 0 && ub[i] == ub[k - 1]) cnt[k - 1] += cnt[i];
            else { ub[k] = ub[i]; cnt[k] = cnt[i]; k++; }
        }
        mb.ub = ub;
        mb.cnt = cnt;
        mb.n = k;
    }

    static double bucketQuantile(double q, MB mb, boolean[] forced) {
        if (Double.isNaN(q)) return Double.NaN;
        if (q < 0) return Double.NEGATIVE_INFINITY;
        if (q > 1) return Double.POSITIVE_INFINITY;
        sortAndCoalesce(mb);
        return ClassicHistograms.bucketQuantile(q, mb.ub, mb.cnt, mb.n, forced);
    }

    static double bucketFraction(double lower, double upper, MB mb) {
        sortAndCoalesce(mb);
        int n = mb.n;
        if (n == 0 || !(Double.isInfinite(mb.ub[n - 1]) && mb.ub[n - 1] > 0)) return Double.NaN;
        double count = mb.cnt[n - 1];
        if (count == 0 || Double.isNaN(lower) || Double.isNaN(upper)) return Double.NaN;
        if (lower >= upper) return 0;
        double rank = 0, lowerRank = 0, upperRank = 0;
        boolean lowerSet = false, upperSet = false;
        for (int i = 0; i < n; i++) {
            double lb = i > 0 ? mb.ub[i - 1] : Double.NEGATIVE_INFINITY;
            double ubd = mb.ub[i];
            double bc = mb.cnt[i];
            double ilb = lb;
            if (i == 0 && ubd > 0) ilb = 0;
            boolean infWidth = i == 0 && ubd <= 0;
            if (!lowerSet && lb >= lower) { lowerRank = rank; lowerSet = true; }
            if (!upperSet && lb >= upper) { upperRank = rank; upperSet = true; }
            if (lowerSet && upperSet) break;
            if (!lowerSet && lb < lower && ubd > lower) {
                lowerRank = infWidth ? bc : lower <= ilb ? rank : rank + (bc - rank) * (lower - ilb) / (ubd - ilb);
                lowerSet = true;
            }
            if (!upperSet && lb < upper && ubd > upper) {
                upperRank = infWidth ? rank : upper <= ilb ? rank : rank + (bc - rank) * (upper - ilb) / (ubd - ilb);
                upperSet = true;
            }
            if (lowerSet && upperSet) break;
            rank = bc;
        }
        if (!lowerSet || lowerRank > count) lowerRank = count;
        if (!upperSet || upperRank > count) upperRank = count;
        return (upperRank - lowerRank) / count;
    }

    static Map<String, String> none() { return Map.of(); }
}
