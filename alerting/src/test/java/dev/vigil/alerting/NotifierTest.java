package dev.vigil.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import dev.vigil.alerting.notify.AlertNotification;
import dev.vigil.alerting.notify.Notifier;
import dev.vigil.alerting.notify.NotifierConfig;
import dev.vigil.alerting.notify.TargetConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

class NotifierTest {
    static final long T0 = 1_800_000_000_000L;

    static AlertNotification firing(long startsAt, long validUntil) {
        return new AlertNotification("acme", Map.of("alertname", "Down", "job", "api", "vigil_tenant", "acme"),
                Map.of("summary", "api is down"), startsAt, validUntil, false, "http://vigil/graph?g0.expr=up&g0.tab=1");
    }

    static AlertNotification resolved(long startsAt, long endsAt) {
        return new AlertNotification("acme", Map.of("alertname", "Down", "job", "api", "vigil_tenant", "acme"),
                Map.of("summary", "api is down"), startsAt, endsAt, true, "http://vigil/graph?g0.expr=up&g0.tab=1");
    }

    @Test
    void targetsThatAreDownReceiveTheAlertOnceTheyAreBack(@TempDir Path tmp) throws Exception {
        int port = RecordingHttpServer.freePort();
        MutableClock clock = new MutableClock(T0);
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        NotifierConfig cfg = NotifierConfig.of(List.of(
                TargetConfig.alertmanager("am", "http://127.0.0.1:" + port + "/am"),
                TargetConfig.webhook("hook", "http://127.0.0.1:" + port + "/hook")))
                .withBackoff(Duration.ofSeconds(1), Duration.ofSeconds(8));
        try (Notifier n = new Notifier(cfg, clock, reg, tmp.resolve("notifier.json"));
             RecordingHttpServer srv = new RecordingHttpServer()) {
            n.submit(List.of(firing(T0, T0 + 240_000)));
            assertThat(n.deliverDue()).isZero();
            assertThat(n.status()).allSatisfy(s -> {
                assertThat(s.failedRequests()).isEqualTo(1);
                assertThat(s.queued()).isEqualTo(1);
                assertThat(s.lastError()).isNotEmpty();
            });
            assertThat(reg.get("vigil.alerting.notifications.failed").tag("target", "am").counter().count()).isEqualTo(1.0);

            // the evaluator re-sends a minute later: Alertmanager keeps only the latest, the webhook suppresses it
            clock.advance(500);
            n.submit(List.of(firing(T0, T0 + 300_000)));
            assertThat(n.status()).allSatisfy(s -> assertThat(s.queued()).isEqualTo(1));
            assertThat(n.deliverDue()).as("still backing off").isZero();
            assertThat(n.status()).allSatisfy(s -> assertThat(s.failedRequests()).isEqualTo(1));

            srv.start(port);
            clock.advance(600);
            assertThat(n.deliverDue()).isEqualTo(2);
            assertThat(n.deliverDue()).isZero();
            assertThat(srv.posts("/am/api/v2/alerts")).hasSize(1);
            JsonNode am = srv.posts("/am/api/v2/alerts").get(0).body();
            assertThat(am.isArray()).isTrue();
            assertThat(am).hasSize(1);
            assertThat(am.get(0).get("labels").get("alertname").asText()).isEqualTo("Down");
            assertThat(am.get(0).get("startsAt").asText()).isEqualTo(Times.rfc3339(T0));
            assertThat(am.get(0).get("endsAt").asText()).as("the latest state").isEqualTo(Times.rfc3339(T0 + 300_000));
            assertThat(am.get(0).get("generatorURL").asText()).contains("g0.expr=up");
            List<RecordingHttpServer.Post> hook = srv.posts("/hook");
            assertThat(hook).hasSize(1);
            assertThat(hook.get(0).body().get("status").asText()).isEqualTo("firing");
            assertThat(hook.get(0).body().get("alerts")).hasSize(1);
            assertThat(hook.get(0).body().get("alerts").get(0).get("fingerprint").asText()).hasSize(16);

            // resend while firing: Alertmanager gets it again, the webhook does not (no duplicate page)
            clock.advance(60_000);
            n.submit(List.of(firing(T0, T0 + 360_000)));
            n.drain(5);
            assertThat(srv.posts("/am/api/v2/alerts")).hasSize(2);
            assertThat(srv.posts("/hook")).hasSize(1);

            // resolution: both get it, with the end time
            clock.advance(60_000);
            n.submit(List.of(resolved(T0, T0 + 170_000)));
            n.drain(5);
            assertThat(srv.posts("/am/api/v2/alerts")).hasSize(3);
            assertThat(srv.posts("/am/api/v2/alerts").get(2).body().get(0).get("endsAt").asText()).isEqualTo(Times.rfc3339(T0 + 170_000));
            assertThat(srv.posts("/hook")).hasSize(2);
            assertThat(srv.posts("/hook").get(1).body().get("status").asText()).isEqualTo("resolved");
            // a re-sent resolution does not page the webhook again
            n.submit(List.of(resolved(T0, T0 + 170_000)));
            n.drain(5);
            assertThat(srv.posts("/hook")).hasSize(2);
            assertThat(reg.get("vigil.alerting.notifications.sent").tag("target", "hook").counter().count()).isEqualTo(2.0);
            assertThat(reg.get("vigil.alerting.notifications.duplicates.suppressed").tag("target", "hook").counter().count())
                    .isEqualTo(3.0);
        }
    }

