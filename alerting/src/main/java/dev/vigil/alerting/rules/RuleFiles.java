package dev.vigil.alerting.rules;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;

import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

import dev.vigil.alerting.template.AlertTemplate;
import dev.vigil.alerting.template.TemplateException;

/**
 * Reads and writes Prometheus rule files ({@code groups: [...]}) with the validation of
 * Prometheus' rulefmt: strict keys, record/alert exclusivity, metric and label name syntax,
 * durations, template syntax of labels and annotations, and (through {@code exprCheck}) PromQL
 * syntax.
 */
public final class RuleFiles {
    private static final Pattern METRIC_NAME = Pattern.compile("^[a-zA-Z_:][a-zA-Z0-9_:]*$");
    private static final Pattern LABEL_NAME = Pattern.compile("^[a-zA-Z_][a-zA-Z0-9_]*$");
    private static final Set<String> GROUP_KEYS = Set.of("name", "interval", "limit", "rules");
    private static final Set<String> RULE_KEYS = Set.of("record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations");

    private RuleFiles() {
    }

    /** Parses a whole rule file. {@code exprCheck} throws IllegalArgumentException for an invalid expression. */
    public static List<GroupDef> parseFile(String source, String yaml, Consumer<String> exprCheck) {
        Object root = load(source, yaml);
        List<String> errs = new ArrayList<>();
        List<GroupDef> out = new ArrayList<>();
        if (root == null) {
            return out;
        }
        if (!(root instanceof Map<?, ?> m)) {
            throw new RuleFileException(source, List.of("rule file must be a mapping with key 'groups'"));
        }
        for (Object k : m.keySet()) {
            if (!"groups".equals(k)) {
                errs.add("field " + k + " not found in type rulefmt.RuleGroups");
            }
        }
        Object groups = m.get("groups");
        if (groups != null && !(groups instanceof List<?>)) {
            errs.add("'groups' must be a list");
        } else if (groups != null) {
            Set<String> names = new HashSet<>();
            int gi = 0;
            for (Object g : (List<?>) groups) {
                gi++;
                GroupDef def = parseGroupObject(g, errs, "group " + gi, exprCheck);
                if (def != null) {
                    if (!names.add(def.name())) {
                        errs.add("groupname: \"" + def.name() + "\" is repeated in the same file");
                    }
                    out.add(def);
                }
            }
        }
        if (!errs.isEmpty()) {
            throw new RuleFileException(source, errs);
        }
        return out;
    }

    /** Parses one group (the body of the rule management API). */
    public static GroupDef parseGroup(String source, String yaml, Consumer<String> exprCheck) {
        Object root = load(source, yaml);
        List<String> errs = new ArrayList<>();
        GroupDef def = parseGroupObject(root, errs, "group", exprCheck);
        if (!errs.isEmpty() || def == null) {
            throw new RuleFileException(source, errs.isEmpty() ? List.of("empty group") : errs);
        }
        return def;
    }

    private static Object load(String source, String yaml) {
        try {
            LoaderOptions lo = new LoaderOptions();
            lo.setAllowDuplicateKeys(false);
            lo.setMaxAliasesForCollections(10);
            lo.setCodePointLimit(8 * 1024 * 1024);
            return new Yaml(new SafeConstructor(lo)).load(yaml);
        } catch (YAMLException e) {
            throw new RuleFileException(source, List.of("invalid YAML: " + e.getMessage().replace('\n', ' ')));
        }
    }

    private static String scalar(Object o) {
        if (o == null) {
            return null;
        }
        if (o instanceof Map || o instanceof List) {
            throw new IllegalArgumentException("expected a scalar");
        }
        return String.valueOf(o);
    }

