package dev.vigil.alerting.promtool;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import dev.vigil.alerting.Alert;
import dev.vigil.alerting.AlertSink;
import dev.vigil.alerting.AlertState;
import dev.vigil.alerting.AlertingRule;
import dev.vigil.alerting.LabelSet;
import dev.vigil.alerting.PromqlQueryEngine;
import dev.vigil.alerting.QueryEngine;
import dev.vigil.alerting.Rule;
import dev.vigil.alerting.RuleGroup;
import dev.vigil.alerting.StorageSeriesWriter;
import dev.vigil.alerting.rules.GroupDef;
import dev.vigil.alerting.rules.PromDuration;
import dev.vigil.alerting.rules.RuleFileException;
import dev.vigil.alerting.rules.RuleFiles;
import dev.vigil.alerting.template.GoFormat;
import dev.vigil.promql.Labels;
import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.engine.EngineOptions;
import dev.vigil.promql.parser.Parser;
import dev.vigil.promql.storage.InMemoryStorage;
import dev.vigil.promql.test.PromqlTestRunner;
import dev.vigil.promql.test.PromqlTestScript;

/**
 * Runs promtool's rule unit-test files ({@code promtool test rules}) with Vigil's evaluator over
 * the in-memory PromQL storage, following cmd/promtool/unittest.go (2.42): input series in the
 * expanding notation ({@code 0+10x100}, {@code _x5}, {@code stale}), all groups evaluated at
 * every {@code evaluation_interval} from time 0, {@code alert_rule_test} compared against the
 * firing alerts of the evaluation at or just before {@code eval_time}, and
 * {@code promql_expr_test} queried after the evaluations.
 */
public final class RuleUnitTests {
    private static final Set<String> FILE_KEYS = Set.of("rule_files", "evaluation_interval", "group_eval_order", "tests");
    private static final Set<String> GROUP_KEYS = Set.of("interval", "input_series", "alert_rule_test", "promql_expr_test",
            "external_labels", "external_url", "name");

    private RuleUnitTests() {
    }

    /** The outcome of one test file: empty errors means success. */
    public record Result(Path file, List<String> errors) {
        public boolean passed() {
            return errors.isEmpty();
        }
    }

    public static Result run(Path testFile) {
        List<String> errs = new ArrayList<>();
        try {
            runFile(testFile, errs);
        } catch (UnitTestException | RuleFileException | IOException | IllegalArgumentException e) {
            errs.add(e.getMessage());
        }
        return new Result(testFile, errs);
    }

    private static final class UnitTestException extends RuntimeException {
        UnitTestException(String m) {
            super(m);
        }
    }

    private static Map<?, ?> map(Object o, String what) {
        if (o == null) {
            return Map.of();
        }
        if (o instanceof Map<?, ?> m) {
            return m;
        }
        throw new UnitTestException(what + " must be a mapping");
    }

    private static List<?> list(Object o, String what) {
        if (o == null) {
            return List.of();
        }
        if (o instanceof List<?> l) {
            return l;
        }
        throw new UnitTestException(what + " must be a list");
    }

    private static void strict(Map<?, ?> m, Set<String> keys, String type) {
        for (Object k : m.keySet()) {
            if (!keys.contains(String.valueOf(k))) {
                throw new UnitTestException("field " + k + " not found in type " + type);
            }
        }
    }

    private static long duration(Object o, long dflt) {
        if (o == null) {
            return dflt;
        }
        return PromDuration.parseMillis(String.valueOf(o));
    }

    private static Map<String, String> stringMap(Object o) {
        Map<String, String> out = new TreeMap<>();
        map(o, "labels").forEach((k, v) -> out.put(String.valueOf(k), v == null ? "" : String.valueOf(v)));
        return out;
    }

