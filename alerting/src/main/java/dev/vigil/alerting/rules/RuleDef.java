package dev.vigil.alerting.rules;

import java.util.Map;

/** One rule of a group, as written in a Prometheus rule file. */
public sealed interface RuleDef permits AlertingRuleDef, RecordingRuleDef {
    /** The alert name or the recorded metric name. */
    String name();

    String expr();

    /** Labels in file order. */
    Map<String, String> labels();
}