    private static GroupDef parseGroupObject(Object g, List<String> errs, String where, Consumer<String> exprCheck) {
        if (!(g instanceof Map<?, ?> gm)) {
            errs.add(where + ": must be a mapping");
            return null;
        }
        for (Object k : gm.keySet()) {
            if (!GROUP_KEYS.contains(String.valueOf(k))) {
                errs.add(where + ": field " + k + " not found in type rulefmt.RuleGroup");
            }
        }
        String name;
        try {
            name = scalar(gm.get("name"));
        } catch (IllegalArgumentException e) {
            errs.add(where + ": name must be a string");
            return null;
        }
        if (name == null || name.isEmpty()) {
            errs.add(where + ": Groupname must not be empty");
            return null;
        }
        where = "group \"" + name + "\"";
        long interval = 0;
        if (gm.get("interval") != null) {
            try {
                interval = PromDuration.parseMillis(scalar(gm.get("interval")));
                if (interval <= 0) {
                    errs.add(where + ": interval must be greater than 0");
                }
            } catch (IllegalArgumentException e) {
                errs.add(where + ": interval: " + e.getMessage());
            }
        }
        int limit = 0;
        if (gm.get("limit") != null) {
            try {
                limit = Integer.parseInt(scalar(gm.get("limit")));
                if (limit < 0) {
                    errs.add(where + ": limit must not be negative");
                }
            } catch (RuntimeException e) {
                errs.add(where + ": limit must be an integer");
            }
        }
        List<RuleDef> rules = new ArrayList<>();
        Object rs = gm.get("rules");
        if (rs != null && !(rs instanceof List<?>)) {
            errs.add(where + ": rules must be a list");
        } else if (rs != null) {
            int ri = 0;
            for (Object r : (List<?>) rs) {
                ri++;
                RuleDef d = parseRule(r, errs, where + ", rule " + ri, exprCheck);
                if (d != null) {
                    rules.add(d);
                }
            }
        }
        return new GroupDef(name, interval, limit, rules);
    }

    private static Map<String, String> stringMap(Object o, List<String> errs, String where, String field) {
        Map<String, String> out = new LinkedHashMap<>();
        if (o == null) {
            return out;
        }
        if (!(o instanceof Map<?, ?> m)) {
            errs.add(where + ": " + field + " must be a mapping");
            return out;
        }
        m.forEach((k, v) -> {
            try {
                out.put(String.valueOf(k), v == null ? "" : scalar(v));
            } catch (IllegalArgumentException e) {
                errs.add(where + ": " + field + "." + k + " must be a string");
            }
        });
        return out;
    }

