package dev.vigil.promql.engine;

import dev.vigil.promql.Labels;
import dev.vigil.promql.Matcher;
import dev.vigil.promql.RegexTranslator;
import dev.vigil.promql.Strings;
import dev.vigil.promql.ast.*;
import dev.vigil.promql.storage.SeriesData;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.DoubleUnaryOperator;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Function call evaluation. */
final class Functions {
    private final Evaluator ev;
    private final Ctx ctx;

    Functions(Evaluator ev) {
        this.ev = ev;
        this.ctx = ev.ctx;
    }

    static final Set<String> ANCHORED_SAFE = Set.of("changes", "delta", "increase", "rate", "resets");
    static final Set<String> SMOOTHED_SAFE = Set.of("delta", "increase", "rate");

    private static final Map<String, DoubleUnaryOperator> SIMPLE = new HashMap<>();

    static {
        SIMPLE.put("abs", Math::abs);
        SIMPLE.put("ceil", Math::ceil);
        SIMPLE.put("floor", Math::floor);
        SIMPLE.put("exp", Math::exp);
        SIMPLE.put("sqrt", Math::sqrt);
        SIMPLE.put("ln", Math::log);
        SIMPLE.put("log2", v -> Math.log(v) / Math.log(2));
        SIMPLE.put("log10", Math::log10);
        SIMPLE.put("sin", Math::sin);
        SIMPLE.put("cos", Math::cos);
        SIMPLE.put("tan", Math::tan);
        SIMPLE.put("asin", Math::asin);
        SIMPLE.put("acos", Math::acos);
        SIMPLE.put("atan", Math::atan);
        SIMPLE.put("sinh", Math::sinh);
        SIMPLE.put("cosh", Math::cosh);
        SIMPLE.put("tanh", Math::tanh);
        SIMPLE.put("asinh", Functions::asinh);
        SIMPLE.put("acosh", Functions::acosh);
        SIMPLE.put("atanh", Functions::atanh);
        SIMPLE.put("rad", v -> v * Math.PI / 180);
        SIMPLE.put("deg", v -> v * 180 / Math.PI);
        SIMPLE.put("sgn", v -> v < 0 ? -1 : v > 0 ? 1 : v);
    }

    static double asinh(double x) {
        if (Double.isInfinite(x) || Double.isNaN(x) || x == 0) return x;
        double a = Math.abs(x);
        double r = Math.log(a + Math.sqrt(a * a + 1));
        return x < 0 ? -r : r;
    }

    static double acosh(double x) {
        if (x < 1 || Double.isNaN(x)) return Double.NaN;
        if (x == 1) return 0;
        return Math.log(x + Math.sqrt(x * x - 1));
    }

    static double atanh(double x) {
        if (x < -1 || x > 1 || Double.isNaN(x)) return Double.NaN;
        if (x == 1) return Double.POSITIVE_INFINITY;
        if (x == -1) return Double.NEGATIVE_INFINITY;
        return 0.5 * Math.log((1 + x) / (1 - x));
    }

