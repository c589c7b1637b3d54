package dev.vigil.query.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Runs dashboards/check.sh (JSON Schema from @grafana/schema's Dashboard type, validated with ajv)
 * and checks the query extraction the live end-to-end check relies on.
 */
class DashboardCheckTest {
    static boolean onPath(String exe) {
        try {
            Process p = new ProcessBuilder("sh", "-c", "command -v " + exe).redirectErrorStream(true).start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void dashboardsValidateAgainstTheGrafanaSchema() throws Exception {
        Assumptions.assumeTrue(onPath("npm") && onPath("node"),
                "SKIPPED: npm/node not on PATH, so dashboards/check.sh (Grafana schema validation) cannot run");
        Path dir = DashboardQueries.dashboardsDir();
        Process p = new ProcessBuilder("bash", dir.resolve("check.sh").toString()).redirectErrorStream(true).start();
        boolean done = p.waitFor(10, TimeUnit.MINUTES);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(done).as("check.sh finished").isTrue();
        assertThat(p.exitValue()).as("dashboards/check.sh output:\n" + out).isZero();
        assertThat(out).contains("ml-model-health.json: ok", "vigil-pipeline.json: ok", "experiment-guardrails.json: ok");
    }

    @Test
    void everyPanelHasAQueryAndVariablesAreSubstituted() throws Exception {
        List<DashboardQueries.Query> qs = DashboardQueries.load(DashboardQueries.dashboardsDir());
        assertThat(qs).extracting(DashboardQueries.Query::dashboard)
                .contains("ML model health", "Vigil pipeline", "Experiment guardrails");
        assertThat(qs).allSatisfy(q -> assertThat(q.expr()).doesNotContain("$"));
        assertThat(qs).extracting(DashboardQueries.Query::expr)
                .contains("vigil_model_drift_psi{model=~\".*\", version=~\".*\"}", "vigil_model_throughput");
        var one = DashboardQueries.load(DashboardQueries.dashboardsDir(), java.util.Map.of("model", "fraud"));
        assertThat(one).extracting(DashboardQueries.Query::expr).contains("vigil_model_error_rate{model=~\"fraud\", version=~\".*\"}");
    }
}
