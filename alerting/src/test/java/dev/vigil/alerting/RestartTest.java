package dev.vigil.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vigil.alerting.notify.Notifier;
import dev.vigil.alerting.notify.NotifierConfig;
import dev.vigil.alerting.notify.TargetConfig;
import dev.vigil.promql.Labels;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** A restart during a pending and during a firing alert keeps the right state (and pages once). */
class RestartTest {
    static final long T0 = 1_800_000_000_000L;
    static final long MIN = 60_000L;
    static final Labels UP = Labels.of("__name__", "job_up", "job", "api");
    static final String RULES = """
            groups:
              - name: availability
                interval: 1m
                rules:
                  - alert: JobDown
                    expr: job_up == 0
                    for: %s
                    labels:
                      severity: critical
                    annotations:
                      summary: '{{ $labels.job }} is down'
            """;

    @Test
    void restartDuringPendingKeepsTheServedPendingTime(@TempDir Path tmp) throws Exception {
        Fixture fx = new Fixture(tmp, T0);
        fx.series(UP, T0 - 10 * MIN, T0 + 60 * MIN, 0);
        var files = List.of(new AlertingConfig.FileSource("acme", fx.ruleFile("r.yaml", RULES.formatted("10m"))));
        long activeAt;
        try (RuleManager m = fx.manager(AlertSink.NONE, files)) {
            for (int i = 0; i < 5; i++) { // evaluations at a0 .. a0+4m
                m.tick();
                fx.clock.advance(MIN);
            }
            Alert a = Fixture.only(m, "acme");
            assertThat(a.state()).isEqualTo(AlertState.PENDING);
            activeAt = a.activeAt();
        }
        fx.clock.advance(2 * MIN); // down from a0+4m; next evaluation at a0+7m
        try (RuleManager m = fx.manager(AlertSink.NONE, files)) {
            Alert restored = Fixture.only(m, "acme");
            assertThat(restored.state()).isEqualTo(AlertState.PENDING);
            assertThat(restored.activeAt()).as("moved forward by the 3m between evaluations").isEqualTo(activeAt + 3 * MIN);
            // 4m served before the restart: 6 more minutes, i.e. firing at the 7th evaluation (a0+13m), not at a0+17m
            List<AlertState> states = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                m.tick();
                states.add(Fixture.only(m, "acme").state());
                fx.clock.advance(MIN);
            }
            assertThat(states).containsExactly(AlertState.PENDING, AlertState.PENDING, AlertState.PENDING, AlertState.PENDING,
                    AlertState.PENDING, AlertState.PENDING, AlertState.FIRING);
            assertThat(Fixture.only(m, "acme").firedAt()).isEqualTo(activeAt + 13 * MIN);
        }
    }

    @Test
    void stateOlderThanTheOutageToleranceIsNotRestored(@TempDir Path tmp) throws Exception {
        Fixture fx = new Fixture(tmp, T0);
        fx.series(UP, T0 - 10 * MIN, T0 + 200 * MIN, 0);
        var files = List.of(new AlertingConfig.FileSource("acme", fx.ruleFile("r.yaml", RULES.formatted("10m"))));
        try (RuleManager m = fx.manager(AlertSink.NONE, files)) {
            for (int i = 0; i < 5; i++) {
                m.tick();
                fx.clock.advance(MIN);
            }
        }
        fx.clock.advance(2 * 60 * MIN);
        try (RuleManager m = fx.manager(AlertSink.NONE, files)) {
            assertThat(m.alerts("acme")).isEmpty();
            m.tick();
            Alert a = Fixture.only(m, "acme");
            assertThat(a.state()).isEqualTo(AlertState.PENDING);
            assertThat(a.activeAt()).isGreaterThan(fx.clock.millis() - MIN);
        }
    }

    @Test
    void restartDuringFiringKeepsFiringPagesOnceAndResolves(@TempDir Path tmp) throws Exception {
        Fixture fx = new Fixture(tmp, T0);
        fx.series(UP, T0 - 10 * MIN, T0 + 30 * MIN, 0);
        fx.series(UP, T0 + 30 * MIN, T0 + 60 * MIN, 1);
        var files = List.of(new AlertingConfig.FileSource("acme", fx.ruleFile("r.yaml", RULES.formatted("2m"))));
        Path notifierState = tmp.resolve("notifier-state.json");
        try (RecordingHttpServer srv = new RecordingHttpServer().start()) {
            NotifierConfig ncfg = NotifierConfig.of(List.of(
                    TargetConfig.webhook("hook", srv.url("/hook")), TargetConfig.alertmanager("am", srv.url("/am"))));
            long firedAt;
            long activeAt;
            try (Notifier n = new Notifier(ncfg, fx.clock, new SimpleMeterRegistry(), notifierState);
                 RuleManager m = fx.manager(n, files)) {
                for (int i = 0; i < 5; i++) { // a0 .. a0+4m: pending, firing from a0+2m
                    m.tick();
                    n.drain(5);
                    fx.clock.advance(MIN);
                }
                Alert a = Fixture.only(m, "acme");
                assertThat(a.state()).isEqualTo(AlertState.FIRING);
                firedAt = a.firedAt();
                activeAt = a.activeAt();
                assertThat(srv.posts("/hook")).hasSize(1);
            }
            fx.clock.advance(2 * MIN);
            try (Notifier n = new Notifier(ncfg, fx.clock, new SimpleMeterRegistry(), notifierState);
                 RuleManager m = fx.manager(n, files)) {
                Alert restored = Fixture.only(m, "acme");
                assertThat(restored.state()).as("firing right after the restart, before any evaluation").isEqualTo(AlertState.FIRING);
                assertThat(restored.activeAt()).isEqualTo(activeAt);
                assertThat(restored.firedAt()).isEqualTo(firedAt);
                while (fx.clock.millis() < T0 + 35 * MIN) {
                    m.tick();
                    n.drain(5);
                    fx.clock.advance(MIN);
                }
                assertThat(m.alerts("acme")).isEmpty();
            }
            List<RecordingHttpServer.Post> hook = srv.posts("/hook");
            assertThat(hook).extracting(p -> p.body().get("status").asText()).containsExactly("firing", "resolved");
            assertThat(hook.get(1).body().get("alerts").get(0).get("startsAt").asText()).isEqualTo(Times.rfc3339(firedAt));
            // Alertmanager got Prometheus' re-sends (every minute while firing) and the resolution
            List<RecordingHttpServer.Post> am = srv.posts("/am/api/v2/alerts");
            assertThat(am.size()).isGreaterThan(10);
            var last = am.get(am.size() - 1).body().get(0);
            assertThat(java.time.Instant.parse(last.get("endsAt").asText()).toEpochMilli()).isLessThanOrEqualTo(fx.clock.millis());
            assertThat(last.get("labels").get("vigil_tenant").asText()).isEqualTo("acme");
        }
    }
}