    Object evalCall(Call c) {
        String name = c.func().name();
        List<Expr> args = c.args();
        // range-vector functions
        for (int i = 0; i < args.size(); i++) {
            Expr a = Evaluator.unwrap(args.get(i));
            if (a instanceof MatrixSelector || a instanceof SubqueryExpr) return evalRangeCall(c, i, a);
        }
        switch (name) {
            case "time": {
                double[] d = new double[ev.steps];
                for (int i = 0; i < ev.steps; i++) d[i] = ev.ts(i) / 1000.0;
                return d;
            }
            case "pi": return ev.fill(Math.PI);
            case "start": return ev.fill(ctx.queryStart / 1000.0);
            case "end": return ev.fill(ctx.queryEnd / 1000.0);
            case "step": return ev.fill(ctx.queryStep / 1000.0);
            case "range": return ev.fill((ctx.queryEnd - ctx.queryStart) / 1000.0);
            case "min_of", "max_of": {
                double[] a = (double[]) ev.eval(args.get(0)), b = (double[]) ev.eval(args.get(1));
                double[] o = new double[ev.steps];
                for (int i = 0; i < o.length; i++) o[i] = name.equals("min_of") ? Math.min(a[i], b[i]) : Math.max(a[i], b[i]);
                return o;
            }
            case "label_replace": return labelReplace(c);
            case "label_join": return labelJoin(c);
            case "info": return new InfoFunction(ev).eval(c);
            default: break;
        }
        if (name.equals("start_timestamp")) {
            // Start timestamps are only known for samples selected directly from storage.
            Expr a = Evaluator.unwrap(args.get(0));
            if (a instanceof VectorSelector vs) {
                Mat m = ev.evalVectorSelector(vs, 2);
                Mat out = new Mat(m.size());
                for (Series s : m) out.add(s.copyWith(s.labels, true));
                return out;
            }
            ev.eval(args.get(0));
            return new Mat();
        }
        if (name.equals("timestamp")) {
            Expr a = Evaluator.unwrap(args.get(0));
            if (a instanceof VectorSelector vs) {
                Mat m = ev.evalVectorSelector(vs, true);
                Mat out = new Mat(m.size());
                for (Series s : m) out.add(s.copyWith(s.labels, true));
                return out;
            }
            Mat m = (Mat) ev.eval(args.get(0));
            Mat out = new Mat(m.size());
            for (Series s : m) {
                double[] f = new double[s.n];
                for (int i = 0; i < s.n; i++) f[i] = s.t[i] / 1000.0;
                out.add(new Series(s.labels, true, s.t, f, s.n));
            }
            return out;
        }
        DoubleUnaryOperator simple = SIMPLE.get(name);
        if (simple != null) {
            Mat m = (Mat) ev.eval(args.get(0));
            return mapSeries(m, (v, st) -> simple.applyAsDouble(v));
        }
        switch (name) {
            case "round": {
                Mat m = (Mat) ev.eval(args.get(0));
                double[] to = args.size() > 1 ? (double[]) ev.eval(args.get(1)) : ev.fill(1);
                return mapSeries(m, (v, st) -> {
                    double inv = 1.0 / to[st];
                    return Math.floor(v * inv + 0.5) / inv;
                });
            }
            case "clamp", "clamp_min", "clamp_max": {
                Mat m = (Mat) ev.eval(args.get(0));
                double[] lo, hi;
                if (name.equals("clamp")) { lo = (double[]) ev.eval(args.get(1)); hi = (double[]) ev.eval(args.get(2)); }
                else if (name.equals("clamp_min")) { lo = (double[]) ev.eval(args.get(1)); hi = ev.fill(Double.POSITIVE_INFINITY); }
                else { lo = ev.fill(Double.NEGATIVE_INFINITY); hi = (double[]) ev.eval(args.get(1)); }
                Mat out = new Mat(m.size());
                for (Series s : m) {
                    Series o = new Series(s.labels, true, s.n);
                    for (int i = 0; i < s.n; i++) {
                        int st = step(s.t[i]);
                        if (hi[st] < lo[st]) continue;
                        o.add(s.t[i], Math.max(lo[st], Math.min(hi[st], s.f[i])));
                    }
                    if (o.n > 0) out.add(o);
                }
                return out;
            }
            case "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year": {
                if (args.isEmpty()) {
                    Series s = new Series(Labels.EMPTY, false, ev.steps);
                    for (int i = 0; i < ev.steps; i++) s.add(ev.ts(i), dateFn(name, Math.floorDiv(ev.ts(i), 1000)));
                    Mat out = new Mat();
                    out.add(s);
                    return out;
                }
                Mat m = (Mat) ev.eval(args.get(0));
                return mapSeries(m, (v, st) -> dateFn(name, (long) v));
            }
            case "vector": {
                double[] d = (double[]) ev.eval(args.get(0));
                Series s = new Series(Labels.EMPTY, false, ev.steps);
                for (int i = 0; i < ev.steps; i++) s.add(ev.ts(i), d[i]);
                Mat out = new Mat();
                out.add(s);
                return out;
            }
            case "scalar": {
                Mat m = (Mat) ev.eval(args.get(0));
                double[] d = new double[ev.steps];
                java.util.Arrays.fill(d, Double.NaN);
                int[] cnt = new int[ev.steps];
                for (Series s : m) {
                    for (int i = 0; i < s.n; i++) {
                        int st = step(s.t[i]);
                        cnt[st]++;
                        d[st] = cnt[st] == 1 ? s.f[i] : Double.NaN;
                    }
                }
                return d;
            }
            case "absent": {
                Mat m = (Mat) ev.eval(args.get(0));
                Labels l = absentLabels(args.get(0));
                boolean[] present = new boolean[ev.steps];
                for (Series s : m) for (int i = 0; i < s.n; i++) present[step(s.t[i])] = true;
                Series s = new Series(l, false, ev.steps);
                for (int i = 0; i < ev.steps; i++) if (!present[i]) s.add(ev.ts(i), 1);
                Mat out = new Mat();
                if (s.n > 0) out.add(s);
                return out;
            }
            case "histogram_count", "histogram_sum", "histogram_avg", "histogram_stddev", "histogram_stdvar": {
                ev.eval(args.get(0));
                return new Mat(); // native histograms are not supported; float samples are ignored
            }
            case "sort", "sort_desc", "sort_by_label", "sort_by_label_desc":
                return sortFn(c);
            case "histogram_quantile", "histogram_fraction", "histogram_quantiles":
                return new HistogramFunctions(ev).eval(c);
            default:
                throw new QueryException("function \"" + name + "\" is not supported");
        }
    }