    @Test
    void backoffDoublesAndRejectionsAreDroppedAndCounted() throws Exception {
        int port = RecordingHttpServer.freePort();
        MutableClock clock = new MutableClock(T0);
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        NotifierConfig cfg = NotifierConfig.of(List.of(TargetConfig.alertmanager("am", "http://127.0.0.1:" + port)))
                .withBackoff(Duration.ofSeconds(1), Duration.ofSeconds(4));
        try (Notifier n = new Notifier(cfg, clock, reg, null); RecordingHttpServer srv = new RecordingHttpServer()) {
            n.submit(List.of(firing(T0, T0 + 240_000)));
            long[] waits = new long[4];
            for (int i = 0; i < 4; i++) {
                n.deliverDue();
                long next = java.time.Instant.parse(n.status().get(0).nextAttempt()).toEpochMilli();
                waits[i] = next - clock.millis();
                clock.set(next);
            }
            assertThat(waits).containsExactly(1000, 2000, 4000, 4000);
            srv.status = 400;
            srv.start(port);
            n.deliverDue();
            assertThat(srv.posts).hasSize(1);
            assertThat(n.status().get(0).dropped()).isEqualTo(1);
            assertThat(n.status().get(0).queued()).isZero();
            assertThat(reg.get("vigil.alerting.notifications.dropped").tag("reason", "rejected").counter().count()).isEqualTo(1.0);
        }
    }

    @Test
    void queuedNotificationsAndDedupKeysSurviveARestart(@TempDir Path tmp) throws Exception {
        int port = RecordingHttpServer.freePort();
        MutableClock clock = new MutableClock(T0);
        NotifierConfig cfg = NotifierConfig.of(List.of(TargetConfig.webhook("hook", "http://127.0.0.1:" + port + "/hook")));
        Path state = tmp.resolve("notifier.json");
        try (Notifier n = new Notifier(cfg, clock, new SimpleMeterRegistry(), state)) {
            n.submit(List.of(firing(T0, T0 + 240_000)));
            n.deliverDue();
            assertThat(n.status().get(0).queued()).isEqualTo(1);
        }
        try (Notifier n = new Notifier(cfg, clock, new SimpleMeterRegistry(), state); RecordingHttpServer srv = new RecordingHttpServer()) {
            assertThat(n.status().get(0).queued()).isEqualTo(1);
            n.submit(List.of(firing(T0, T0 + 300_000))); // a re-send after restart is not a new page
            assertThat(n.status().get(0).queued()).isEqualTo(1);
            srv.start(port);
            clock.advance(5_000);
            n.drain(3);
            assertThat(srv.posts("/hook")).hasSize(1);
        }
    }
}
