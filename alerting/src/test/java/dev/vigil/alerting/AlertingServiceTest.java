package dev.vigil.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vigil.common.config.Config;
import dev.vigil.common.config.ConfigException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** Wiring from config keys, as the query-api does it, with the shipped pack. */
class AlertingServiceTest {
    @Test
    void buildsFromConfigLoadsTheShippedPackPerTenantAndMountsRoutes(@TempDir Path tmp) throws Exception {
        Map<String, String> env = new HashMap<>();
        String rules = ShippedRulePackTest.RULES.toString();
        env.put("VIGIL_ALERTING_RULE_FILES", "*=" + rules + "/ml-health.yaml,*=" + rules + "/experiments.yaml,system=" + rules + "/pipeline.yaml");
        env.put("VIGIL_ALERTING_DATA_DIR", tmp.toString());
        env.put("VIGIL_ALERTING_NOTIFY_TARGETS", "am=alertmanager:http://127.0.0.1:9/,webhook:http://127.0.0.1:9/hook;tenants=acme");
        env.put("VIGIL_ALERTING_EXTERNAL_LABELS", "cluster=eu1");
        Config config = Config.load(AlertingConfig.DEF, env);
        Fixture fx = new Fixture(tmp, 1_800_000_000_000L);
        try (AlertingService s = AlertingService.create(config, fx.engine, fx.writer, () -> Set.of("acme", "beta"), fx.clock,
                new SimpleMeterRegistry())) {
            s.manager().load();
            assertThat(s.manager().groups("acme")).extracting(RuleGroup::name).containsExactly("vigil-ml-health", "vigil-experiments");
            // "*" includes the system tenant, which additionally gets the pipeline pack
            assertThat(s.manager().groups("system")).extracting(RuleGroup::name)
                    .containsExactly("vigil-ml-health", "vigil-experiments", "vigil-pipeline");
            assertThat(s.manager().groups("beta")).hasSize(2);
            assertThat(s.routes()).containsKeys("/api/v1/rules", "/api/v1/alerts", "/config/v1/rules", "/config/v1/rules/");
            assertThat(s.notifier().targets()).hasSize(2);
            assertThat(s.notifier().targets().get(1).accepts("beta")).isFalse();
            assertThat(s.manager().tick()).isEqualTo(7);
            try (var files = Files.list(tmp.resolve("state"))) {
                assertThat(files.count()).isEqualTo(7);
            }
        }
        env.put("VIGIL_ALERTING_NOTIFY_TARGETS", "pagerduty:http://x");
        assertThatThrownBy(() -> AlertingConfig.notifierFrom(Config.load(AlertingConfig.DEF, env)))
                .isInstanceOf(ConfigException.class).hasMessageContaining("alerting.notify.targets");
    }
}