    int step(long t) { return (int) ((t - ev.start) / ev.interval); }

    interface StepOp { double apply(double v, int step); }

    Mat mapSeries(Mat m, StepOp op) {
        Mat out = new Mat(m.size());
        for (Series s : m) {
            double[] f = new double[s.n];
            for (int i = 0; i < s.n; i++) f[i] = op.apply(s.f[i], step(s.t[i]));
            out.add(new Series(s.labels, true, s.t, f, s.n));
        }
        return out;
    }

    static double dateFn(String name, long epochSec) {
        ZonedDateTime t = Instant.ofEpochSecond(epochSec).atZone(ZoneOffset.UTC);
        return switch (name) {
            case "days_in_month" -> t.toLocalDate().lengthOfMonth();
            case "day_of_month" -> t.getDayOfMonth();
            case "day_of_week" -> t.getDayOfWeek().getValue() % 7;
            case "day_of_year" -> t.getDayOfYear();
            case "hour" -> t.getHour();
            case "minute" -> t.getMinute();
            case "month" -> t.getMonthValue();
            case "year" -> t.getYear();
            default -> throw new IllegalStateException(name);
        };
    }

    static Labels absentLabels(Expr e) {
        e = Evaluator.unwrap(e);
        List<Matcher> lm;
        if (e instanceof VectorSelector vs) lm = vs.matchers();
        else if (e instanceof MatrixSelector ms) lm = ms.vs().matchers();
        else return Labels.EMPTY;
        Labels.Builder b = new Labels.Builder();
        Set<String> has = new HashSet<>();
        for (Matcher m : lm) {
            if (m.name().equals(Labels.METRIC_NAME)) continue;
            if (m.type() == Matcher.Type.EQ && !has.contains(m.name())) {
                b.set(m.name(), m.value());
                has.add(m.name());
            } else b.del(m.name());
        }
        return b.build();
    }

    // ------------------------------------------------------------------ range-vector functions

