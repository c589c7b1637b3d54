package dev.vigil.alerting;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.alerting.rules.AlertingRuleDef;
import dev.vigil.alerting.rules.RuleDef;
import dev.vigil.alerting.template.AlertTemplate;
import dev.vigil.alerting.template.TemplateException;

/**
 * An alerting rule with the state machine of Prometheus' rules/alerting.go (v2.42): a new
 * result becomes pending, fires once it has been active for {@code for}, stays firing for
 * {@code keep_firing_for} after the condition stops being met, and is then resolved (kept 15
 * minutes as inactive so the resolution is re-sent to Alertmanager).
 */
public final class AlertingRule implements Rule {
    private static final Logger log = LoggerFactory.getLogger(AlertingRule.class);
    /** How long a resolved alert is kept (and re-sent), Prometheus' resolvedRetention. */
    public static final long RESOLVED_RETENTION_MS = 15 * 60_000L;
    public static final String ALERTS_METRIC = "ALERTS";
    public static final String ALERTS_FOR_STATE_METRIC = "ALERTS_FOR_STATE";

    private final AlertingRuleDef def;
    private final Map<String, AlertTemplate> labelTemplates = new LinkedHashMap<>();
    private final Map<String, AlertTemplate> annotationTemplates = new LinkedHashMap<>();
    private final Map<String, String> externalLabels;
    private final String externalURL;
    private final Map<LabelSet, Alert> active = new LinkedHashMap<>();
    private final RuleStatus status = new RuleStatus();

    public AlertingRule(AlertingRuleDef def, Map<String, String> externalLabels, String externalURL) {
        this.def = def;
        this.externalLabels = Map.copyOf(externalLabels);
        this.externalURL = externalURL == null ? "" : externalURL;
        def.labels().forEach((k, v) -> labelTemplates.put(k, AlertTemplate.parse("__alert_" + def.alert(), v)));
        def.annotations().forEach((k, v) -> annotationTemplates.put(k, AlertTemplate.parse("__alert_" + def.alert(), v)));
    }

    @Override
    public String name() {
        return def.alert();
    }

    @Override
    public AlertingRuleDef def() {
        return def;
    }

    static List<QueryEngine.Element> asVector(QueryEngine.InstantResult r) {
        return switch (r) {
            case QueryEngine.Vector v -> v.samples();
            case QueryEngine.Scalar s -> List.of(new QueryEngine.Element(LabelSet.EMPTY, s.value()));
        };
    }

    private String expand(AlertTemplate t, AlertTemplate.Data data) {
        if (t.isPlain()) {
            return t.text();
        }
        try {
            return t.expand(data);
        } catch (TemplateException | ArithmeticException | IllegalArgumentException e) {
            log.warn("template expansion failed alert={} error={}", def.alert(), e.getMessage());
            return "<error expanding template: error executing template __alert_" + def.alert() + ": " + e.getMessage() + ">";
        }
    }

    @Override
    public List<SeriesWriter.Sample> eval(String tenant, long ts, QueryEngine engine, int limit) {
        List<QueryEngine.Element> vector = asVector(engine.query(tenant, def.expr(), ts));
        Map<LabelSet, Alert> results = new LinkedHashMap<>();
        for (QueryEngine.Element smpl : vector) {
            AlertTemplate.Data data = new AlertTemplate.Data(smpl.labels().asMap(), externalLabels, externalURL, smpl.value());
            LabelSet.Builder lb = smpl.labels().toBuilder().del(LabelSet.METRIC_NAME);
            labelTemplates.forEach((k, t) -> lb.set(k, expand(t, data)));
            lb.set(LabelSet.ALERT_NAME, def.alert());
            LabelSet.Builder ab = new LabelSet.Builder();
            annotationTemplates.forEach((k, t) -> ab.set(k, expand(t, data)));
            LabelSet lbs = lb.build();
            if (results.containsKey(lbs)) {
                // RuleGroup.eval records the error (health err, lastError) for the rule
                throw new RuleEvalException("vector contains metrics with the same labelset after applying alert labels");
            }
            results.put(lbs, new Alert(lbs, ab.build(), AlertState.PENDING, smpl.value(), ts));
        }
        synchronized (this) {
            for (Map.Entry<LabelSet, Alert> e : results.entrySet()) {
                Alert existing = active.get(e.getKey());
                if (existing != null && existing.state != AlertState.INACTIVE) {
                    existing.value = e.getValue().value;
                    existing.annotations = e.getValue().annotations;
                    continue;
                }
                active.put(e.getKey(), e.getValue());
            }
            int numActivePending = 0;
            List<SeriesWriter.Sample> out = new ArrayList<>();
            var it = active.entrySet().iterator();
            while (it.hasNext()) {
                var entry = it.next();
                Alert a = entry.getValue();
                if (!results.containsKey(entry.getKey())) {
                    boolean keepFiring = false;
                    if (a.state == AlertState.FIRING && def.keepFiringForMillis() > 0) {
                        if (a.keepFiringSince == Alert.NONE) {
                            a.keepFiringSince = ts;
                        }
                        if (ts - a.keepFiringSince < def.keepFiringForMillis()) {
                            keepFiring = true;
                        }
                    }
                    if (a.state == AlertState.PENDING || (a.resolvedAt != Alert.NONE && ts - a.resolvedAt > RESOLVED_RETENTION_MS)) {
                        it.remove();
                    }
                    if (a.state != AlertState.INACTIVE && !keepFiring) {
                        a.state = AlertState.INACTIVE;
                        a.resolvedAt = ts;
                    }
                    if (!keepFiring) {
                        continue;
                    }
                } else {
                    a.keepFiringSince = Alert.NONE;
                }
                numActivePending++;
                if (a.state == AlertState.PENDING && ts - a.activeAt >= def.forMillis()) {
                    a.state = AlertState.FIRING;
                    a.firedAt = ts;
                }
                out.add(alertsSample(a, ts));
                out.add(forStateSample(a, ts));
            }
            if (limit > 0 && numActivePending > limit) {
                active.clear();
                throw new RuleEvalException("exceeded limit of " + limit + " with " + numActivePending + " alerts");
            }
            return out;
        }
    }

