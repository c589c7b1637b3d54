package dev.vigil.alerting.rules;

import java.util.List;

/**
 * A rule group: name, evaluation interval (0 = the manager's default), limit (0 = none) and
 * rules, evaluated in order.
 */
public record GroupDef(String name, long intervalMillis, int limit, List<RuleDef> rules) {
    public GroupDef {
        rules = List.copyOf(rules);
    }
}
