package dev.vigil.promql.engine;

import dev.vigil.promql.Labels;
import dev.vigil.promql.ast.*;
import dev.vigil.promql.storage.SelectHints;
import dev.vigil.promql.storage.SeriesData;
import dev.vigil.promql.storage.StaleNaN;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Evaluates an expression over the steps start..end (inclusive) with the given interval. Instant
 * vectors are represented as {@link Mat} (series with one point per step where present), scalars
 * as double[] (one value per step) and strings as String.
 */
final class Evaluator {
    final Ctx ctx;
    final long start, end, interval;
    final int steps;

    Evaluator(Ctx ctx, long start, long end, long interval) {
        this.ctx = ctx;
        this.start = start;
        this.end = end;
        this.interval = interval <= 0 ? 1 : interval;
        this.steps = (int) ((end - start) / this.interval) + 1;
    }

    long ts(int i) { return start + i * interval; }

    static QueryException err(String msg) { return new QueryException(msg); }

    double[] fill(double v) {
        double[] d = new double[steps];
        Arrays.fill(d, v);
        return d;
    }

    Object eval(Expr e) {
        ctx.qc.check();
        long before = ctx.samples;
        ctx.path.add(e);
        Object r;
        try {
            r = evalNode(e);
        } finally {
            ctx.path.removeLast();
        }
        // The node's inputs are released; only its result stays in memory.
        ctx.setSamples(before + sampleCount(r));
        return r;
    }

    long sampleCount(Object v) {
        if (v instanceof Mat m) {
            long n = 0;
            for (Series s : m) n += s.n;
            return n;
        }
        if (v instanceof double[] d) return d.length;
        return 0;
    }

    private Object evalNode(Expr e) {
        return switch (e) {
            case NumberLiteral n -> fill(n.value());
            case StringLiteral s -> s.value();
            case ParenExpr p -> eval(p.expr());
            case UnaryExpr u -> evalUnary(u);
            case VectorSelector vs -> evalVectorSelector(vs, false);
            case MatrixSelector ms -> evalMatrixSelectorRaw(ms);
            case SubqueryExpr sq -> evalSubqueryRaw(sq);
            case Call c -> new Functions(this).evalCall(c);
            case AggregateExpr a -> evalAggregate(a);
            case BinaryExpr b -> evalBinary(b);
        };
    }

    static Expr unwrap(Expr e) {
        while (e instanceof ParenExpr p) e = p.expr();
        return e;
    }

    // ------------------------------------------------------------------ unary

    private Object evalUnary(UnaryExpr u) {
        Object v = eval(u.expr());
        if (!u.negate()) return v;
        if (v instanceof double[] d) {
            double[] o = new double[d.length];
            for (int i = 0; i < d.length; i++) o[i] = -d[i];
            return o;
        }
        Mat m = (Mat) v;
        Mat out = new Mat(m.size());
        for (Series s : m) {
            double[] f = new double[s.n];
            for (int i = 0; i < s.n; i++) f[i] = -s.f[i];
            out.add(new Series(s.labels, true, s.t, f, s.n));
        }
        return out;
    }

    // ------------------------------------------------------------------ selectors

    List<SeriesData> select(VectorSelector vs, long mint, long maxt, String func, long range) {
        return selectMatchers(vs.matchers(), mint, maxt, func, range);
    }

    List<SeriesData> selectMatchers(List<dev.vigil.promql.Matcher> matchers, long mint, long maxt, String func, long range) {
        ctx.qc.check();
        // Raw samples are not counted here: like Prometheus, selectors account for the points they
        // produce, range functions for the samples of their current window.
        String f = func != null ? func : hintFunc();
        AggregateExpr agg = enclosingAggregation();
        List<String> grouping = agg == null ? List.of() : agg.grouping();
        boolean by = agg != null && !agg.without();
        return ctx.querier.select(new SelectHints(mint, maxt, interval, f, range, grouping, by), matchers);
    }

    /** Prometheus' extractFuncFromPath: the closest enclosing function or aggregation, not crossing binary operators. */
    private String hintFunc() {
        for (int i = ctx.path.size() - 1; i >= 0; i--) {
            switch (ctx.path.get(i)) {
                case AggregateExpr a -> { return a.op(); }
                case Call c -> { return c.func().name(); }
                case BinaryExpr b -> { return null; }
                default -> { }
            }
        }
        return null;
    }

    /** Prometheus' extractGroupsFromPath: the closest enclosing aggregation (its grouping goes into the hints). */
    private AggregateExpr enclosingAggregation() {
        for (int i = ctx.path.size() - 1; i >= 0; i--) if (ctx.path.get(i) instanceof AggregateExpr a) return a;
        return null;
    }

    /** Evaluates an instant vector selector; with tsMode the value is the sample timestamp in seconds. */
    Mat evalVectorSelector(VectorSelector vs, boolean tsMode) {
        return evalVectorSelector(vs, tsMode ? 1 : 0);
    }

    /** mode 0: sample values; 1: sample timestamps in seconds; 2: sample start timestamps in seconds (0 if unknown). */
    Mat evalVectorSelector(VectorSelector vs, int mode) {
        long offset = ctx.ms(vs.offset());
        Long at = ctx.at(vs.at());
        long lookback = ctx.opts.lookbackDeltaMs();
        long minRef = (at != null ? at : start) - offset;
        long maxRef = (at != null ? at : end) - offset;
        if (vs.smoothed()) return evalSmoothedSelector(vs, offset, at, lookback);
        List<SeriesData> data = select(vs, minRef - lookback + 1, maxRef, null, 0);
        Mat out = new Mat(data.size());
        for (SeriesData sd : data) {
            long[] st = sd.timestamps();
            double[] sv = sd.values();
            long[] sst = sd.startTimestamps();
            int n = sd.size();
            Series s = null;
            int j = 0;
            for (int i = 0; i < steps; i++) {
                long ts = ts(i);
                long ref = (at != null ? at : ts) - offset;
                while (j < n && st[j] <= ref) j++;
                int last = j - 1;
                if (last < 0 || st[last] <= ref - lookback) continue;
                double v = sv[last];
                if (StaleNaN.is(v)) continue;
                if (s == null) s = new Series(sd.labels(), false, steps);
                s.add(ts, mode == 0 ? v : mode == 1 ? st[last] / 1000.0 : (sst == null ? 0 : sst[last]) / 1000.0);
            }
            if (s != null) out.add(s);
        }
        return out;
    }

    private Mat evalSmoothedSelector(VectorSelector vs, long offset, Long at, long lookback) {
        long minRef = (at != null ? at : start) - offset;
        long maxRef = (at != null ? at : end) - offset;
        List<SeriesData> data = select(vs, minRef - lookback, maxRef + lookback, null, 0);
        Mat out = new Mat();
        for (SeriesData sd : data) {
            Series raw = nonStale(sd);
            Series s = null;
            for (int i = 0; i < steps; i++) {
                long ts = ts(i);
                long ref = (at != null ? at : ts) - offset;
                int lo = lowerBound(raw.t, raw.n, ref - lookback);
                int hi = lowerBound(raw.t, raw.n, ref + lookback + 1);
                // samples in [ref - lb, ref + lb]
                int k = lowerBound(raw.t, raw.n, ref);
                double v;
                if (k < hi && raw.t[k] == ref && k >= lo) v = raw.f[k];
                else if (k > lo && k < hi) {
                    v = RangeFunctions.interpolate(raw.t[k - 1], raw.f[k - 1], raw.t[k], raw.f[k], ref, false);
                } else if (k > lo) v = raw.f[k - 1];
                else continue;
                if (s == null) s = new Series(sd.labels(), false, steps);
                s.add(ts, v);
            }
            if (s != null) out.add(s);
        }
        return out;
    }

