package dev.vigil.promql.engine;

import dev.vigil.promql.Labels;
import dev.vigil.promql.Matcher;
import dev.vigil.promql.ast.*;
import dev.vigil.promql.storage.SeriesData;
import dev.vigil.promql.storage.StaleNaN;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * info(v [, label_selector]): enriches the series of v with the data labels of matching info
 * series (default {@code target_info}), joined on the identifying labels {@code instance} and
 * {@code job}. Follows Prometheus' promql/info.go; the info series are evaluated at the
 * reference time of the first vector selector in v (its and its enclosing subqueries' {@code @}
 * and {@code offset} applied), so enrichment follows the data the base samples were read from.
 */
final class InfoFunction {
    static final String TARGET_INFO = "target_info";
    static final List<String> IDENTIFYING = List.of("instance", "job");

    private final Evaluator ev;
    private final Ctx ctx;

    InfoFunction(Evaluator ev) {
        this.ev = ev;
        this.ctx = ev.ctx;
    }

    Object eval(Call c) {
        List<Expr> args = c.args();
        Mat mat = (Mat) ev.eval(args.get(0));
        // data label name -> matchers (insertion ordered for determinism)
        Map<String, List<Matcher>> dataLabelMatchers = new LinkedHashMap<>();
        List<Matcher> nameMatchers = new ArrayList<>();
        if (args.size() > 1) {
            VectorSelector sel = (VectorSelector) Evaluator.unwrap(args.get(1));
            for (Matcher m : sel.matchers()) {
                if (m.name().equals(Labels.METRIC_NAME)) nameMatchers.add(m);
                else dataLabelMatchers.computeIfAbsent(m.name(), k -> new ArrayList<>()).add(m);
            }
        }
        List<Matcher> infoNameMatchers = effectiveInfoNameMatchers(nameMatchers);

        // Don't try to enrich info series.
        boolean[] ignore = new boolean[mat.size()];
        for (int i = 0; i < mat.size(); i++) {
            String name = mat.get(i).labels.get(Labels.METRIC_NAME);
            if (matchAll(infoNameMatchers, name)) ignore[i] = true;
        }

        long[] ref = referenceTimes(args.get(0));
        List<Series> infoSeries = fetchInfoSeries(mat, ignore, infoNameMatchers, dataLabelMatchers, ref);
        return combine(mat, infoSeries, ignore, dataLabelMatchers);
    }

    /**
     * The __name__ matchers selecting info metrics (Prometheus' effectiveInfoNameMatchers): all given
     * ones if at least one is positive; {@code =~".+_info"} plus the negated ones if only negated ones
     * are given; {@code ="target_info"} if none.
     */
    static List<Matcher> effectiveInfoNameMatchers(List<Matcher> given) {
        if (given.isEmpty()) return List.of(Matcher.eq(Labels.METRIC_NAME, TARGET_INFO));
        boolean positive = false;
        for (Matcher m : given) if (m.type() == Matcher.Type.EQ || m.type() == Matcher.Type.RE) positive = true;
        if (positive) return given;
        List<Matcher> out = new ArrayList<>();
        out.add(new Matcher(Matcher.Type.RE, Labels.METRIC_NAME, ".+_info"));
        out.addAll(given);
        return out;
    }

    private static boolean matchAll(List<Matcher> ms, String v) {
        for (Matcher m : ms) if (!m.matches(v)) return false;
        return true;
    }

    /**
     * Per step, the time at which info series are looked up: the reference time of the first
     * vector selector (pre-order) in the argument, i.e. the step time with the @ and offset
     * modifiers of enclosing subqueries and of the selector itself applied.
     */
    private long[] referenceTimes(Expr arg) {
        List<Object[]> mods = new ArrayList<>(); // {At, Dur}
        findPath(arg, mods);
        long[] ref = new long[ev.steps];
        for (int i = 0; i < ev.steps; i++) {
            long t = ev.ts(i);
            for (Object[] m : mods) {
                Long at = ctx.at((At) m[0]);
                if (at != null) t = at;
                t -= ctx.ms((Dur) m[1]);
            }
            ref[i] = t;
        }
        return ref;
    }

