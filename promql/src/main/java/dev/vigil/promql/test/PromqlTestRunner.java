package dev.vigil.promql.test;

import dev.vigil.promql.Labels;
import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.engine.EngineOptions;
import dev.vigil.promql.engine.QueryContext;
import dev.vigil.promql.engine.QueryResult;
import dev.vigil.promql.engine.Sample;
import dev.vigil.promql.engine.Series;
import dev.vigil.promql.engine.Value;
import dev.vigil.promql.storage.AppendableStorage;
import dev.vigil.promql.storage.Appender;
import dev.vigil.promql.test.PromqlTestScript.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Executes promqltest scripts against an {@link Engine} and any {@link AppendableStorage}.
 * Reusable by other modules (e.g. to run scripts against a ClickHouse-backed storage):
 *
 * <pre>
 *   PromqlTestRunner r = new PromqlTestRunner(MyStorage::new);
 *   List&lt;Outcome&gt; outcomes = r.run(PromqlTestScript.load(path));
 * </pre>
 */
public final class PromqlTestRunner {
    /** Result of one eval command. */
    public record Outcome(Eval eval, boolean passed, String message) {
        public String id() { return eval.id(); }
    }

    private final Supplier<? extends AppendableStorage> storageFactory;
    private final Engine engine;

    public PromqlTestRunner(Supplier<? extends AppendableStorage> storageFactory) {
        this(storageFactory, new Engine(EngineOptions.defaults().withMaxSamples(50_000_000L)));
    }

    public PromqlTestRunner(Supplier<? extends AppendableStorage> storageFactory, Engine engine) {
        this.storageFactory = storageFactory;
        this.engine = engine;
    }

    /** Runs all commands of the script in order on a fresh storage and returns one outcome per eval. */
    public List<Outcome> run(PromqlTestScript script) {
        List<Outcome> out = new ArrayList<>();
        try (AppendableStorage storage = storageFactory.get()) {
            for (Command c : script.commands()) {
                switch (c) {
                    case Clear cl -> storage.clear();
                    case Load l -> load(storage, l);
                    case Eval e -> out.add(runEval(storage, e));
                }
            }
        }
        return out;
    }

    public static void load(AppendableStorage storage, Load l) {
        Appender app = storage.appender();
        for (SeriesSpec s : l.series()) {
            // Native histogram samples are not supported; the float samples of mixed series are loaded.
            double[] v = s.values();
            for (int i = 0; i < v.length; i++) {
                if (PromqlTestScript.isOmitted(v[i])) continue;
                long t = i * l.intervalMs();
                if (s.startOffsets() != null) app.append(s.labels(), t, v[i], s.startTimestamp(i, t));
                else app.append(s.labels(), t, v[i]);
            }
        }
        app.commit();
    }

    public Outcome runEval(AppendableStorage storage, Eval e) {
        QueryResult r;
        try {
            if (e.range()) r = engine.rangeQuery(storage, e.query(), e.startMs(), e.endMs(), e.stepMs(), QueryContext.withTimeout(60_000));
            else r = engine.instantQuery(storage, e.query(), e.startMs(), QueryContext.withTimeout(60_000));
        } catch (RuntimeException ex) {
            String msg = ex.getMessage() == null ? ex.toString() : ex.getMessage();
            if (!e.expectFail()) {
                if (!(ex instanceof dev.vigil.promql.engine.QueryException) && !(ex instanceof dev.vigil.promql.parser.ParseException)) {
                    java.io.StringWriter sw = new java.io.StringWriter();
                    ex.printStackTrace(new java.io.PrintWriter(sw));
                    msg = sw.toString();
                }
                return fail(e, "unexpected error: " + msg);
            }
            for (Expect x : e.expects()) {
                if (x.type() == ExpectType.FAIL && !x.matches(msg) && !x.matches(stripPos(msg)))
                    return fail(e, "error message mismatch: expected " + (x.msg() != null ? "\"" + x.msg() + "\"" : "/" + x.regex() + "/") + ", got \"" + msg + "\"");
            }
            return new Outcome(e, true, "failed as expected: " + msg);
        }
        if (e.expectFail()) return fail(e, "expected error but got result " + describe(r.value()));
        String annoErr = checkAnnotations(e, r.annotations().warnings(), ExpectType.WARN, ExpectType.NO_WARN);
        if (annoErr == null) annoErr = checkAnnotations(e, r.annotations().infos(), ExpectType.INFO, ExpectType.NO_INFO);
        if (annoErr != null) return fail(e, annoErr);
        String err = checkValue(e, r.value());
        return err == null ? new Outcome(e, true, "ok") : fail(e, err);
    }