    static int lowerBound(long[] a, int n, long key) {
        int lo = 0, hi = n;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] < key) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    static Series nonStale(SeriesData sd) {
        long[] t = sd.timestamps();
        double[] f = sd.values();
        int n = sd.size();
        long[] st = sd.startTimestamps();
        boolean any = false;
        for (int i = 0; i < n; i++) if (StaleNaN.is(f[i])) { any = true; break; }
        if (!any) {
            Series s = new Series(sd.labels(), false, t, f, n);
            s.st = st;
            return s;
        }
        Series s = new Series(sd.labels(), false, n);
        long[] ost = st == null ? null : new long[n];
        for (int i = 0; i < n; i++) {
            if (StaleNaN.is(f[i])) continue;
            if (ost != null) ost[s.n] = st[i];
            s.add(t[i], f[i]);
        }
        s.st = ost;
        return s;
    }

    /** A matrix selector evaluated at a single (instant) step: raw samples in (t-range, t]. */
    private Mat evalMatrixSelectorRaw(MatrixSelector ms) {
        if (steps != 1) throw err("cannot do range evaluation of matrix selector");
        VectorSelector vs = ms.vs();
        long offset = ctx.ms(vs.offset());
        Long at = ctx.at(vs.at());
        long range = ctx.ms(ms.range());
        long ref = (at != null ? at : start) - offset;
        long lb = ctx.opts.lookbackDeltaMs();
        long mint = ref - range, maxt = ref;
        if (vs.anchored()) mint -= lb;
        if (vs.smoothed()) { mint -= lb; maxt += lb; }
        List<SeriesData> data = select(vs, mint + 1, maxt, null, range);
        Mat out = new Mat();
        for (SeriesData sd : data) {
            Series raw = nonStale(sd);
            Series s = new Series(sd.labels(), false, 4);
            for (int i = 0; i < raw.n; i++) if (raw.t[i] > mint && raw.t[i] <= maxt) s.add(raw.t[i], raw.f[i]);
            if (s.n == 0) continue;
            if (vs.anchored() || vs.smoothed()) {
                s = RangeFunctions.extendFloats(s, ref - range, ref, vs.smoothed());
                if (s == null || s.n == 0) continue;
            }
            out.add(s);
        }
        return out;
    }

    /** Evaluates a subquery's inner expression over the aligned sub-steps covering all outer steps. */
    Mat evalSubquery(SubqueryExpr sq) {
        long offset = ctx.ms(sq.offset());
        long range = ctx.ms(sq.range());
        long step = sq.step() != null ? ctx.ms(sq.step()) : ctx.opts.defaultSubqueryStepMs();
        if (step <= 0) throw err("subquery step must be greater than 0");
        Long at = ctx.at(sq.at());
        long minRef = (at != null ? at : start) - offset;
        long maxRef = (at != null ? at : end) - offset;
        long lo = minRef - range;
        long newStart = step * (lo / step);
        if (newStart <= lo) newStart += step;
        if (maxRef < newStart) return new Mat();
        Evaluator sub = new Evaluator(ctx, newStart, maxRef, step);
        Object v = sub.eval(sq.expr());
        if (!(v instanceof Mat m)) throw err("subquery is only allowed on instant vector");
        return m;
    }

    private Mat evalSubqueryRaw(SubqueryExpr sq) {
        if (steps != 1) throw err("cannot do range evaluation of subquery");
        Mat m = evalSubquery(sq);
        long offset = ctx.ms(sq.offset());
        long range = ctx.ms(sq.range());
        Long at = ctx.at(sq.at());
        long ref = (at != null ? at : start) - offset;
        Mat out = new Mat();
        for (Series s : m) {
            Series o = new Series(s.labels, s.dropName, s.n);
            for (int i = 0; i < s.n; i++) if (s.t[i] > ref - range && s.t[i] <= ref) o.add(s.t[i], s.f[i]);
            if (o.n > 0) out.add(o);
        }
        return out;
    }

    // ------------------------------------------------------------------ generic per-step evaluation

    interface StepFn {
        List<Smp> apply(List<List<Smp>> vecs, long ts, int step);
    }

    /** Gathers per-step vectors from evaluated args (Mat, double[] scalar, or null/String). */
    final class Gatherer {
        final Object[] args;
        final int[][] cursors;

        Gatherer(Object[] args) {
            this.args = args;
            this.cursors = new int[args.length][];
            for (int i = 0; i < args.length; i++) if (args[i] instanceof Mat m) cursors[i] = new int[m.size()];
        }

        List<List<Smp>> gather(int step) {
            long ts = ts(step);
            List<List<Smp>> out = new ArrayList<>(args.length);
            for (int a = 0; a < args.length; a++) {
                Object v = args[a];
                if (v instanceof Mat m) {
                    int[] cur = cursors[a];
                    List<Smp> vec = new ArrayList<>();
                    for (int si = 0; si < m.size(); si++) {
                        Series s = m.get(si);
                        int c = cur[si];
                        while (c < s.n && s.t[c] < ts) c++;
                        cur[si] = c;
                        if (c < s.n && s.t[c] == ts) vec.add(new Smp(s.labels, s.f[c], ts, s.dropName, si));
                    }
                    out.add(vec);
                } else if (v instanceof double[] d) {
                    out.add(List.of(new Smp(Labels.EMPTY, d[step], ts, false, 0)));
                } else out.add(List.of());
            }
            return out;
        }
    }

    Mat rangeEval(Object[] args, StepFn fn) {
        Gatherer g = new Gatherer(args);
        if (steps == 1) {
            List<Smp> res = fn.apply(g.gather(0), ts(0), 0);
            Mat out = new Mat(res.size());
            for (Smp s : res) {
                Series ser = new Series(s.metric(), s.dropName(), 1);
                ser.add(ts(0), s.f());
                out.add(ser);
            }
            ctx.addSamples(out.size());
            return out;
        }
        LinkedHashMap<Labels, Series> map = new LinkedHashMap<>();
        long total = 0;
        for (int i = 0; i < steps; i++) {
            if ((i & 63) == 0) ctx.qc.check();
            long ts = ts(i);
            List<Smp> res = fn.apply(g.gather(i), ts, i);
            total += res.size();
            for (Smp s : res) {
                Series ser = map.get(s.metric());
                if (ser == null) {
                    ser = new Series(s.metric(), s.dropName(), Math.min(steps, 16));
                    map.put(s.metric(), ser);
                } else if (ser.n > 0 && ser.t[ser.n - 1] == ts) {
                    throw err("vector cannot contain metrics with the same labelset");
                }
                ser.add(ts, s.f());
            }
        }
        ctx.addSamples(total);
        return new Mat(map.values());
    }

    // ------------------------------------------------------------------ binary operators

    static boolean changesMetricSchema(String op) {
        return switch (op) { case "+", "-", "*", "/", "%", "^", "atan2" -> true; default -> false; };
    }

    static double scalarBinop(String op, double l, double r) {
        return switch (op) {
            case "+" -> l + r;
            case "-" -> l - r;
            case "*" -> l * r;
            case "/" -> l / r;
            case "^" -> Math.pow(l, r);
            case "%" -> goMod(l, r);
            case "==" -> l == r ? 1 : 0;
            case "!=" -> l != r ? 1 : 0;
            case ">" -> l > r ? 1 : 0;
            case "<" -> l < r ? 1 : 0;
            case ">=" -> l >= r ? 1 : 0;
            case "<=" -> l <= r ? 1 : 0;
            case "atan2" -> Math.atan2(l, r);
            default -> throw err("operator \"" + op + "\" not allowed for Scalar operations");
        };
    }

    static double goMod(double a, double b) {
        return a % b; // Java % on doubles matches Go math.Mod (sign of dividend)
    }

    /** Element binop: returns value; sets keep[0]. */
    static double elemBinop(String op, double l, double r, boolean[] keep) {
        keep[0] = true;
        switch (op) {
            case "==": keep[0] = l == r; return l;
            case "!=": keep[0] = l != r; return l;
            case ">": keep[0] = l > r; return l;
            case "<": keep[0] = l < r; return l;
            case ">=": keep[0] = l >= r; return l;
            case "<=": keep[0] = l <= r; return l;
            default: return scalarBinop(op, l, r);
        }
    }

    private Object evalBinary(BinaryExpr b) {
        ValueType lt = b.lhs().type(), rt = b.rhs().type();
        String op = b.op();
        if (lt == ValueType.SCALAR && rt == ValueType.SCALAR) {
            double[] l = (double[]) eval(b.lhs());
            double[] r = (double[]) eval(b.rhs());
            double[] o = new double[steps];
            for (int i = 0; i < steps; i++) o[i] = scalarBinop(op, l[i], r[i]);
            return o;
        }
        if (lt == ValueType.VECTOR && rt == ValueType.VECTOR) {
            Mat l = (Mat) eval(b.lhs());
            Mat r = (Mat) eval(b.rhs());
            return vectorBinop(b, l, r);
        }
        boolean swap = lt == ValueType.SCALAR;
        Object lv = eval(b.lhs());
        Object rv = eval(b.rhs());
        Mat m = (Mat) (swap ? rv : lv);
        double[] sc = (double[]) (swap ? lv : rv);
        boolean cmp = b.isComparison();
        boolean[] keep = new boolean[1];
        Mat out = new Mat(m.size());
        boolean drop = changesMetricSchema(op) || b.returnBool();
        for (Series s : m) {
            Series o = new Series(s.labels, drop || s.dropName, s.n);
            for (int i = 0; i < s.n; i++) {
                int step = (int) ((s.t[i] - start) / interval);
                double lf = s.f[i], rf = sc[step];
                if (swap) { double x = lf; lf = rf; rf = x; }
                double v = elemBinop(op, lf, rf, keep);
                if (cmp && swap) v = rf;
                if (b.returnBool()) { v = keep[0] ? 1 : 0; keep[0] = true; }
                if (keep[0]) o.add(s.t[i], v);
            }
            if (o.n > 0) out.add(o);
        }
        return out;
    }

    private static Labels signature(Labels l, VectorMatching vm) {
        if (vm.on()) return l.keep(vm.labels());
        List<String> drop = new ArrayList<>(vm.labels());
        drop.add(Labels.METRIC_NAME);
        return l.without(drop);
    }

    private Mat vectorBinop(BinaryExpr b, Mat lhs, Mat rhs) {
        VectorMatching vm = b.matching();
        String op = b.op();
        Map<Labels, Integer> sigOrd = new HashMap<>();
        int[] lsig = new int[lhs.size()];
        int[] rsig = new int[rhs.size()];
        for (int i = 0; i < lhs.size(); i++) lsig[i] = sigOrd.computeIfAbsent(signature(lhs.get(i).labels, vm), k -> sigOrd.size());
        for (int i = 0; i < rhs.size(); i++) rsig[i] = sigOrd.computeIfAbsent(signature(rhs.get(i).labels, vm), k -> sigOrd.size());
        int numSigs = sigOrd.size();
        if (!BinaryExpr.isSetOp(op) && vm.fillLeft() == null && vm.fillRight() == null) {
            Mat fast = fastBinop(b, lhs, rhs, lsig, rsig, numSigs);
            if (fast != null) return fast;
        }
        Map<Long, Labels> resultCache = new HashMap<>();
        StepFn fn = switch (op) {
            case "and" -> (v, ts, st) -> {
                List<Smp> l = v.get(0), r = v.get(1);
                if (l.isEmpty() || r.isEmpty()) return List.of();
                boolean[] present = new boolean[numSigs];
                for (Smp s : r) present[rsig[s.ord()]] = true;
                List<Smp> out = new ArrayList<>();
                for (Smp s : l) if (present[lsig[s.ord()]]) out.add(s);
                return out;
            };
            case "or" -> (v, ts, st) -> {
                List<Smp> l = v.get(0), r = v.get(1);
                if (l.isEmpty()) return r;
                if (r.isEmpty()) return l;
                boolean[] present = new boolean[numSigs];
                List<Smp> out = new ArrayList<>(l);
                for (Smp s : l) present[lsig[s.ord()]] = true;
                for (Smp s : r) if (!present[rsig[s.ord()]]) out.add(s);
                return out;
            };
            case "unless" -> (v, ts, st) -> {
                List<Smp> l = v.get(0), r = v.get(1);
                if (l.isEmpty() || r.isEmpty()) return l;
                boolean[] present = new boolean[numSigs];
                for (Smp s : r) present[rsig[s.ord()]] = true;
                List<Smp> out = new ArrayList<>();
                for (Smp s : l) if (!present[lsig[s.ord()]]) out.add(s);
                return out;
            };
            default -> (v, ts, st) -> binopStep(b, v.get(0), v.get(1), lsig, rsig, resultCache);
        };
        return rangeEval(new Object[]{lhs, rhs}, fn);
    }

    /**
     * Series-major evaluation of arithmetic/comparison vector matching when the matching is
     * unambiguous (unique "one" side signatures, unique result labels). Returns null to fall back
     * to the generic per-step algorithm (which produces Prometheus' errors for ambiguous cases).
     */
    private Mat fastBinop(BinaryExpr b, Mat lhs, Mat rhs, int[] lsig, int[] rsig, int numSigs) {
        VectorMatching vm = b.matching();
        boolean oneToMany = vm.card() == VectorMatching.Card.ONE_TO_MANY;
        Mat many = oneToMany ? rhs : lhs, one = oneToMany ? lhs : rhs;
        int[] msig = oneToMany ? rsig : lsig, osig = oneToMany ? lsig : rsig;
        int[] oneBySig = new int[numSigs];
        Arrays.fill(oneBySig, -1);
        for (int i = 0; i < one.size(); i++) {
            if (oneBySig[osig[i]] != -1) return null;
            oneBySig[osig[i]] = i;
        }
        boolean oneToOne = vm.card() == VectorMatching.Card.ONE_TO_ONE;
        Set<Labels> seen = new HashSet<>();
        boolean[] sigUsed = new boolean[numSigs];
        Labels[] resLabels = new Labels[many.size()];
        for (int i = 0; i < many.size(); i++) {
            int o = oneBySig[msig[i]];
            if (o < 0) continue;
            if (oneToOne) {
                if (sigUsed[msig[i]]) return null;
                sigUsed[msig[i]] = true;
            }
            Labels rl = resultMetric(many.get(i).labels, one.get(o).labels, b.op(), vm);
            if (!seen.add(rl)) return null;
            resLabels[i] = rl;
        }
        Mat out = new Mat();
        boolean[] keep = new boolean[1];
        boolean rb = b.returnBool();
        long total = 0;
        for (int i = 0; i < many.size(); i++) {
            if (resLabels[i] == null) continue;
            Series ms = many.get(i), os = one.get(oneBySig[msig[i]]);
            Series res = null;
            int j = 0;
            for (int k = 0; k < ms.n; k++) {
                long t = ms.t[k];
                while (j < os.n && os.t[j] < t) j++;
                if (j >= os.n) break;
                if (os.t[j] != t) continue;
                double fl = ms.f[k], fr = os.f[j];
                if (oneToMany) { double x = fl; fl = fr; fr = x; }
                double v = elemBinop(b.op(), fl, fr, keep);
                if (rb) v = keep[0] ? 1 : 0;
                else if (!keep[0]) continue;
                if (res == null) res = new Series(resLabels[i], rb, ms.n);
                res.add(t, v);
            }
            if (res != null) { out.add(res); total += res.n; }
        }
        ctx.addSamples(total);
        return out;
    }

    private List<Smp> binopStep(BinaryExpr b, List<Smp> lhs, List<Smp> rhs, int[] lsigA, int[] rsigA, Map<Long, Labels> cache) {
        VectorMatching vm = b.matching();
        String op = b.op();
        Double fillL = vm.fillLeft(), fillR = vm.fillRight();
        if ((lhs.isEmpty() && rhs.isEmpty()) || ((lhs.isEmpty() || rhs.isEmpty()) && fillL == null && fillR == null))
            return List.of();
        boolean oneToMany = vm.card() == VectorMatching.Card.ONE_TO_MANY;
        int[] lsig = lsigA, rsig = rsigA;
        if (oneToMany) {
            List<Smp> t = lhs; lhs = rhs; rhs = t;
            lsig = rsigA; rsig = lsigA;
        }
        LinkedHashMap<Integer, Smp> rightSigs = new LinkedHashMap<>();
        for (Smp rs : rhs) {
            int sig = rsig[rs.ord()];
            Smp dup = rightSigs.get(sig);
            if (dup != null) {
                String oneSide = oneToMany ? "left" : "right";
                Labels matched = matchLabels(rs.metric(), vm);
                Labels a1 = rs.metric(), a2 = dup.metric();
                if (a1.compareTo(a2) > 0) { Labels x = a1; a1 = a2; a2 = x; }
                throw err("found duplicate series for the match group " + matched.toGoString() + " on the " + oneSide
                        + " hand-side of the operation: [" + a1.toGoString() + ", " + a2.toGoString()
                        + "];many-to-many matching not allowed: matching labels must be unique on one side");
            }
            rightSigs.put(sig, rs);
        }
        Map<Integer, Set<Labels>> matched = new HashMap<>();
        List<Smp> out = new ArrayList<>();
        boolean[] keep = new boolean[1];
        for (Smp ls : lhs) {
            int sig = lsig[ls.ord()];
            Smp rs = rightSigs.get(sig);
            if (rs == null) {
                if (fillR == null) continue;
                rs = new Smp(matchLabels(ls.metric(), vm), fillR, ls.t(), false, -1);
            }
            doBinop(b, ls, rs, sig, oneToMany, matched, out, keep);
        }
        if (fillL != null) {
            for (Map.Entry<Integer, Smp> e : rightSigs.entrySet()) {
                if (matched.containsKey(e.getKey())) continue;
                Smp rs = e.getValue();
                Smp ls = new Smp(matchLabels(rs.metric(), vm), fillL, rs.t(), false, -1);
                doBinop(b, ls, rs, e.getKey(), oneToMany, matched, out, keep);
            }
        }
        return out;
    }

    private static Labels matchLabels(Labels l, VectorMatching vm) {
        if (vm.on()) return l.keep(vm.labels());
        List<String> drop = new ArrayList<>(vm.labels());
        drop.add(Labels.METRIC_NAME);
        return l.without(drop);
    }

    private void doBinop(BinaryExpr b, Smp ls, Smp rs, int sig, boolean oneToMany, Map<Integer, Set<Labels>> matched, List<Smp> out, boolean[] keep) {
        VectorMatching vm = b.matching();
        double fl = ls.f(), fr = rs.f();
        if (oneToMany) { double t = fl; fl = fr; fr = t; }
        double v = elemBinop(b.op(), fl, fr, keep);
        boolean k = keep[0];
        if (b.returnBool()) v = k ? 1 : 0;
        Labels metric = resultMetric(ls.metric(), rs.metric(), b.op(), vm);
        if (vm.card() == VectorMatching.Card.ONE_TO_ONE) {
            if (matched.containsKey(sig))
                throw err("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
            matched.put(sig, null);
        } else {
            Set<Labels> ins = matched.computeIfAbsent(sig, x -> new HashSet<>());
            if (!ins.add(metric)) throw err("multiple matches for labels: grouping labels must ensure unique matches");
        }
        if (!k && !b.returnBool()) return;
        out.add(new Smp(metric, v, ls.t(), b.returnBool(), -1));
    }

    private static Labels resultMetric(Labels lhs, Labels rhs, String op, VectorMatching vm) {
        Labels.Builder lb = lhs.toBuilder();
        if (changesMetricSchema(op)) {
            lb.del(Labels.METRIC_NAME);
            lb.del("__type__");
            lb.del("__unit__");
        }
        if (vm.card() == VectorMatching.Card.ONE_TO_ONE) {
            if (vm.on()) {
                Labels cur = lb.build();
                lb = cur.keep(vm.labels()).toBuilder();
            } else {
                for (String l : vm.labels()) lb.del(l);
            }
        }
        for (String ln : vm.include()) {
            String v = rhs.get(ln);
            if (!v.isEmpty()) lb.set(ln, v); else lb.del(ln);
        }
        return lb.build();
    }

    // ------------------------------------------------------------------ aggregation

    private static final Set<String> K_OPS = Set.of("topk", "bottomk", "limitk", "limit_ratio");

    private Object evalAggregate(AggregateExpr a) {
        List<String> grouping = new ArrayList<>(a.grouping());
        Collections.sort(grouping);
        String op = a.op();
        if (op.equals("count_values")) return evalCountValues(a, grouping);
        double[] param = null;
        if (a.param() != null) {
            Object pv = eval(a.param());
            if (pv instanceof double[] d) param = d;
        }
        Mat in = (Mat) eval(a.expr());
        boolean without = a.without();
        // group mapping
        Map<Labels, Integer> groupIdx = new HashMap<>();
        int[] seriesGroup = new int[in.size()];
        List<Labels> groupLabels = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            Labels m = in.get(i).labels;
            Labels key;
            if (without) {
                List<String> drop = new ArrayList<>(grouping);
                drop.add(Labels.METRIC_NAME);
                key = m.without(drop);
            } else key = grouping.isEmpty() ? Labels.EMPTY : m.keep(grouping);
            Integer gi = groupIdx.get(key);
            if (gi == null) {
                gi = groupLabels.size();
                groupIdx.put(key, gi);
                groupLabels.add(key);
            }
            seriesGroup[i] = gi;
        }
        if (K_OPS.contains(op)) return aggregationK(a, param, in, seriesGroup, groupLabels.size());
        if (op.equals("quantile")) {
            boolean nan = false;
            double mx = Double.NEGATIVE_INFINITY, mn = Double.POSITIVE_INFINITY;
            for (double q : param) { if (Double.isNaN(q)) nan = true; else { mx = Math.max(mx, q); mn = Math.min(mn, q); } }
            if (nan) ctx.annos.warn("quantile value should be between 0 and 1, got NaN" + ctx.pos(a.param()));
            if (mx > 1) ctx.annos.warn("quantile value should be between 0 and 1, got " + fmtG(mx) + ctx.pos(a.param()));
            if (mn < 0) ctx.annos.warn("quantile value should be between 0 and 1, got " + fmtG(mn) + ctx.pos(a.param()));
        }
        int ng = groupLabels.size();
        if (SIMPLE_AGG.contains(op) && (long) ng * steps <= 20_000_000L) return simpleAggregate(op, in, seriesGroup, groupLabels);
        if (op.equals("quantile") && (long) ng * steps <= 20_000_000L) return quantileAggregate(param, in, seriesGroup, groupLabels);
        Series[] outS = new Series[ng];
        // per-group accumulators
        boolean[] seen = new boolean[ng];
        double[] fv = new double[ng], mean = new double[ng], kc = new double[ng], cnt = new double[ng];
        boolean[] incMean = new boolean[ng], dropName = new boolean[ng];
        List<List<Double>> heaps = op.equals("quantile") ? new ArrayList<>() : null;
        if (heaps != null) for (int g = 0; g < ng; g++) heaps.add(new ArrayList<>());
        int[] cur = new int[in.size()];
        double[] kt = new double[2];
        long total = 0;
        for (int st = 0; st < steps; st++) {
            if ((st & 63) == 0) ctx.qc.check();
            long ts = ts(st);
            Arrays.fill(seen, false);
            for (int si = 0; si < in.size(); si++) {
                Series s = in.get(si);
                int c = cur[si];
                while (c < s.n && s.t[c] < ts) c++;
                cur[si] = c;
                if (c >= s.n || s.t[c] != ts) continue;
                double f = s.f[c];
                int g = seriesGroup[si];
                if (!seen[g]) {
                    seen[g] = true;
                    fv[g] = f;
                    mean[g] = f;
                    kc[g] = 0;
                    cnt[g] = 1;
                    incMean[g] = false;
                    dropName[g] = s.dropName;
                    switch (op) {
                        case "stddev", "stdvar" -> fv[g] = (Double.isNaN(f) || Double.isInfinite(f)) ? Double.NaN : 0;
                        case "group" -> fv[g] = 1;
                        case "quantile" -> { heaps.get(g).clear(); heaps.get(g).add(f); }
                        default -> { }
                    }
                    continue;
                }
                if (s.dropName) dropName[g] = true;
                switch (op) {
                    case "sum" -> { KahanSum.inc(f, fv[g], kc[g], kt); fv[g] = kt[0]; kc[g] = kt[1]; }
                    case "avg" -> {
                        cnt[g]++;
                        if (!incMean[g]) {
                            KahanSum.inc(f, fv[g], kc[g], kt);
                            if (!Double.isInfinite(kt[0])) { fv[g] = kt[0]; kc[g] = kt[1]; break; }
                            incMean[g] = true;
                            mean[g] = fv[g] / (cnt[g] - 1);
                            kc[g] /= cnt[g] - 1;
                        }
                        double q = (cnt[g] - 1) / cnt[g];
                        KahanSum.inc(f / cnt[g], q * mean[g], q * kc[g], kt);
                        mean[g] = kt[0];
                        kc[g] = kt[1];
                    }
                    case "group" -> { }
                    case "max" -> { if (fv[g] < f || Double.isNaN(fv[g])) fv[g] = f; }
                    case "min" -> { if (fv[g] > f || Double.isNaN(fv[g])) fv[g] = f; }
                    case "count" -> cnt[g]++;
                    case "stddev", "stdvar" -> {
                        cnt[g]++;
                        double delta = f - mean[g];
                        mean[g] += delta / cnt[g];
                        fv[g] += delta * (f - mean[g]);
                    }
                    case "quantile" -> heaps.get(g).add(f);
                    default -> throw err("expected aggregation operator but got \"" + op + "\"");
                }
            }
            for (int g = 0; g < ng; g++) {
                if (!seen[g]) continue;
                double v = fv[g];
                switch (op) {
                    case "avg" -> v = incMean[g] ? mean[g] + kc[g] : fv[g] / cnt[g] + kc[g] / cnt[g];
                    case "count" -> v = cnt[g];
                    case "stdvar" -> v = fv[g] / cnt[g];
                    case "stddev" -> v = Math.sqrt(fv[g] / cnt[g]);
                    case "quantile" -> v = quantile(param[st], heaps.get(g));
                    case "sum" -> v = fv[g] + kc[g];
                    default -> { }
                }
                if (outS[g] == null) outS[g] = new Series(groupLabels.get(g), false, Math.min(steps, 16));
                outS[g].add(ts, v);
                outS[g].dropName = dropName[g];
                total++;
            }
        }
        ctx.addSamples(total);
        Mat out = new Mat(ng);
        for (Series s : outS) if (s != null) out.add(s);
        return out;
    }

    /**
     * Series-major quantile: the points of each (group, step) cell are bucketed into one primitive
     * array (counting sort by cell), then each cell's slice is sorted for the quantile. Same values,
     * same result as the per-step path, without boxing.
     */
    private Mat quantileAggregate(double[] param, Mat in, int[] seriesGroup, List<Labels> groupLabels) {
        int ng = groupLabels.size();
        int cells = ng * steps;
        int[] off = new int[cells + 1];
        boolean[] drop = new boolean[ng];
        int[] lastStep = new int[ng];
        Arrays.fill(lastStep, -1);
        int[][] stepOf = new int[in.size()][];
        for (int si = 0; si < in.size(); si++) {
            if ((si & 255) == 0) ctx.qc.check();
            Series s = in.get(si);
            int g = seriesGroup[si];
            int[] so = new int[s.n];
            int step = -1;
            for (int k = 0; k < s.n; k++) {
                long tk = s.t[k];
                step++;
                if (start + step * interval != tk) step = (int) ((tk - start) / interval);
                so[k] = step;
                off[g * steps + step + 1]++;
            }
            stepOf[si] = so;
            if (s.n > 0) {
                int ls = so[s.n - 1];
                if (ls > lastStep[g]) { lastStep[g] = ls; drop[g] = s.dropName; }
                else if (ls == lastStep[g] && s.dropName) drop[g] = true;
            }
        }
        for (int i = 0; i < cells; i++) off[i + 1] += off[i];
        double[] vals = new double[off[cells]];
        int[] fillPos = Arrays.copyOf(off, cells);
        for (int si = 0; si < in.size(); si++) {
            Series s = in.get(si);
            int base = seriesGroup[si] * steps;
            int[] so = stepOf[si];
            for (int k = 0; k < s.n; k++) vals[fillPos[base + so[k]]++] = s.f[k];
        }
        Mat out = new Mat(ng);
        long total = 0;
        for (int g = 0; g < ng; g++) {
            if ((g & 63) == 0) ctx.qc.check();
            Series o = null;
            for (int st = 0; st < steps; st++) {
                int from = off[g * steps + st], to = off[g * steps + st + 1];
                if (to == from) continue;
                double v = quantile(param[st], vals, from, to - from);
                if (o == null) o = new Series(groupLabels.get(g), drop[g], steps);
                o.add(ts(st), v);
                total++;
            }
            if (o != null) out.add(o);
        }
        ctx.addSamples(total);
        return out;
    }

    private static final Set<String> SIMPLE_AGG = Set.of("sum", "avg", "count", "min", "max", "group", "stddev", "stdvar");

    /** Series-major aggregation: state per (group, step); same arithmetic as the per-step version. */
    private Mat simpleAggregate(String op, Mat in, int[] seriesGroup, List<Labels> groupLabels) {
        int ng = groupLabels.size();
        int n = ng * steps;
        double[] fv = new double[n], mean = new double[n], kc = new double[n], cnt = new double[n];
        boolean[] incMean = op.equals("avg") ? new boolean[n] : null;
        boolean[] drop = new boolean[ng];
        int[] lastStep = new int[ng];
        Arrays.fill(lastStep, -1);
        double[] kt = new double[2];
        int opc = switch (op) { case "sum" -> 0; case "avg" -> 1; case "count" -> 2; case "min" -> 3; case "max" -> 4; case "group" -> 5; default -> 6; };
        for (int si = 0; si < in.size(); si++) {
            if ((si & 255) == 0) ctx.qc.check();
            Series s = in.get(si);
            int g = seriesGroup[si];
            if (s.n > 0) {
                // Like Prometheus, the output's __name__ dropping is decided by the group's last step:
                // dropped if any series contributing at that step had its name dropped.
                int ls = (int) ((s.t[s.n - 1] - start) / interval);
                if (ls > lastStep[g]) { lastStep[g] = ls; drop[g] = s.dropName; }
                else if (ls == lastStep[g] && s.dropName) drop[g] = true;
            }
            int base = g * steps;
            int step = -1;
            for (int k = 0; k < s.n; k++) {
                // points lie on step timestamps, usually consecutive ones: avoid the division then
                long tk = s.t[k];
                step++;
                if (start + step * interval != tk) step = (int) ((tk - start) / interval);
                int idx = base + step;
                double f = s.f[k];
                if (cnt[idx] == 0) {
                    cnt[idx] = 1;
                    fv[idx] = f;
                    mean[idx] = f;
                    if (opc == 6) fv[idx] = (Double.isNaN(f) || Double.isInfinite(f)) ? Double.NaN : 0;
                    else if (opc == 5) fv[idx] = 1;
                    continue;
                }
                switch (opc) {
                    case 0 -> { KahanSum.inc(f, fv[idx], kc[idx], kt); fv[idx] = kt[0]; kc[idx] = kt[1]; }
                    case 1 -> {
                        double c = ++cnt[idx];
                        if (!incMean[idx]) {
                            KahanSum.inc(f, fv[idx], kc[idx], kt);
                            if (!Double.isInfinite(kt[0])) { fv[idx] = kt[0]; kc[idx] = kt[1]; break; }
                            incMean[idx] = true;
                            mean[idx] = fv[idx] / (c - 1);
                            kc[idx] /= c - 1;
                        }
                        double q = (c - 1) / c;
                        KahanSum.inc(f / c, q * mean[idx], q * kc[idx], kt);
                        mean[idx] = kt[0];
                        kc[idx] = kt[1];
                    }
                    case 2 -> cnt[idx]++;
                    case 3 -> { if (fv[idx] > f || Double.isNaN(fv[idx])) fv[idx] = f; }
                    case 4 -> { if (fv[idx] < f || Double.isNaN(fv[idx])) fv[idx] = f; }
                    case 5 -> { }
                    default -> {
                        double c = ++cnt[idx];
                        double delta = f - mean[idx];
                        mean[idx] += delta / c;
                        fv[idx] += delta * (f - mean[idx]);
                    }
                }
            }
        }
        Mat out = new Mat(ng);
        long total = 0;
        for (int g = 0; g < ng; g++) {
            Series o = null;
            int base = g * steps;
            for (int st = 0; st < steps; st++) {
                int idx = base + st;
                if (cnt[idx] == 0) continue;
                double v = switch (opc) {
                    case 0 -> fv[idx] + kc[idx];
                    case 1 -> incMean[idx] ? mean[idx] + kc[idx] : fv[idx] / cnt[idx] + kc[idx] / cnt[idx];
                    case 2 -> cnt[idx];
                    case 6 -> op.equals("stdvar") ? fv[idx] / cnt[idx] : Math.sqrt(fv[idx] / cnt[idx]);
                    default -> fv[idx];
                };
                if (o == null) o = new Series(groupLabels.get(g), drop[g], Math.min(steps, 16));
                o.add(ts(st), v);
            }
            if (o != null) { out.add(o); total += o.n; }
        }
        ctx.addSamples(total);
        return out;
    }

    static String fmtG(double v) {
        if (Double.isNaN(v)) return "NaN";
        if (Double.isInfinite(v)) return v > 0 ? "+Inf" : "-Inf";
        if (v == Math.rint(v) && Math.abs(v) < 1e21) return Long.toString((long) v);
        String s = Double.toString(v);
        return s;
    }

    static double quantile(double q, List<Double> values) {
        if (values.isEmpty() || Double.isNaN(q)) return Double.NaN;
        if (q < 0) return Double.NEGATIVE_INFINITY;
        if (q > 1) return Double.POSITIVE_INFINITY;
        double[] v = new double[values.size()];
        for (int i = 0; i < v.length; i++) v[i] = values.get(i);
        return quantile(q, v, v.length);
    }

    /** Sorts v[0..n) with NaN first, then computes the Prometheus quantile. */
    static double quantile(double q, double[] v, int n) {
        if (n == 0 || Double.isNaN(q)) return Double.NaN;
        if (q < 0) return Double.NEGATIVE_INFINITY;
        if (q > 1) return Double.POSITIVE_INFINITY;
        sortNaNFirst(v, n);
        double rank = q * (n - 1);
        double lowerIndex = Math.max(0, Math.floor(rank));
        double upperIndex = Math.min(n - 1, lowerIndex + 1);
        double weight = rank - Math.floor(rank);
        return v[(int) lowerIndex] * (1 - weight) + v[(int) upperIndex] * weight;
    }

    /** quantile over v[from..from+n), sorting that slice in place. */
    static double quantile(double q, double[] v, int from, int n) {
        if (n == 0 || Double.isNaN(q)) return Double.NaN;
        if (q < 0) return Double.NEGATIVE_INFINITY;
        if (q > 1) return Double.POSITIVE_INFINITY;
        int k = from, end = from + n;
        for (int i = from; i < end; i++) if (Double.isNaN(v[i])) { double t = v[k]; v[k] = v[i]; v[i] = t; k++; }
        Arrays.sort(v, k, end);
        double rank = q * (n - 1);
        double lowerIndex = Math.max(0, Math.floor(rank));
        double upperIndex = Math.min(n - 1, lowerIndex + 1);
        double weight = rank - Math.floor(rank);
        return v[from + (int) lowerIndex] * (1 - weight) + v[from + (int) upperIndex] * weight;
    }

    static void sortNaNFirst(double[] v, int n) {
        int k = 0;
        for (int i = 0; i < n; i++) if (Double.isNaN(v[i])) { double t = v[k]; v[k] = v[i]; v[i] = t; k++; }
        Arrays.sort(v, k, n);
    }

    private Object aggregationK(AggregateExpr a, double[] param, Mat in, int[] seriesGroup, int ng) {
        String op = a.op();
        double max = Double.NaN, min = Double.NaN;
        boolean anyNaN = false;
        for (double p : param) {
            if (Double.isNaN(p)) { anyNaN = true; continue; }
            max = Double.isNaN(max) ? p : Math.max(max, p);
            min = Double.isNaN(min) ? p : Math.min(min, p);
        }
        if (op.equals("limit_ratio")) {
            if (max == 0 && min == 0) return new Mat();
            if (anyNaN) throw err("Ratio value is NaN");
            if (max > 1.0) ctx.annos.warn("ratio value should be between -1 and 1, got " + fmtG(max) + ", capping to 1" + ctx.pos(a.param()));
            if (min < -1.0) ctx.annos.warn("ratio value should be between -1 and 1, got " + fmtG(min) + ", capping to -1" + ctx.pos(a.param()));
        } else {
            if (max < 1) return new Mat();
            if (anyNaN) throw err("Parameter value is NaN");
            if (min <= -9.223372036854775807E18) throw err("Scalar value " + fmtG(min) + " underflows int64");
            if (max >= 9.223372036854775807E18) throw err("Scalar value " + fmtG(max) + " overflows int64");
        }
        if (!op.equals("limit_ratio")) return aggregationKFast(op, param, in, seriesGroup, ng);
        int[] cur = new int[in.size()];
        LinkedHashMap<Labels, Series> map = new LinkedHashMap<>();
        List<Series> instant = new ArrayList<>();
        for (int st = 0; st < steps; st++) {
            long ts = ts(st);
            double fp = param[st];
            List<List<Smp>> groups = new ArrayList<>(ng);
            for (int g = 0; g < ng; g++) groups.add(null);
            long k = 0;
            double r = 0;
            boolean skip = false;
            if (op.equals("limit_ratio")) {
                if (fp == 0) skip = true;
                r = fp < -1 ? -1 : fp > 1 ? 1 : fp;
            } else {
                k = Math.min((long) fp, in.size());
                if (k < 1) skip = true;
            }
            for (int si = 0; si < in.size(); si++) {
                Series s = in.get(si);
                int c = cur[si];
                while (c < s.n && s.t[c] < ts) c++;
                cur[si] = c;
                if (skip || c >= s.n || s.t[c] != ts) continue;
                int g = seriesGroup[si];
                List<Smp> h = groups.get(g);
                if (h == null) { h = new ArrayList<>(); groups.set(g, h); }
                Smp smp = new Smp(s.labels, s.f[c], ts, s.dropName, si);
                switch (op) {
                    case "limit_ratio" -> { if (addRatioSample(r, s.labels)) h.add(smp); }
                    case "limitk" -> { if (h.size() < k) h.add(smp); }
                    default -> h.add(smp);
                }
            }
            if (skip) continue;
            for (int g = 0; g < ng; g++) {
                List<Smp> h = groups.get(g);
                if (h == null) continue;
                List<Smp> sel = h;
                if (op.equals("topk") || op.equals("bottomk")) {
                    boolean top = op.equals("topk");
                    // stable selection: emulate heap semantics by sorting (NaN considered smallest for topk, largest for bottomk)
                    List<Smp> sorted = new ArrayList<>(h);
                    sorted.sort((x, y) -> top ? cmpDescNaNLast(x.f(), y.f()) : cmpAscNaNLast(x.f(), y.f()));
                    sel = sorted.subList(0, (int) Math.min(k, sorted.size()));
                }
                for (Smp s : sel) {
                    if (steps == 1) {
                        Series ser = new Series(s.metric(), s.dropName(), 1);
                        ser.add(ts, s.f());
                        instant.add(ser);
                    } else {
                        Series ser = map.get(s.metric());
                        if (ser == null) { ser = new Series(s.metric(), s.dropName(), 16); map.put(s.metric(), ser); }
                        ser.add(ts, s.f());
                    }
                }
            }
        }
        Mat out = steps == 1 ? new Mat(instant) : new Mat(map.values());
        ctx.addSamples(out.size());
        return out;
    }

    /**
     * topk/bottomk/limitk without per-step allocation: one bounded heap of series indexes per group
     * (worst kept element at the root), values read through per-series cursors. Selection and
     * output order equal a stable sort by value (NaN last) truncated to k.
     */
    private Mat aggregationKFast(String op, double[] param, Mat in, int[] seriesGroup, int ng) {
        int n = in.size();
        boolean top = op.equals("topk"), limit = op.equals("limitk");
        long maxK = 0;
        for (double p : param) maxK = Math.max(maxK, Math.min((long) p, n));
        int[] groupSize = new int[ng];
        for (int si = 0; si < n; si++) groupSize[seriesGroup[si]]++;
        int[][] heap = new int[ng][];
        for (int g = 0; g < ng; g++) heap[g] = new int[(int) Math.min(maxK, groupSize[g])];
        int[] hsize = new int[ng];
        int[] cur = new int[n];
        double[] val = new double[n];
        Series[] outBySeries = steps == 1 ? null : new Series[n];
        Mat out = new Mat();
        long total = 0;
        // Points are transposed block-wise (B steps x n series) so that each step reads one
        // contiguous row instead of chasing n per-series cursors.
        final int B = 64;
        double[] blockVal = new double[B * n];
        int[] lastStepOf = new int[n];
        Arrays.fill(lastStepOf, -1);
        boolean[] blockHas = new boolean[B * n];
        for (int st = 0; st < steps; st++) {
            int row = st % B;
            if (row == 0) {
                ctx.qc.check();
                Arrays.fill(blockHas, false);
                long blockEnd = ts(Math.min(steps - 1, st + B - 1));
                for (int si = 0; si < n; si++) {
                    Series s = in.get(si);
                    int c = cur[si];
                    int guess = lastStepOf[si];
                    while (c < s.n && s.t[c] <= blockEnd) {
                        long tc = s.t[c];
                        int stepIdx = guess + 1;
                        // points normally lie on consecutive steps: avoid the divisions then
                        if (start + (long) stepIdx * interval != tc) {
                            long off = tc - start;
                            stepIdx = (off >= 0 && off % interval == 0) ? (int) (off / interval) : -1;
                        }
                        if (stepIdx >= 0) {
                            guess = stepIdx;
                            int r = stepIdx - st;
                            if (r >= 0) { blockVal[r * n + si] = s.f[c]; blockHas[r * n + si] = true; }
                        }
                        c++;
                    }
                    lastStepOf[si] = guess;
                    cur[si] = c;
                }
            }
            long ts = ts(st);
            long k = Math.min((long) param[st], n);
            if (k < 1) continue;
            Arrays.fill(hsize, 0);
            int rowBase = row * n;
            for (int si = 0; si < n; si++) {
                if (!blockHas[rowBase + si]) continue;
                double f = blockVal[rowBase + si];
                val[si] = f;
                int g = seriesGroup[si];
                int[] h = heap[g];
                int sz = hsize[g];
                if (limit) {
                    if (sz < k) { h[sz] = si; hsize[g] = sz + 1; }
                    continue;
                }
                if (sz < k) {
                    h[sz] = si;
                    hsize[g] = sz + 1;
                    siftUp(h, sz, val, top);
                } else if (better(si, h[0], val, top)) {
                    h[0] = si;
                    siftDown(h, sz, val, top);
                }
            }
            for (int g = 0; g < ng; g++) {
                int sz = hsize[g];
                if (sz == 0) continue;
                int[] h = heap[g];
                if (!limit) sortBestFirst(h, sz, val, top);
                for (int j = 0; j < sz; j++) {
                    int si = h[j];
                    Series src = in.get(si);
                    if (steps == 1) {
                        Series ser = new Series(src.labels, src.dropName, 1);
                        ser.add(ts, val[si]);
                        out.add(ser);
                    } else {
                        Series ser = outBySeries[si];
                        if (ser == null) {
                            ser = new Series(src.labels, src.dropName, Math.min(steps, 16));
                            outBySeries[si] = ser;
                            out.add(ser);
                        }
                        ser.add(ts, val[si]);
                    }
                    total++;
                }
            }
        }
        ctx.addSamples(total);
        return out;
    }

    /** True if series a ranks before series b: by value (NaN last, descending for topk), then input order. */
    private static boolean better(int a, int b, double[] val, boolean top) {
        double va = val[a], vb = val[b];
        boolean na = Double.isNaN(va), nb = Double.isNaN(vb);
        if (na != nb) return nb;
        if (!na) {
            int c = Double.compare(va, vb);
            if (c != 0) return top ? c > 0 : c < 0;
        }
        return a < b;
    }

    /** Heap with the worst element at the root. */
    private static void siftUp(int[] h, int i, double[] val, boolean top) {
        while (i > 0) {
            int p = (i - 1) >>> 1;
            if (!better(h[p], h[i], val, top)) break;
            int t = h[p]; h[p] = h[i]; h[i] = t;
            i = p;
        }
    }

    private static void siftDown(int[] h, int sz, double[] val, boolean top) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, w = i;
            if (l < sz && better(h[w], h[l], val, top)) w = l;
            if (r < sz && better(h[w], h[r], val, top)) w = r;
            if (w == i) return;
            int t = h[w]; h[w] = h[i]; h[i] = t;
            i = w;
        }
    }

    /** Heap sort of a worst-at-root heap: repeatedly moves the worst element to the end, leaving best first. */
    private static void sortBestFirst(int[] h, int sz, double[] val, boolean top) {
        for (int end = sz - 1; end > 0; end--) {
            int t = h[0]; h[0] = h[end]; h[end] = t;
            siftDown(h, end, val, top);
        }
    }

    private static int cmpDescNaNLast(double a, double b) {
        if (Double.isNaN(a)) return Double.isNaN(b) ? 0 : 1;
        if (Double.isNaN(b)) return -1;
        return Double.compare(b, a);
    }

    private static int cmpAscNaNLast(double a, double b) {
        if (Double.isNaN(a)) return Double.isNaN(b) ? 0 : 1;
        if (Double.isNaN(b)) return -1;
        return Double.compare(a, b);
    }

    static boolean addRatioSample(double ratioLimit, Labels l) {
        double off = sampleOffset(l);
        return (ratioLimit >= 0 && off < ratioLimit) || (ratioLimit < 0 && off >= 1.0 + ratioLimit);
    }

    static double sampleOffset(Labels l) {
        long h = XXHash64.labelsHash(l);
        // float64(uint64) / float64(MaxUint64)
        double u = (double) (h >>> 1) * 2.0 + (h & 1);
        return u / 1.8446744073709552E19;
    }

    private Object evalCountValues(AggregateExpr a, List<String> grouping) {
        String valueLabel = ((StringLiteral) unwrap(a.param())).value();
        if (!Labels.isValidLabelName(valueLabel)) throw err("invalid label name " + dev.vigil.promql.Strings.quote(valueLabel));
        List<String> g = new ArrayList<>(grouping);
        if (!a.without()) { g.add(valueLabel); Collections.sort(g); }
        Mat in = (Mat) eval(a.expr());
        boolean without = a.without();
        return rangeEval(new Object[]{in}, (v, ts, st) -> {
            LinkedHashMap<Labels, double[]> res = new LinkedHashMap<>();
            for (Smp s : v.get(0)) {
                Labels m = s.metric().toBuilder().set(valueLabel, formatFloat(s.f())).build();
                Labels key;
                if (without) {
                    List<String> drop = new ArrayList<>(g);
                    drop.add(Labels.METRIC_NAME);
                    key = m.without(drop);
                } else key = m.keep(g);
                res.computeIfAbsent(key, x -> new double[1])[0]++;
            }
            List<Smp> out = new ArrayList<>();
            res.forEach((k, c) -> out.add(new Smp(k, c[0], ts, false, -1)));
            return out;
        });
    }

    /** Go strconv.FormatFloat(f, 'f', -1, 64). */
    static String formatFloat(double f) {
        if (Double.isNaN(f)) return "NaN";
        if (Double.isInfinite(f)) return f > 0 ? "+Inf" : "-Inf";
        if (f == 0) return (1 / f < 0) ? "-0" : "0";
        return new java.math.BigDecimal(Double.toString(f)).stripTrailingZeros().toPlainString();
    }
}