    /** Collects the (@, offset) modifiers on the pre-order path to the first vector selector; true if found. */
    private static boolean findPath(Expr e, List<Object[]> mods) {
        switch (e) {
            case VectorSelector vs -> { mods.add(new Object[]{vs.at(), vs.offset()}); return true; }
            case MatrixSelector ms -> { mods.add(new Object[]{ms.vs().at(), ms.vs().offset()}); return true; }
            case SubqueryExpr sq -> {
                mods.add(new Object[]{sq.at(), sq.offset()});
                if (findPath(sq.expr(), mods)) return true;
                mods.remove(mods.size() - 1);
                return false;
            }
            case ParenExpr p -> { return findPath(p.expr(), mods); }
            case UnaryExpr u -> { return findPath(u.expr(), mods); }
            case BinaryExpr b -> { return findPath(b.lhs(), mods) || findPath(b.rhs(), mods); }
            case AggregateExpr a -> {
                if (findPath(a.expr(), mods)) return true;
                return a.param() != null && findPath(a.param(), mods);
            }
            case Call c -> {
                for (Expr x : c.args()) if (findPath(x, mods)) return true;
                return false;
            }
            default -> { return false; }
        }
    }

    private List<Series> fetchInfoSeries(Mat mat, boolean[] ignore, List<Matcher> infoNameMatchers, Map<String, List<Matcher>> dataLabelMatchers, long[] ref) {
        Map<String, Set<String>> idValues = new LinkedHashMap<>();
        for (int i = 0; i < mat.size(); i++) {
            if (ignore[i]) continue;
            Labels l = mat.get(i).labels;
            for (String id : IDENTIFYING) {
                String v = l.get(id);
                if (v.isEmpty()) continue;
                idValues.computeIfAbsent(id, k -> new LinkedHashSet<>()).add(v);
            }
        }
        if (idValues.isEmpty()) return List.of();
        List<Matcher> infoMatchers = new ArrayList<>(infoNameMatchers);
        for (Map.Entry<String, Set<String>> e : idValues.entrySet()) {
            StringBuilder sb = new StringBuilder();
            for (String v : e.getValue()) {
                if (!sb.isEmpty()) sb.append('|');
                sb.append(quoteMeta(v));
            }
            infoMatchers.add(new Matcher(Matcher.Type.RE, e.getKey(), sb.toString()));
        }
        for (List<Matcher> ms : dataLabelMatchers.values()) infoMatchers.addAll(ms);

        long lb = ctx.opts.lookbackDeltaMs();
        long minRef = Long.MAX_VALUE, maxRef = Long.MIN_VALUE;
        for (long r : ref) { minRef = Math.min(minRef, r); maxRef = Math.max(maxRef, r); }
        List<SeriesData> data = ev.selectMatchers(infoMatchers, minRef - lb + 1, maxRef, "info", 0);
        List<Series> out = new ArrayList<>(data.size());
        for (SeriesData sd : data) {
            long[] st = sd.timestamps();
            double[] sv = sd.values();
            int n = sd.size();
            // Per step: the timestamp of the sample in effect at the reference time (or none).
            Series s = new Series(sd.labels(), false, ev.steps);
            for (int i = 0; i < ev.steps; i++) {
                int k = Evaluator.lowerBound(st, n, ref[i] + 1) - 1;
                if (k < 0 || st[k] <= ref[i] - lb || StaleNaN.is(sv[k])) continue;
                s.add(ev.ts(i), st[k]);
            }
            if (s.n > 0) out.add(s);
        }
        return out;
    }