    private Object evalRangeCall(Call c, int idx, Expr arg) {
        String name = c.func().name();
        List<Expr> args = c.args();
        double[][] params = new double[args.size()][];
        for (int i = 0; i < args.size(); i++) if (i != idx) params[i] = (double[]) ev.eval(args.get(i));
        double[] p0 = null, p1 = null;
        {
            List<double[]> ps = new ArrayList<>();
            for (int i = 0; i < args.size(); i++) if (i != idx) ps.add(params[i]);
            if (!ps.isEmpty()) p0 = ps.get(0);
            if (ps.size() > 1) p1 = ps.get(1);
        }
        List<Series> raw;
        long offset, range;
        Long at;
        boolean anchored = false, smoothed = false;
        long lb = ctx.opts.lookbackDeltaMs();
        if (arg instanceof MatrixSelector ms) {
            VectorSelector vs = ms.vs();
            anchored = vs.anchored();
            smoothed = vs.smoothed();
            if (anchored && !ANCHORED_SAFE.contains(name))
                throw new QueryException("anchored modifier can only be used with: " + String.join(", ", new java.util.TreeSet<>(ANCHORED_SAFE)) + " - not with " + name);
            if (smoothed && !SMOOTHED_SAFE.contains(name))
                throw new QueryException("smoothed modifier can only be used with: " + String.join(", ", new java.util.TreeSet<>(SMOOTHED_SAFE)) + " - not with " + name);
            offset = ctx.ms(vs.offset());
            at = ctx.at(vs.at());
            range = ctx.ms(ms.range());
            long minRef = (at != null ? at : ev.start) - offset;
            long maxRef = (at != null ? at : ev.end) - offset;
            long mint = minRef - range + 1, maxt = maxRef;
            if (anchored || smoothed) mint -= lb;
            if (smoothed) maxt += lb;
            List<SeriesData> data = ev.select(vs, mint, maxt, name, range);
            raw = new ArrayList<>(data.size());
            for (SeriesData sd : data) raw.add(Evaluator.nonStale(sd));
        } else {
            SubqueryExpr sq = (SubqueryExpr) arg;
            offset = ctx.ms(sq.offset());
            at = ctx.at(sq.at());
            range = ctx.ms(sq.range());
            raw = ev.evalSubquery(sq);
        }
        boolean dropName = !(name.equals("last_over_time") || name.equals("first_over_time"));
        Mat out = new Mat(raw.size());
        RangeFunctions.W w = new RangeFunctions.W();
        w.anchored = anchored;
        w.smoothed = smoothed;
        w.rangeMs = range;
        double[] res = new double[1];
        long total = 0;
        boolean isRateLike = name.equals("rate") || name.equals("increase");
        boolean counterFn = isRateLike || name.equals("irate") || name.equals("resets");
        int fc = RangeFunctions.code(name);
        // Per-call output buffers (one point per step at most); each series' result is copied out exactly.
        long[] bt = new long[ev.steps];
        double[] bf = new double[ev.steps];
        boolean fixedRef = at != null;
        for (Series s : raw) {
            ctx.qc.check();
            int on = 0;
            int lo = 0, hi = 0;
            w.t = s.t;
            w.f = s.f;
            w.st = s.st;
            w.noResets = false;
            if (counterFn && s.st == null) {
                boolean any = false;
                for (int k = 1; k < s.n; k++) if (s.f[k] < s.f[k - 1]) { any = true; break; }
                w.noResets = !any;
            }
            // Prefix counts of samples whose start time overlaps the previous sample (rate/increase warn).
            int[] overlaps = null;
            if (isRateLike && s.st != null && !anchored && !smoothed) {
                for (int k = 1; k < s.n; k++) {
                    if (RangeFunctions.startOverlap(s.st, s.t, k)) {
                        overlaps = new int[s.n];
                        for (int j = 1; j < s.n; j++) overlaps[j] = overlaps[j - 1] + (RangeFunctions.startOverlap(s.st, s.t, j) ? 1 : 0);
                        break;
                    }
                }
            }
            boolean overlapWarned = false;
            long extraLo = (anchored || smoothed) ? lb : 0, extraHi = smoothed ? lb : 0;
            long[] t = s.t;
            int sn = s.n;
            for (int i = 0; i < ev.steps; i++) {
                long ts = ev.ts(i);
                long ref = (fixedRef ? at : ts) - offset;
                long mint = ref - range - extraLo, maxt = ref + extraHi;
                while (hi < sn && t[hi] <= maxt) hi++;
                while (lo < hi && t[lo] <= mint) lo++;
                if (hi <= lo) continue;
                ctx.checkTransient(total + on + (hi - lo));
                w.lo = lo;
                w.hi = hi;
                // predict_linear extrapolates to the evaluation time (per step, also with @/offset)
                w.stepTs = ts;
                w.rangeStart = ref - range;
                w.rangeEnd = ref;
                if (p0 != null) w.p0 = p0[i];
                if (p1 != null) w.p1 = p1[i];
                if (overlaps != null && !overlapWarned && overlaps[hi - 1] - overlaps[lo] > 0) {
                    overlapWarned = true;
                    ctx.annos.warn("sample has start time that overlaps with previous sample timestamp for metric "
                            + Strings.quote(s.labels.metricName()) + ctx.pos(args.get(0)));
                }
                if (fc >= 0 ? RangeFunctions.apply(fc, w, res) : RangeFunctions.apply(name, w, res)) {
                    bt[on] = ts;
                    bf[on] = res[0];
                    on++;
                }
            }
            Series o = on == 0 ? null
                    : new Series(s.labels, dropName || s.dropName, Arrays.copyOf(bt, on), Arrays.copyOf(bf, on), on);
            if (o != null) {
                total += o.n;
                out.add(o);
                if (isRateLike) {
                    String mn = s.labels.metricName();
                    switch (ClassicHistograms.counterCheck(s.labels)) {
                        case TYPE_NOT_COUNTER -> ctx.annos.info("metric might not be a counter, __type__ label is not set to \"counter\" or \"histogram\", got \""
                                + s.labels.get("__type__") + "\": " + Strings.quote(mn) + ctx.pos(args.get(0)));
                        case NAME_NOT_COUNTER -> ctx.annos.info("metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "
                                + Strings.quote(mn) + ctx.pos(args.get(0)));
                        case OK -> { }
                    }
                }
                if (name.equals("quantile_over_time")) {
                    for (int i = 0; i < o.n; i++) {
                        double q = p0[step(o.t[i])];
                        if (Double.isNaN(q) || q < 0 || q > 1) {
                            ctx.annos.warn("quantile value should be between 0 and 1, got " + Evaluator.fmtG(q) + ctx.pos(args.get(0)));
                            break;
                        }
                    }
                }
            }
        }
        ctx.addSamples(total);
        if (name.equals("absent_over_time")) {
            boolean[] found = new boolean[ev.steps];
            for (Series s : out) for (int i = 0; i < s.n; i++) found[step(s.t[i])] = true;
            Series s = new Series(absentLabels(arg), true, ev.steps);
            for (int i = 0; i < ev.steps; i++) if (!found[i]) s.add(ev.ts(i), 1);
            Mat m = new Mat();
            if (s.n > 0) m.add(s);
            return m;
        }
        return out;
    }

