package dev.vigil.alerting.rules;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** An alerting rule: alert, expr, for, keep_firing_for, labels, annotations (durations in ms). */
public record AlertingRuleDef(String alert, String expr, long forMillis, long keepFiringForMillis,
                              Map<String, String> labels, Map<String, String> annotations) implements RuleDef {
    public AlertingRuleDef {
        labels = Collections.unmodifiableMap(new LinkedHashMap<>(labels));
        annotations = Collections.unmodifiableMap(new LinkedHashMap<>(annotations));
    }

    @Override
    public String name() {
        return alert;
    }
}