    /** Go regexp.QuoteMeta. */
    static String quoteMeta(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 8);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ("\\.+*?()|[]{}^$".indexOf(c) >= 0) sb.append('\\');
            sb.append(c);
        }
        return sb.toString();
    }

    private static String sig(String infoName, Labels l) {
        StringBuilder sb = new StringBuilder(infoName);
        for (String id : IDENTIFYING) {
            String v = l.get(id);
            if (!v.isEmpty()) sb.append('\u0000').append(id).append('\u0001').append(v);
        }
        return sb.toString();
    }

    private Mat combine(Mat mat, List<Series> info, boolean[] ignore, Map<String, List<Matcher>> dataLabelMatchers) {
        Set<String> infoNames = new LinkedHashSet<>();
        for (Series s : info) infoNames.add(s.labels.get(Labels.METRIC_NAME));
        String[][] baseSigs = new String[mat.size()][];
        List<String> names = new ArrayList<>(infoNames);
        for (int i = 0; i < mat.size(); i++) {
            if (ignore[i]) continue;
            String[] sg = new String[names.size()];
            for (int k = 0; k < sg.length; k++) sg[k] = sig(names.get(k), mat.get(i).labels);
            baseSigs[i] = sg;
        }
        String[] infoSigs = new String[info.size()];
        for (int i = 0; i < info.size(); i++) infoSigs[i] = sig(info.get(i).labels.get(Labels.METRIC_NAME), info.get(i).labels);
        boolean allMatchEmpty = true;
        for (List<Matcher> ms : dataLabelMatchers.values()) for (Matcher m : ms) if (!m.matchesEmpty()) allMatchEmpty = false;

        int[] bcur = new int[mat.size()], icur = new int[info.size()];
        LinkedHashMap<Labels, Series> out = new LinkedHashMap<>();
        Map<String, Integer> bySig = new HashMap<>();
        long total = 0;
        for (int st = 0; st < ev.steps; st++) {
            if ((st & 63) == 0) ctx.qc.check();
            long ts = ev.ts(st);
            bySig.clear();
            boolean anyBase = false;
            for (int i = 0; i < mat.size(); i++) {
                Series s = mat.get(i);
                int c = bcur[i];
                while (c < s.n && s.t[c] < ts) c++;
                bcur[i] = c;
                if (c < s.n && s.t[c] == ts) anyBase = true;
            }
            if (!anyBase) continue;
            for (int i = 0; i < info.size(); i++) {
                Series s = info.get(i);
                int c = icur[i];
                while (c < s.n && s.t[c] < ts) c++;
                icur[i] = c;
                if (c >= s.n || s.t[c] != ts) continue;
                long origT = (long) s.f[c];
                Integer ex = bySig.get(infoSigs[i]);
                if (ex != null) {
                    Series es = info.get(ex);
                    long exT = (long) es.f[icur[ex]];
                    if (exT < origT) bySig.put(infoSigs[i], i);
                    else if (exT == origT)
                        throw Evaluator.err("found duplicate series for info metric: existing " + es.labels + " @ " + exT
                                + ", new " + s.labels + " @ " + origT);
                } else bySig.put(infoSigs[i], i);
            }
            for (int i = 0; i < mat.size(); i++) {
                Series bs = mat.get(i);
                int c = bcur[i];
                if (c >= bs.n || bs.t[c] != ts) continue;
                Labels result;
                if (ignore[i]) {
                    result = bs.labels;
                } else {
                    Map<String, String> add = new LinkedHashMap<>();
                    int seen = 0;
                    Set<String> seenNames = new HashSet<>();
                    for (int k = 0; k < names.size(); k++) {
                        Integer ii = bySig.get(baseSigs[i][k]);
                        if (ii == null || !seenNames.add(names.get(k))) continue;
                        Labels il = info.get(ii).labels;
                        for (int li = 0; li < il.size(); li++) {
                            String ln = il.name(li), lv = il.value(li);
                            if (ln.equals(Labels.METRIC_NAME)) continue;
                            if (!dataLabelMatchers.isEmpty() && !dataLabelMatchers.containsKey(ln)) continue;
                            String cur = add.get(ln);
                            if (cur != null && !cur.isEmpty() && !cur.equals(lv)) throw Evaluator.err("conflicting label: " + ln);
                            if (bs.labels.has(ln)) continue;
                            add.put(ln, lv);
                        }
                        seen++;
                    }
                    if (seen == 0 && !allMatchEmpty) continue;
                    if (add.isEmpty()) result = bs.labels;
                    else {
                        Labels.Builder b = bs.labels.toBuilder();
                        add.forEach(b::set);
                        result = b.build();
                    }
                }
                Series o = out.get(result);
                if (o == null) {
                    o = new Series(result, bs.dropName, Math.min(ev.steps, 16));
                    out.put(result, o);
                } else if (o.n > 0 && o.t[o.n - 1] == ts) {
                    throw Evaluator.err("vector cannot contain metrics with the same labelset");
                }
                if (bs.dropName) o.dropName = true;
                o.add(ts, bs.f[c]);
                total++;
            }
        }
        ctx.addSamples(total);
        return new Mat(out.values());
    }
}