    private static void runFile(Path testFile, List<String> errs) throws IOException {
        Object root = new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(testFile, StandardCharsets.UTF_8));
        Map<?, ?> top = map(root, "unit test file");
        strict(top, FILE_KEYS, "main.unitTestFile");
        long evalInterval = duration(top.get("evaluation_interval"), 60_000L);
        if (evalInterval == 0) {
            evalInterval = 60_000L;
        }
        Map<String, Integer> order = new HashMap<>();
        int oi = 0;
        for (Object g : list(top.get("group_eval_order"), "group_eval_order")) {
            if (order.putIfAbsent(String.valueOf(g), oi++) != null) {
                throw new UnitTestException("group name repeated in evaluation order: " + g);
            }
        }
        List<Path> ruleFiles = new ArrayList<>();
        Path base = testFile.toAbsolutePath().getParent();
        for (Object rf : list(top.get("rule_files"), "rule_files")) {
            ruleFiles.addAll(glob(base, String.valueOf(rf)));
        }
        for (Object t : list(top.get("tests"), "tests")) {
            errs.addAll(runGroup(map(t, "test group"), evalInterval, order, ruleFiles));
        }
    }

    private static List<Path> glob(Path base, String pattern) throws IOException {
        Path p = Path.of(pattern);
        if (!p.isAbsolute()) {
            p = base.resolve(pattern);
        }
        p = p.normalize();
        String name = p.getFileName().toString();
        if (!name.contains("*") && !name.contains("?") && !name.contains("[")) {
            return Files.exists(p) ? List.of(p) : List.of();
        }
        PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + name);
        try (Stream<Path> s = Files.list(p.getParent())) {
            return s.filter(f -> m.matches(f.getFileName())).sorted().toList();
        }
    }

    private record ExpAlert(LabelSet labels, LabelSet annotations) {
    }

    private record AlertTest(long evalTime, String alertname, List<ExpAlert> expected) {
    }

    private static final Comparator<ExpAlert> ALERT_ORDER = Comparator.comparing(ExpAlert::labels).thenComparing(ExpAlert::annotations);

    private static List<String> runGroup(Map<?, ?> tg, long evalInterval, Map<String, Integer> order, List<Path> ruleFiles)
            throws IOException {
        strict(tg, GROUP_KEYS, "main.testGroup");
        String groupName = tg.get("name") == null ? "" : String.valueOf(tg.get("name"));
        String testName = groupName.isEmpty() ? "" : "    name: " + groupName + ",\n";
        long interval = duration(tg.get("interval"), 60_000L);
        if (interval == 0) {
            interval = 60_000L;
        }
        Map<String, String> externalLabels = stringMap(tg.get("external_labels"));
        String externalURL = tg.get("external_url") == null ? "" : String.valueOf(tg.get("external_url"));

        // input series, in promql test-script notation (as promtool builds a "load" command)
        StringBuilder load = new StringBuilder("load ").append(PromDuration.format(interval)).append('\n');
        for (Object s : list(tg.get("input_series"), "input_series")) {
            Map<?, ?> sm = map(s, "input series");
            strict(sm, Set.of("series", "values"), "main.series");
            load.append("  ").append(sm.get("series")).append(' ').append(sm.get("values") == null ? "" : sm.get("values")).append('\n');
        }
        InMemoryStorage storage = new InMemoryStorage();
        try {
            for (PromqlTestScript.Command c : PromqlTestScript.parse("input_series", load.toString()).commands()) {
                if (c instanceof PromqlTestScript.Load l) {
                    PromqlTestRunner.load(storage, l);
                }
            }
        } catch (RuntimeException e) {
            return List.of("    invalid input_series: " + e.getMessage());
        }
        Engine engine = new Engine(EngineOptions.defaults());
        QueryEngine qe = new PromqlQueryEngine(engine, t -> storage, 0);
        StorageSeriesWriter writer = new StorageSeriesWriter(t -> storage);

        // rule groups, ordered by group_eval_order (partial order; file order otherwise)
        List<RuleGroup> groups = new ArrayList<>();
        for (Path f : ruleFiles) {
            for (GroupDef d : RuleFiles.parseFile(f.toString(), Files.readString(f, StandardCharsets.UTF_8), qe::validate)) {
                groups.add(new RuleGroup("test", f.toString(), d, interval, externalLabels, externalURL));
            }
        }
        groups.sort(Comparator.comparingInt(g -> order.getOrDefault(g.name(), 0)));

        // alert tests indexed by eval time
        List<AlertTest> alertTests = new ArrayList<>();
        for (Object a : list(tg.get("alert_rule_test"), "alert_rule_test")) {
            Map<?, ?> am = map(a, "alert_rule_test");
            strict(am, Set.of("eval_time", "alertname", "exp_alerts"), "main.alertTestCase");
            long evalTime = duration(am.get("eval_time"), 0);
            String alertname = am.get("alertname") == null ? "" : String.valueOf(am.get("alertname"));
            if (alertname.isEmpty()) {
                return List.of("an item under alert_rule_test misses required attribute alertname at eval_time "
                        + PromDuration.format(evalTime) + (groupName.isEmpty() ? "" : " (in TestGroup " + groupName + ")"));
            }
            List<ExpAlert> exp = new ArrayList<>();
            for (Object e : list(am.get("exp_alerts"), "exp_alerts")) {
                Map<?, ?> em = map(e, "exp_alert");
                strict(em, Set.of("exp_labels", "exp_annotations"), "main.alert");
                Map<String, String> l = stringMap(em.get("exp_labels"));
                l.put(LabelSet.ALERT_NAME, alertname);
                exp.add(new ExpAlert(LabelSet.of(l), LabelSet.of(stringMap(em.get("exp_annotations")))));
            }
            exp.sort(ALERT_ORDER);
            alertTests.add(new AlertTest(evalTime, alertname, exp));
        }
        record ExprTest(String expr, long evalTime, List<Map<?, ?>> samples) {
        }
        List<ExprTest> exprTests = new ArrayList<>();
        for (Object p : list(tg.get("promql_expr_test"), "promql_expr_test")) {
            Map<?, ?> pm = map(p, "promql_expr_test");
            strict(pm, Set.of("expr", "eval_time", "exp_samples"), "main.promqlTestCase");
            List<Map<?, ?>> samples = new ArrayList<>();
            for (Object s : list(pm.get("exp_samples"), "exp_samples")) {
                Map<?, ?> sm = map(s, "exp_sample");
                strict(sm, Set.of("labels", "value"), "main.sample");
                samples.add(sm);
            }
            exprTests.add(new ExprTest(String.valueOf(pm.get("expr")), duration(pm.get("eval_time"), 0), samples));
        }
        long maxt = 0;
        for (AlertTest a : alertTests) {
            maxt = Math.max(maxt, a.evalTime());
        }
        for (ExprTest e : exprTests) {
            maxt = Math.max(maxt, e.evalTime());
        }
        List<Long> evalTimes = alertTests.stream().map(AlertTest::evalTime).distinct().sorted().toList();

        List<String> errs = new ArrayList<>();
        int curr = 0;
        for (long ts = 0; ts <= maxt; ts += evalInterval) {
            List<String> evalErrs = new ArrayList<>();
            for (RuleGroup g : groups) {
                g.eval(ts, qe, writer, AlertSink.NONE, 60_000L);
                for (Rule r : g.rules()) {
                    if (!r.lastError().isEmpty()) {
                        evalErrs.add("    rule: " + r.name() + ", time: " + PromDuration.format(ts) + ", err: " + r.lastError());
                    }
                }
            }
            errs.addAll(evalErrs);
            if (!evalErrs.isEmpty()) {
                return errs;
            }
            while (curr < evalTimes.size() && ts <= evalTimes.get(curr) && evalTimes.get(curr) < ts + evalInterval) {
                long t = evalTimes.get(curr);
                Map<String, List<ExpAlert>> got = new HashMap<>();
                Set<String> present = new java.util.HashSet<>();
                for (AlertTest a : alertTests) {
                    if (a.evalTime() == t) {
                        present.add(a.alertname());
                    }
                }
                for (RuleGroup g : groups) {
                    for (Rule r : g.rules()) {
                        if (!(r instanceof AlertingRule ar) || !present.contains(ar.name())) {
                            continue;
                        }
                        List<ExpAlert> list = got.computeIfAbsent(ar.name(), k -> new ArrayList<>());
                        for (Alert a : ar.activeAlerts()) {
                            if (a.state() == AlertState.FIRING) {
                                list.add(new ExpAlert(a.labels(), a.annotations()));
                            }
                        }
                    }
                }
                for (AlertTest a : alertTests) {
                    if (a.evalTime() != t) {
                        continue;
                    }
                    List<ExpAlert> g = new ArrayList<>(got.getOrDefault(a.alertname(), List.of()));
                    g.sort(ALERT_ORDER);
                    if (!g.equals(a.expected())) {
                        errs.add(testName + "    alertname: " + a.alertname() + ", time: " + PromDuration.format(t) + ", \n        exp:"
                                + describe(a.expected()) + ", \n        got:" + describe(g));
                    }
                }
                curr++;
            }
        }

        for (ExprTest e : exprTests) {
            QueryEngine.InstantResult r;
            try {
                r = qe.query("test", e.expr(), e.evalTime());
            } catch (RuntimeException ex) {
                errs.add("    expr: \"" + e.expr() + "\", time: " + PromDuration.format(e.evalTime()) + ", err: " + ex.getMessage());
                continue;
            }
            List<Map.Entry<LabelSet, Double>> got = new ArrayList<>();
            switch (r) {
                case QueryEngine.Vector v -> v.samples().forEach(s -> got.add(Map.entry(s.labels(), s.value())));
                case QueryEngine.Scalar s -> got.add(Map.entry(LabelSet.EMPTY, s.value()));
            }
            List<Map.Entry<LabelSet, Double>> exp = new ArrayList<>();
            String bad = null;
            for (Map<?, ?> s : e.samples()) {
                String ls = s.get("labels") == null ? "" : String.valueOf(s.get("labels")).strip();
                try {
                    LabelSet l = ls.isEmpty() || ls.equals("{}") ? LabelSet.EMPTY : toLabelSet(Parser.parseSeries(ls));
                    exp.add(Map.entry(l, number(s.get("value"))));
                } catch (RuntimeException ex) {
                    bad = "labels \"" + ls + "\": " + ex.getMessage();
                    break;
                }
            }
            if (bad != null) {
                errs.add("    expr: \"" + e.expr() + "\", time: " + PromDuration.format(e.evalTime()) + ", err: " + bad);
                continue;
            }
            Comparator<Map.Entry<LabelSet, Double>> byLabels = Map.Entry.comparingByKey();
            got.sort(byLabels);
            exp.sort(byLabels);
            if (!samplesEqual(exp, got)) {
                errs.add("    expr: \"" + e.expr() + "\", time: " + PromDuration.format(e.evalTime()) + ",\n        exp: "
                        + describeSamples(exp) + "\n        got: " + describeSamples(got));
            }
        }
        return errs;
    }

    private static LabelSet toLabelSet(Labels l) {
        return LabelSet.of(l.toMap());
    }

    private static double number(Object v) {
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        String s = String.valueOf(v).strip();
        return switch (s.toLowerCase()) {
            case ".nan", "nan" -> Double.NaN;
            case ".inf", "+.inf", "inf", "+inf" -> Double.POSITIVE_INFINITY;
            case "-.inf", "-inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(s);
        };
    }

    private static boolean samplesEqual(List<Map.Entry<LabelSet, Double>> a, List<Map.Entry<LabelSet, Double>> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!a.get(i).getKey().equals(b.get(i).getKey())) {
                return false;
            }
            // reflect.DeepEqual on float64: ==, so NaN never matches (as in promtool 2.42)
            if (!(a.get(i).getValue().doubleValue() == b.get(i).getValue().doubleValue())) {
                return false;
            }
        }
        return true;
    }

    private static String describeSamples(List<Map.Entry<LabelSet, Double>> s) {
        if (s.isEmpty()) {
            return "nil";
        }
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<LabelSet, Double> e : s) {
            if (!sb.isEmpty()) {
                sb.append(", ");
            }
            sb.append(e.getKey()).append(' ').append(GoFormat.formatE(e.getValue(), -1).toUpperCase());
        }
        return sb.toString();
    }

    private static String describe(List<ExpAlert> alerts) {
        if (alerts.isEmpty()) {
            return "[]";
        }
        StringBuilder sb = new StringBuilder("[\n");
        for (int i = 0; i < alerts.size(); i++) {
            if (i > 0) {
                sb.append(",\n");
            }
            sb.append("            ").append(i).append(":\n              Labels:").append(alerts.get(i).labels())
                    .append("\n              Annotations:").append(alerts.get(i).annotations());
        }
        return sb.append("\n            ]").toString();
    }

    /** Command line: runs every file given, prints SUCCESS/FAILED like promtool, exits 1 on failure. */
    public static void main(String[] args) {
        boolean failed = false;
        for (String a : args) {
            System.out.println("Unit Testing:  " + a);
            Result r = run(Path.of(a));
            if (r.passed()) {
                System.out.println("  SUCCESS");
            } else {
                failed = true;
                System.err.println("  FAILED:");
                r.errors().forEach(System.err::println);
            }
            System.out.println();
        }
        System.exit(failed ? 1 : 0);
    }

}
