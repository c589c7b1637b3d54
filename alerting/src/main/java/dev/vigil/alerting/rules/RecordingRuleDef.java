package dev.vigil.alerting.rules;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** A recording rule: record, expr, labels. */
public record RecordingRuleDef(String record, String expr, Map<String, String> labels) implements RuleDef {
    public RecordingRuleDef {
        labels = Collections.unmodifiableMap(new LinkedHashMap<>(labels));
    }

    @Override
    public String name() {
        return record;
    }
}