    private static RuleDef parseRule(Object r, List<String> errs, String where, Consumer<String> exprCheck) {
        if (!(r instanceof Map<?, ?> rm)) {
            errs.add(where + ": must be a mapping");
            return null;
        }
        int before = errs.size();
        for (Object k : rm.keySet()) {
            if (!RULE_KEYS.contains(String.valueOf(k))) {
                errs.add(where + ": field " + k + " not found in type rulefmt.Rule");
            }
        }
        String record;
        String alert;
        String expr;
        try {
            record = scalar(rm.get("record"));
            alert = scalar(rm.get("alert"));
            expr = scalar(rm.get("expr"));
        } catch (IllegalArgumentException e) {
            errs.add(where + ": record, alert and expr must be strings");
            return null;
        }
        if (record != null && alert != null) {
            errs.add(where + ": only one of 'record' and 'alert' must be set");
        }
        if ((record == null || record.isEmpty()) && (alert == null || alert.isEmpty())) {
            errs.add(where + ": one of 'record' or 'alert' must be set");
            return null;
        }
        String rname = alert != null ? alert : record;
        where = where + " (" + rname + ")";
        if (expr == null || expr.isBlank()) {
            errs.add(where + ": field 'expr' must be set in rule");
        } else {
            try {
                exprCheck.accept(expr);
            } catch (IllegalArgumentException e) {
                errs.add(where + ": could not parse expression: " + e.getMessage());
            }
        }
        Map<String, String> labels = stringMap(rm.get("labels"), errs, where, "labels");
        Map<String, String> annotations = stringMap(rm.get("annotations"), errs, where, "annotations");
        for (String k : labels.keySet()) {
            if (!LABEL_NAME.matcher(k).matches() || k.equals("__name__")) {
                errs.add(where + ": invalid label name: " + k);
            }
        }
        for (String k : annotations.keySet()) {
            if (!LABEL_NAME.matcher(k).matches()) {
                errs.add(where + ": invalid annotation name: " + k);
            }
        }
        long forMs = 0;
        long keepMs = 0;
        try {
            if (rm.get("for") != null) {
                forMs = PromDuration.parseMillis(scalar(rm.get("for")));
            }
        } catch (IllegalArgumentException e) {
            errs.add(where + ": for: " + e.getMessage());
        }
        try {
            if (rm.get("keep_firing_for") != null) {
                keepMs = PromDuration.parseMillis(scalar(rm.get("keep_firing_for")));
            }
        } catch (IllegalArgumentException e) {
            errs.add(where + ": keep_firing_for: " + e.getMessage());
        }
        if (record != null) {
            if (!annotations.isEmpty()) {
                errs.add(where + ": invalid field 'annotations' in recording rule");
            }
            if (rm.get("for") != null) {
                errs.add(where + ": invalid field 'for' in recording rule");
            }
            if (rm.get("keep_firing_for") != null) {
                errs.add(where + ": invalid field 'keep_firing_for' in recording rule");
            }
            if (!METRIC_NAME.matcher(record).matches()) {
                errs.add(where + ": invalid recording rule name: " + record);
            }
            if (errs.size() > before) {
                return null;
            }
            return new RecordingRuleDef(record, expr, labels);
        }
        for (Map.Entry<String, String> e : labels.entrySet()) {
            checkTemplate(alert, "label " + e.getKey(), e.getValue(), errs, where);
        }
        for (Map.Entry<String, String> e : annotations.entrySet()) {
            checkTemplate(alert, "annotation " + e.getKey(), e.getValue(), errs, where);
        }
        if (errs.size() > before) {
            return null;
        }
        return new AlertingRuleDef(alert, expr, forMs, keepMs, labels, annotations);
    }

    private static void checkTemplate(String alert, String what, String text, List<String> errs, String where) {
        try {
            AlertTemplate.parse("__alert_" + alert, text);
        } catch (TemplateException e) {
            errs.add(where + ": " + what + ": " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ writing

    /** The YAML structure of one group, in Prometheus' field order. */
    public static Map<String, Object> toMap(GroupDef g) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", g.name());
        if (g.intervalMillis() > 0) {
            m.put("interval", PromDuration.format(g.intervalMillis()));
        }
        if (g.limit() > 0) {
            m.put("limit", g.limit());
        }
        List<Object> rules = new ArrayList<>();
        for (RuleDef r : g.rules()) {
            Map<String, Object> rm = new LinkedHashMap<>();
            switch (r) {
                case AlertingRuleDef a -> {
                    rm.put("alert", a.alert());
                    rm.put("expr", a.expr());
                    if (a.forMillis() > 0) {
                        rm.put("for", PromDuration.format(a.forMillis()));
                    }
                    if (a.keepFiringForMillis() > 0) {
                        rm.put("keep_firing_for", PromDuration.format(a.keepFiringForMillis()));
                    }
                    if (!a.labels().isEmpty()) {
                        rm.put("labels", new LinkedHashMap<>(a.labels()));
                    }
                    if (!a.annotations().isEmpty()) {
                        rm.put("annotations", new LinkedHashMap<>(a.annotations()));
                    }
                }
                case RecordingRuleDef rr -> {
                    rm.put("record", rr.record());
                    rm.put("expr", rr.expr());
                    if (!rr.labels().isEmpty()) {
                        rm.put("labels", new LinkedHashMap<>(rr.labels()));
                    }
                }
            }
            rules.add(rm);
        }
        m.put("rules", rules);
        return m;
    }

    public static String toYaml(Object structure) {
        DumperOptions o = new DumperOptions();
        o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        o.setIndent(2);
        o.setIndicatorIndent(0);
        o.setWidth(160);
        o.setSplitLines(false);
        return new Yaml(o).dump(structure);
    }

    public static String groupToYaml(GroupDef g) {
        return toYaml(toMap(g));
    }
}
