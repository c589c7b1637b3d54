package dev.vigil.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vigil.alerting.notify.Notifier;
import dev.vigil.alerting.notify.NotifierConfig;
import dev.vigil.alerting.notify.TargetConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** The tenant label of a sent alert is the rule's tenant, whatever the rule's own labels say. */
class TenantLabelTest {
    static final String SPOOF = """
            groups:
              - name: spoof
                interval: 1m
                rules:
                  - alert: JobDown
                    expr: job_up == 0
                    labels:
                      severity: critical
                      vigil_tenant: bob
            """;

    @Test
    void aRuleCannotSendAlertsAsAnotherTenant(@TempDir Path tmp) throws Exception {
        Fixture fx = new Fixture(tmp, RestartTest.T0);
        fx.series(RestartTest.UP, RestartTest.T0 - 10 * RestartTest.MIN, RestartTest.T0 + 30 * RestartTest.MIN, 0);
        var files = List.of(new AlertingConfig.FileSource("acme", fx.ruleFile("r.yaml", SPOOF)));
        try (RecordingHttpServer srv = new RecordingHttpServer().start()) {
            NotifierConfig ncfg = NotifierConfig.of(List.of(TargetConfig.alertmanager("am", srv.url("/am"))));
            try (Notifier n = new Notifier(ncfg, fx.clock, new SimpleMeterRegistry(), tmp.resolve("state.json"));
                 RuleManager m = fx.manager(n, files)) {
                m.tick();
                n.drain(5);
            }
            List<RecordingHttpServer.Post> am = srv.posts("/am/api/v2/alerts");
            assertThat(am).isNotEmpty();
            assertThat(am.get(0).body().get(0).get("labels").get("vigil_tenant").asText()).isEqualTo("acme");
        }
    }
}
