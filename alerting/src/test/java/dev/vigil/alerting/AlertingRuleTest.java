package dev.vigil.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import dev.vigil.alerting.rules.AlertingRuleDef;

/** The Prometheus state machine with a scripted query engine (no PromQL involved). */
class AlertingRuleTest {
    static final long MIN = 60_000;

    /** Returns whatever vector the test put in {@code next}. */
    static final class Scripted implements QueryEngine {
        final AtomicReference<List<Element>> next = new AtomicReference<>(List.of());

        @Override
        public InstantResult query(String tenant, String expr, long t) {
            return new Vector(next.get());
        }
    }

    static QueryEngine.Element el(double v, String... labels) {
        return new QueryEngine.Element(LabelSet.of(labels), v);
    }

    static AlertingRule rule(long forMs, long keepMs) {
        return new AlertingRule(new AlertingRuleDef("HighLoad", "load > 1", forMs, keepMs, Map.of("severity", "page"),
                Map.of("summary", "load {{ $value }} on {{ $labels.host }}")), Map.of(), "");
    }

    static AlertState state(AlertingRule r) {
        return r.allAlerts().isEmpty() ? null : r.allAlerts().get(0).state();
    }

    @Test
    void pendingFiringKeepFiringResolvedAndRetention() {
        Scripted q = new Scripted();
        AlertingRule r = rule(2 * MIN, 3 * MIN);
        List<AlertState> states = new ArrayList<>();
        // active for 0..4m, absent from 5m
        for (int m = 0; m <= 25; m++) {
            q.next.set(m <= 4 ? List.of(el(2 + m, "__name__", "load", "host", "a")) : List.of());
            r.eval("t", m * MIN, q, 0);
            states.add(state(r));
        }
        // 0,1 pending; 2..4 firing; 5,6,7 kept firing (keep_firing_for counts from 5m); 8 resolved; kept 15m, gone at 24m
        assertThat(states.subList(0, 10)).containsExactly(AlertState.PENDING, AlertState.PENDING, AlertState.FIRING, AlertState.FIRING,
                AlertState.FIRING, AlertState.FIRING, AlertState.FIRING, AlertState.FIRING, AlertState.INACTIVE, AlertState.INACTIVE);
        assertThat(states.get(23)).isEqualTo(AlertState.INACTIVE);
        assertThat(states.get(24)).isNull();
        r.eval("t", 25 * MIN, q, 0);
    }

    /** What the rules API reports per rule: a failed evaluation sets health err and its error, the next good one clears them. */
    @Test
    void aFailedEvaluationIsTheRulesHealthUntilOneSucceeds() {
        Scripted q = new Scripted();
        RuleGroup g = new RuleGroup("t", "ns", new dev.vigil.alerting.rules.GroupDef("g", MIN, 0, List.of(
                new AlertingRuleDef("HighLoad", "load > 1", 0, 0, Map.of(), Map.of()),
                new dev.vigil.alerting.rules.RecordingRuleDef("load:max", "load", Map.of()))), MIN, Map.of(), "");
        Rule alerting = g.rules().get(0);
        Rule recording = g.rules().get(1);
        assertThat(alerting.health()).isEqualTo(Rule.RuleHealth.UNKNOWN);
        assertThat(alerting.lastEvaluation()).isEqualTo(Alert.NONE);

        // two series that differ only in their name: the same labelset once the rules drop or replace it
        q.next.set(List.of(el(2, "__name__", "load", "host", "a"), el(3, "__name__", "load2", "host", "a")));
        g.eval(MIN, q, (tenant, samples) -> { }, AlertSink.NONE, MIN);
        for (Rule r : List.of(alerting, recording)) {
            assertThat(r.health()).as(r.name()).isEqualTo(Rule.RuleHealth.ERR);
            assertThat(r.lastError()).as(r.name()).contains("same labelset");
            assertThat(r.lastEvaluation()).as(r.name()).isEqualTo(MIN);
            // what the API reads: the same evaluation's fields in one object
            RuleStatus.Snapshot s = r.status().snapshot();
            assertThat(s.health()).as(r.name()).isEqualTo(Rule.RuleHealth.ERR);
            assertThat(s.lastError()).as(r.name()).contains("same labelset");
            assertThat(s.lastEvaluation()).as(r.name()).isEqualTo(MIN);
        }

        q.next.set(List.of(el(2, "__name__", "load", "host", "a")));
        g.eval(2 * MIN, q, (tenant, samples) -> { }, AlertSink.NONE, MIN);
        for (Rule r : List.of(alerting, recording)) {
            assertThat(r.health()).as(r.name()).isEqualTo(Rule.RuleHealth.OK);
            assertThat(r.lastError()).as(r.name()).isEmpty();
            assertThat(r.lastEvaluation()).as(r.name()).isEqualTo(2 * MIN);
            assertThat(r.status().snapshot()).as(r.name())
                    .isEqualTo(new RuleStatus.Snapshot(Rule.RuleHealth.OK, "", 2 * MIN, r.evaluationNanos()));
        }
    }

