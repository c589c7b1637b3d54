package dev.vigil.alerting;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.vigil.alerting.rules.RecordingRuleDef;
import dev.vigil.alerting.rules.RuleDef;

/** A recording rule (Prometheus rules/recording.go): the result renamed to the record name plus labels. */
public final class RecordingRule implements Rule {
    private final RecordingRuleDef def;
    private final RuleStatus status = new RuleStatus();

    public RecordingRule(RecordingRuleDef def) {
        this.def = def;
    }

    @Override
    public String name() {
        return def.record();
    }

    @Override
    public RuleDef def() {
        return def;
    }

    @Override
    public List<SeriesWriter.Sample> eval(String tenant, long ts, QueryEngine engine, int limit) {
        List<QueryEngine.Element> vector = AlertingRule.asVector(engine.query(tenant, def.expr(), ts));
        List<SeriesWriter.Sample> out = new ArrayList<>(vector.size());
        Set<LabelSet> seen = new HashSet<>();
        for (QueryEngine.Element e : vector) {
            LabelSet.Builder b = e.labels().toBuilder().set(LabelSet.METRIC_NAME, def.record());
            for (Map.Entry<String, String> l : def.labels().entrySet()) {
                b.set(l.getKey(), l.getValue());
            }
            LabelSet ls = b.build();
            if (!seen.add(ls)) {
                throw new RuleEvalException("vector contains metrics with the same labelset after applying rule labels");
            }
            out.add(new SeriesWriter.Sample(ls, ts, e.value()));
        }
        if (limit > 0 && out.size() > limit) {
            throw new RuleEvalException("exceeded limit of " + limit + " with " + out.size() + " series");
        }
        return out;
    }

    @Override
    public RuleStatus status() {
        return status;
    }
}