    // ------------------------------------------------------------------ label functions

    private static String str(Expr e) { return ((StringLiteral) Evaluator.unwrap(e)).value(); }

    private Object labelReplace(Call c) {
        String dst = str(c.args().get(1)), repl = str(c.args().get(2)), src = str(c.args().get(3)), re = str(c.args().get(4));
        Pattern p;
        try {
            p = Pattern.compile("^(?:" + RegexTranslator.translateForReplace(re) + ")$", Pattern.DOTALL);
        } catch (IllegalArgumentException e) {
            throw new QueryException("invalid regular expression in label_replace(): " + re);
        }
        if (!Labels.isValidLabelName(dst)) throw new QueryException("invalid destination label name in label_replace(): " + dst);
        Mat m = (Mat) ev.eval(c.args().get(0));
        Mat out = new Mat(m.size());
        for (Series s : m) {
            String sv = s.labels.get(src);
            java.util.regex.Matcher mt = p.matcher(sv);
            if (mt.matches()) {
                String res = GoExpand.expand(repl, mt);
                Labels nl = s.labels.toBuilder().set(dst, res).build();
                out.add(s.copyWith(nl, dst.equals(Labels.METRIC_NAME) ? false : s.dropName));
            } else out.add(s);
        }
        return mergeSameLabelset(out);
    }