    @Test
    void labelsAnnotationsAndSending() {
        Scripted q = new Scripted();
        AlertingRule r = rule(0, 0);
        q.next.set(List.of(el(2.5, "__name__", "load", "host", "a")));
        List<SeriesWriter.Sample> out = r.eval("t", 0, q, 0);
        Alert a = r.activeAlerts().get(0);
        assertThat(a.state()).as("for 0 fires at once").isEqualTo(AlertState.FIRING);
        assertThat(a.labels().asMap()).isEqualTo(Map.of("alertname", "HighLoad", "host", "a", "severity", "page"));
        assertThat(a.annotations().get("summary")).isEqualTo("load 2.5 on a");
        assertThat(out).extracting(s -> s.labels().get("__name__")).containsExactly("ALERTS", "ALERTS_FOR_STATE");
        assertThat(out.get(0).labels().get("alertstate")).isEqualTo("firing");

        assertThat(r.alertsToSend(0, MIN, MIN)).hasSize(1);
        assertThat(r.alertsToSend(30_000, MIN, MIN)).as("within the resend delay").isEmpty();
        assertThat(r.alertsToSend(61_000, MIN, MIN)).hasSize(1);
        q.next.set(List.of());
        r.eval("t", 90_000, q, 0);
        List<Alert> resolved = r.alertsToSend(90_000, MIN, MIN);
        assertThat(resolved).singleElement().satisfies(x -> assertThat(x.resolvedAt()).isEqualTo(90_000));
        assertThat(r.alertsToSend(100_000, MIN, MIN)).isEmpty();
    }

    @Test
    void duplicateLabelSetsAndLimitAreErrors() {
        Scripted q = new Scripted();
        AlertingRule r = rule(0, 0);
        q.next.set(List.of(el(1, "__name__", "load", "host", "a"), el(2, "__name__", "load2", "host", "a")));
        assertThatThrownBy(() -> r.eval("t", 0, q, 0)).hasMessageContaining("same labelset after applying alert labels");
        q.next.set(List.of(el(1, "host", "a"), el(2, "host", "b")));
        assertThatThrownBy(() -> r.eval("t", 0, q, 1)).hasMessageContaining("exceeded limit of 1 with 2 alerts");
        assertThat(r.allAlerts()).isEmpty();
    }

    @Test
    void pendingAlertThatStopsIsDroppedAndRestartsFromZero() {
        Scripted q = new Scripted();
        AlertingRule r = rule(5 * MIN, 0);
        q.next.set(List.of(el(3, "host", "a")));
        r.eval("t", 0, q, 0);
        r.eval("t", MIN, q, 0);
        q.next.set(List.of());
        r.eval("t", 2 * MIN, q, 0);
        assertThat(r.allAlerts()).isEmpty();
        q.next.set(List.of(el(3, "host", "a")));
        r.eval("t", 3 * MIN, q, 0);
        assertThat(r.activeAlerts().get(0).activeAt()).isEqualTo(3 * MIN);
    }
}