    private SeriesWriter.Sample alertsSample(Alert a, long ts) {
        LabelSet ls = a.labels.toBuilder().set(LabelSet.METRIC_NAME, ALERTS_METRIC).set("alertstate", a.state.apiName()).build();
        return new SeriesWriter.Sample(ls, ts, 1);
    }

    private SeriesWriter.Sample forStateSample(Alert a, long ts) {
        LabelSet ls = a.labels.toBuilder().set(LabelSet.METRIC_NAME, ALERTS_FOR_STATE_METRIC).build();
        return new SeriesWriter.Sample(ls, ts, Math.floorDiv(a.activeAt, 1000L));
    }

    /** Alerts that need to be sent at {@code ts}; marks them sent (Prometheus' sendAlerts). */
    synchronized List<Alert> alertsToSend(long ts, long resendDelay, long interval) {
        List<Alert> out = new ArrayList<>();
        for (Alert a : active.values()) {
            if (a.needsSending(ts, resendDelay)) {
                a.lastSentAt = ts;
                long delta = Math.max(resendDelay, interval);
                a.validUntil = ts + 4 * delta;
                out.add(a.copy());
            }
        }
        return out;
    }

    /** Pending and firing alerts (Prometheus' ActiveAlerts: not resolved). Copies. */
    public synchronized List<Alert> activeAlerts() {
        List<Alert> out = new ArrayList<>();
        for (Alert a : active.values()) {
            if (a.resolvedAt == Alert.NONE) {
                out.add(a.copy());
            }
        }
        return out;
    }

    /** Every alert instance, including resolved ones still retained. Copies. */
    public synchronized List<Alert> allAlerts() {
        List<Alert> out = new ArrayList<>();
        for (Alert a : active.values()) {
            out.add(a.copy());
        }
        return out;
    }

    /** The highest state among the alerts. */
    public synchronized AlertState state() {
        AlertState max = AlertState.INACTIVE;
        for (Alert a : active.values()) {
            if (a.state.ordinal() > max.ordinal()) {
                max = a.state;
            }
        }
        return max;
    }

    /** Replaces the alert state (restoration after a restart, or state carried over on reload). */
    synchronized void restore(Collection<Alert> alerts) {
        active.clear();
        for (Alert a : alerts) {
            active.put(a.labels, a.copy());
        }
    }

    /** True if a persisted alert with these labels belongs to this rule: same name and static labels. */
    boolean owns(LabelSet alertLabels) {
        if (!alertLabels.get(LabelSet.ALERT_NAME).equals(def.alert())) {
            return false;
        }
        for (Map.Entry<String, AlertTemplate> e : labelTemplates.entrySet()) {
            if (e.getValue().isPlain() && !alertLabels.get(e.getKey()).equals(e.getValue().text())) {
                return false;
            }
        }
        return true;
    }

    @Override
    public RuleStatus status() {
        return status;
    }

    static Map<LabelSet, Alert> index(Collection<Alert> alerts) {
        Map<LabelSet, Alert> m = new HashMap<>();
        for (Alert a : alerts) {
            m.put(a.labels, a);
        }
        return m;
    }
}