    private Object labelJoin(Call c) {
        String dst = str(c.args().get(1)), sep = str(c.args().get(2));
        List<String> srcs = new ArrayList<>();
        for (int i = 3; i < c.args().size(); i++) {
            String s = str(c.args().get(i));
            if (!Labels.isValidLabelName(s)) throw new QueryException("invalid source label name in label_join(): " + s);
            srcs.add(s);
        }
        if (!Labels.isValidLabelName(dst)) throw new QueryException("invalid destination label name in label_join(): " + dst);
        Mat m = (Mat) ev.eval(c.args().get(0));
        Mat out = new Mat(m.size());
        for (Series s : m) {
            List<String> vals = new ArrayList<>();
            for (String src : srcs) vals.add(s.labels.get(src));
            Labels nl = s.labels.toBuilder().set(dst, String.join(sep, vals)).build();
            out.add(s.copyWith(nl, dst.equals(Labels.METRIC_NAME) ? false : s.dropName));
        }
        return mergeSameLabelset(out);
    }

    /** Merges series with identical labels if their timestamps do not overlap; errors otherwise. */
    static Mat mergeSameLabelset(Mat m) {
        if (m.size() <= 1) return m;
        LinkedHashMap<Labels, List<Series>> by = new LinkedHashMap<>();
        boolean dup = false;
        for (Series s : m) {
            List<Series> l = by.computeIfAbsent(s.labels, k -> new ArrayList<>());
            if (!l.isEmpty()) dup = true;
            l.add(s);
        }
        if (!dup) return m;
        Mat out = new Mat();
        for (List<Series> l : by.values()) {
            if (l.size() == 1) { out.add(l.get(0)); continue; }
            List<long[]> pts = new ArrayList<>();
            Series base = l.get(0);
            Series merged = new Series(base.labels, base.dropName, 16);
            java.util.TreeMap<Long, Double> tm = new java.util.TreeMap<>();
            for (Series s : l) {
                for (int i = 0; i < s.n; i++) {
                    if (tm.put(s.t[i], s.f[i]) != null) throw new QueryException("vector cannot contain metrics with the same labelset");
                }
            }
            tm.forEach(merged::add);
            out.add(merged);
        }
        return out;
    }

    // ------------------------------------------------------------------ sort

    private Object sortFn(Call c) {
        String name = c.func().name();
        if (ev.steps > 1 && ev.ctx.queryStart != ev.ctx.queryEnd)
            ctx.annos.warn("sort is ineffective for range queries since results are always ordered by labels" + ctx.pos(c));
        Mat m = (Mat) ev.eval(c.args().get(0));
        List<String> lbls = new ArrayList<>();
        for (int i = 1; i < c.args().size(); i++) lbls.add(str(c.args().get(i)));
        Comparator<Smp> cmp = switch (name) {
            case "sort" -> (a, b) -> {
                // ascending, NaN last
                double x = a.f(), y = b.f();
                if (Double.isNaN(x)) return Double.isNaN(y) ? 0 : 1;
                if (Double.isNaN(y)) return -1;
                return Double.compare(x, y);
            };
            case "sort_desc" -> (a, b) -> {
                double x = a.f(), y = b.f();
                if (Double.isNaN(x)) return Double.isNaN(y) ? 0 : 1;
                if (Double.isNaN(y)) return -1;
                return Double.compare(y, x);
            };
            case "sort_by_label" -> (a, b) -> {
                for (String l : lbls) {
                    String v1 = a.metric().get(l), v2 = b.metric().get(l);
                    if (v1.equals(v2)) continue;
                    return NatSort.less(v1, v2) ? -1 : 1;
                }
                return a.metric().compareTo(b.metric());
            };
            default -> (a, b) -> {
                for (String l : lbls) {
                    String v1 = a.metric().get(l), v2 = b.metric().get(l);
                    if (v1.equals(v2)) continue;
                    return NatSort.less(v1, v2) ? 1 : -1;
                }
                return -a.metric().compareTo(b.metric());
            };
        };
        return ev.rangeEval(new Object[]{m}, (v, ts, st) -> {
            List<Smp> l = new ArrayList<>(v.get(0));
            l.sort(cmp);
            return l;
        });
    }
}