    private static String stripPos(String msg) {
        return msg.replaceFirst("^\\d+:\\d+: parse error: ", "");
    }

    private static Outcome fail(Eval e, String msg) { return new Outcome(e, false, msg); }

    private static String checkAnnotations(Eval e, List<String> got, ExpectType yes, ExpectType no) {
        List<Expect> want = e.expects().stream().filter(x -> x.type() == yes).toList();
        boolean none = e.expects().stream().anyMatch(x -> x.type() == no);
        String kind = yes == ExpectType.WARN ? "warning" : "info";
        if (none && !got.isEmpty()) return "expected no " + kind + " annotations but got " + got;
        for (Expect x : want) {
            if (got.stream().noneMatch(x::matches))
                return "expected " + kind + " annotation matching " + (x.msg() != null ? "\"" + x.msg() + "\"" : x.regex() != null ? "/" + x.regex() + "/" : "(any)") + " but got " + got;
        }
        if (!want.isEmpty()) {
            for (String g : got) if (want.stream().noneMatch(x -> x.matches(g))) return "unexpected " + kind + " annotation: " + g;
        }
        return null;
    }

    static boolean almostEqual(double a, double b) {
        if (Double.isNaN(a) && Double.isNaN(b)) return true;
        if (a == b) return true;
        double absSum = Math.abs(a) + Math.abs(b);
        double diff = Math.abs(a - b);
        double minNormal = Double.MIN_NORMAL;
        if (a == 0 || b == 0 || absSum < minNormal) return diff < 1e-6 * minNormal;
        return diff / Math.min(absSum, Double.MAX_VALUE) < 1e-6;
    }

    private static String describe(Value v) {
        return switch (v) {
            case Value.Scalar s -> "scalar " + s.value();
            case Value.Str s -> "string \"" + s.value() + "\"";
            case Value.Vector vec -> {
                StringBuilder sb = new StringBuilder("vector [");
                for (Sample s : vec.samples()) sb.append("\n  ").append(s.metric()).append(" ").append(s.value());
                yield sb.append("]").toString();
            }
            case Value.Matrix m -> {
                StringBuilder sb = new StringBuilder("matrix [");
                for (Series s : m.series()) sb.append("\n  ").append(s);
                yield sb.append("]").toString();
            }
        };
    }

