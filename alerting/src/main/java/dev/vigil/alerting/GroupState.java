package dev.vigil.alerting;

import java.util.List;
import java.util.Map;

/**
 * The durable state of one rule group: when it was last evaluated and every alert instance
 * (pending, firing, or resolved and still retained) with its timers. Persisted after every
 * evaluation, restored on startup (the role ALERTS_FOR_STATE plays in Prometheus).
 */
public record GroupState(long lastEvaluation, List<AlertRecord> alerts) {
    public GroupState {
        alerts = List.copyOf(alerts);
    }

    /** One alert instance. Times in epoch ms; {@link Alert#NONE} (Long.MIN_VALUE) when unset. */
    public record AlertRecord(Map<String, String> labels, Map<String, String> annotations, String state, double value,
                              long activeAt, long firedAt, long resolvedAt, long lastSentAt, long validUntil,
                              long keepFiringSince) {
        static AlertRecord of(Alert a) {
            return new AlertRecord(a.labels.asMap(), a.annotations.asMap(), a.state.name(), a.value, a.activeAt, a.firedAt,
                    a.resolvedAt, a.lastSentAt, a.validUntil, a.keepFiringSince);
        }

        Alert toAlert() {
            Alert a = new Alert(LabelSet.of(labels), LabelSet.of(annotations), AlertState.valueOf(state), value, activeAt);
            a.firedAt = firedAt;
            a.resolvedAt = resolvedAt;
            a.lastSentAt = lastSentAt;
            a.validUntil = validUntil;
            a.keepFiringSince = keepFiringSince;
            return a;
        }
    }
}