    private String checkValue(Eval e, Value v) {
        Expect strExp = e.expects().stream().filter(x -> x.type() == ExpectType.STRING).findFirst().orElse(null);
        if (strExp != null) {
            if (!(v instanceof Value.Str s)) return "expected string result, got " + describe(v);
            return s.value().equals(strExp.value()) ? null : "expected string \"" + strExp.value() + "\", got \"" + s.value() + "\"";
        }
        if (e.expectedScalar() != null) {
            if (v instanceof Value.Scalar s) {
                return almostEqual(e.expectedScalar(), s.value()) ? null : "expected scalar " + e.expectedScalar() + ", got " + s.value();
            }
            if (v instanceof Value.Matrix m && e.range()) {
                // scalar result of range query: one series with empty labels
                if (m.series().size() != 1) return "expected scalar series, got " + describe(v);
                for (int i = 0; i < m.series().get(0).size(); i++)
                    if (!almostEqual(e.expectedScalar(), m.series().get(0).value(i))) return "scalar mismatch: " + describe(v);
                return null;
            }
            return "expected scalar " + e.expectedScalar() + ", got " + describe(v);
        }
        Expect rv = e.expects().stream().filter(x -> x.type() == ExpectType.RANGE_VECTOR).findFirst().orElse(null);
        if (v instanceof Value.Vector vec) {
            List<Sample> got = vec.samples();
            if (got.size() != e.expected().size())
                return "expected " + e.expected().size() + " samples, got " + got.size() + ": " + describe(v);
            Map<Labels, Integer> idx = new HashMap<>();
            for (int i = 0; i < got.size(); i++) idx.put(got.get(i).metric(), i);
            for (int j = 0; j < e.expected().size(); j++) {
                SeriesSpec exp = e.expected().get(j);
                Integer i = idx.get(exp.labels());
                if (i == null) return "expected series " + exp.labels() + " not found in " + describe(v);
                if (exp.nativeHistogram()) return "native histogram expectation not supported";
                if (exp.values().length != 1) return "expected exactly one value for instant query series " + exp.labels();
                if (!almostEqual(exp.values()[0], got.get(i).value()))
                    return "value mismatch for " + exp.labels() + ": expected " + exp.values()[0] + ", got " + got.get(i).value();
                if (e.ordered() && i != j) return "ordering mismatch at " + exp.labels() + ": expected position " + j + ", got " + i + " in " + describe(v);
            }
            return null;
        }
        if (v instanceof Value.Scalar s) {
            if (e.expected().size() == 1 && e.expected().get(0).labels().size() == 0 && e.expected().get(0).values().length == 1)
                return almostEqual(e.expected().get(0).values()[0], s.value()) ? null : "scalar mismatch: expected " + e.expected().get(0).values()[0] + " got " + s.value();
            return "unexpected scalar result " + s.value();
        }
        if (v instanceof Value.Str s) return "unexpected string result \"" + s.value() + "\"";
        Value.Matrix m = (Value.Matrix) v;
        long start, step;
        if (e.range()) {
            start = e.startMs();
            step = e.stepMs();
        } else if (rv != null) {
            String[] p = rv.value().split("\\s+");
            // "vector from X to Y step Z"
            start = PromqlTestScript.parseDuration(p[2]);
            step = PromqlTestScript.parseDuration(p[6]);
        } else {
            return "unexpected range vector result for instant query: " + describe(v);
        }
        if (m.series().size() != e.expected().size())
            return "expected " + e.expected().size() + " series, got " + m.series().size() + ": " + describe(v);
        Map<Labels, Series> by = new HashMap<>();
        for (Series s : m.series()) by.put(s.labels(), s);
        for (SeriesSpec exp : e.expected()) {
            Series s = by.get(exp.labels());
            if (s == null) return "expected series " + exp.labels() + " not found in " + describe(v);
            if (exp.nativeHistogram()) return "native histogram expectation not supported";
            List<long[]> dummy = new ArrayList<>();
            int k = 0;
            for (int i = 0; i < exp.values().length; i++) {
                double ev = exp.values()[i];
                long t = start + i * step;
                if (PromqlTestScript.isOmitted(ev)) {
                    if (k < s.size() && s.timestamp(k) == t) return "unexpected point at " + t + " for " + exp.labels() + ": " + describe(v);
                    continue;
                }
                if (k >= s.size() || s.timestamp(k) != t) return "missing point at " + t + " for " + exp.labels() + ": " + describe(v);
                if (!almostEqual(ev, s.value(k))) return "value mismatch for " + exp.labels() + " at " + t + ": expected " + ev + ", got " + s.value(k);
                k++;
            }
            if (k != s.size()) return "extra points for " + exp.labels() + ": " + describe(v);
        }
        return null;
    }
}
