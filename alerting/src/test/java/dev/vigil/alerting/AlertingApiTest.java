package dev.vigil.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.vigil.alerting.api.AlertingApi;
import dev.vigil.alerting.api.TenantRoute;
import dev.vigil.common.auth.ApiKeys;
import dev.vigil.common.http.SimpleHttpServer;
import dev.vigil.promql.Labels;

/** The HTTP API through a real server: Prometheus' rules/alerts format and the versioned rule management API. */
class AlertingApiTest {
    static final long T0 = 1_800_000_000_000L;
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;
    Fixture fx;
    RuleManager manager;
    SimpleHttpServer server;
    final HttpClient http = HttpClient.newHttpClient();

    static final String GROUP = """
            name: api-health
            interval: 30s
            rules:
              - record: job:errors:rate1m
                expr: sum by (job) (rate(http_errors_total[1m]))
              - alert: ApiErrors
                expr: job:errors:rate1m > 1
                labels:
                  severity: page
                annotations:
                  summary: '{{ $labels.job }} errors at {{ $value | humanize }}/s'
            """;

    @BeforeEach
    void setUp() throws Exception {
        fx = new Fixture(tmp, T0);
        var a = fx.storage.appender();
        for (long t = T0 - 600_000, v = 0; t < T0 + 600_000; t += 15_000, v += 60) {
            a.append(Labels.of("__name__", "http_errors_total", "job", "api"), t, v); // 4/s
        }
        a.commit();
        var files = List.of(new AlertingConfig.FileSource("acme",
                fx.ruleFile("shipped.yaml", "groups:\n  - name: shipped\n    rules:\n      - alert: Always\n        expr: vector(1)\n")));
        manager = fx.manager(AlertSink.NONE, files);
        server = new AlertingApi(manager, null).mount(new SimpleHttpServer(1 << 20, 2),
                TenantRoute.bearer(ApiKeys.parse(List.of("acme:key-a", "other:key-o")))).start("127.0.0.1", 0);
    }

    @AfterEach
    void tearDown() {
        server.close();
        manager.close();
    }

    HttpResponse<String> call(String method, String path, String key, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void ruleGroupsAreStoredWithVersionsAppliedAndDeleted() throws Exception {
        assertThat(call("GET", "/config/v1/rules", null, null).statusCode()).isEqualTo(401);
        assertThat(call("POST", "/config/v1/rules/team-a", "key-a", GROUP).statusCode()).isEqualTo(202);
        HttpResponse<String> g = call("GET", "/config/v1/rules/team-a/api-health", "key-a", null);
        assertThat(g.statusCode()).isEqualTo(200);
        assertThat(g.body()).contains("name: api-health").contains("interval: 30s").contains("alert: ApiErrors");
        assertThat(call("GET", "/config/v1/rules/team-a/api-health", "key-o", null).statusCode()).as("other tenant").isEqualTo(404);

        String v2 = GROUP.replace("> 1", "> 2");
        assertThat(call("PUT", "/config/v1/rules/team-a/api-health", "key-a", v2).statusCode()).isEqualTo(202);
        assertThat(call("PUT", "/config/v1/rules/team-a/other-name", "key-a", v2).statusCode()).isEqualTo(400);
        JsonNode versions = JSON.readTree(call("GET", "/config/v1/rules/team-a/api-health/versions", "key-a", null).body());
        assertThat(versions.get("data")).hasSize(2);
        assertThat(call("GET", "/config/v1/rules/team-a/api-health/versions/1", "key-a", null).body()).contains("> 1");
        assertThat(call("GET", "/config/v1/rules/team-a/api-health", "key-a", null).body()).contains("> 2");
        assertThat(call("GET", "/config/v1/rules", "key-a", null).body()).contains("team-a:").contains("shipped.yaml");

        HttpResponse<String> bad = call("POST", "/config/v1/rules/team-a", "key-a",
                "name: broken\nrules:\n  - alert: X\n    expr: sum(\n    annotations:\n      summary: '{{ range $labels }}x{{ end }}'\n");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("could not parse expression").contains("unsupported template syntax");
        String fileNs = fx.dir.resolve("shipped.yaml").toString();
        assertThat(call("DELETE", "/config/v1/rules/" + java.net.URLEncoder.encode(fileNs, "UTF-8") + "/shipped", "key-a", null)
                .statusCode()).isEqualTo(409);

        assertThat(call("DELETE", "/config/v1/rules/team-a/api-health", "key-a", null).statusCode()).isEqualTo(202);
        assertThat(call("GET", "/config/v1/rules/team-a/api-health", "key-a", null).statusCode()).isEqualTo(404);
        versions = JSON.readTree(call("GET", "/config/v1/rules/team-a/api-health/versions", "key-a", null).body());
        assertThat(versions.get("data")).hasSize(3);
        assertThat(versions.get("data").get(2).get("deleted").asBoolean()).isTrue();
        assertThat(call("DELETE", "/config/v1/rules/team-a/api-health", "key-a", null).statusCode()).isEqualTo(404);
        // the deletion is durable: a new manager over the same store does not load the group
        try (RuleManager m2 = fx.manager(AlertSink.NONE, List.of())) {
            assertThat(m2.groups("acme")).isEmpty();
        }
    }

    @Test
    void rulesAndAlertsInPrometheusFormat() throws Exception {
        assertThat(call("POST", "/config/v1/rules/team-a", "key-a", GROUP).statusCode()).isEqualTo(202);
        manager.tick();
        JsonNode rules = JSON.readTree(call("GET", "/api/v1/rules", "key-a", null).body());
        assertThat(rules.get("status").asText()).isEqualTo("success");
        JsonNode groups = rules.get("data").get("groups");
        assertThat(groups).hasSize(2);
        JsonNode g = groups.get(1);
        assertThat(g.get("name").asText()).isEqualTo("api-health");
        assertThat(g.get("file").asText()).isEqualTo("team-a");
        assertThat(g.get("interval").asDouble()).isEqualTo(30.0);
        JsonNode rec = g.get("rules").get(0);
        assertThat(rec.get("type").asText()).isEqualTo("recording");
        assertThat(rec.get("health").asText()).isEqualTo("ok");
        JsonNode alert = g.get("rules").get(1);
        assertThat(alert.get("type").asText()).isEqualTo("alerting");
        assertThat(alert.get("state").asText()).isEqualTo("firing");
        assertThat(alert.get("duration").asDouble()).isZero();
        assertThat(alert.get("labels").get("severity").asText()).isEqualTo("page");
        JsonNode inst = alert.get("alerts").get(0);
        assertThat(inst.get("labels").get("alertname").asText()).isEqualTo("ApiErrors");
        assertThat(inst.get("labels").get("job").asText()).isEqualTo("api");
        assertThat(inst.get("annotations").get("summary").asText()).isEqualTo("api errors at 4/s");
        // Go's strconv 'e' shortest form, e.g. 4e+00 or 3.9999999999999996e+00 (rate extrapolation in floating point)
        assertThat(inst.get("value").asText()).matches("\\d(\\.\\d+)?e[+-]\\d\\d");
        assertThat(Double.parseDouble(inst.get("value").asText())).isCloseTo(4.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(inst.get("activeAt").asText()).endsWith("Z");

        JsonNode onlyRecords = JSON.readTree(call("GET", "/api/v1/rules?type=record", "key-a", null).body());
        assertThat(onlyRecords.get("data").get("groups")).hasSize(1);
        assertThat(call("GET", "/api/v1/rules?type=bogus", "key-a", null).statusCode()).isEqualTo(400);

        JsonNode alerts = JSON.readTree(call("GET", "/api/v1/alerts", "key-a", null).body());
        assertThat(alerts.get("data").get("alerts")).extracting(a -> a.get("labels").get("alertname").asText())
                .containsExactlyInAnyOrder("Always", "ApiErrors");
        JsonNode otherAlerts = JSON.readTree(call("GET", "/api/v1/alerts", "key-o", null).body());
        assertThat(otherAlerts.get("data").get("alerts")).isEmpty();
        // the recording rule wrote its series back
        var r = fx.engine.query("acme", "job:errors:rate1m", fx.clock.millis());
        assertThat(((QueryEngine.Vector) r).samples()).singleElement().extracting(QueryEngine.Element::value)
                .satisfies(v -> assertThat(v).isCloseTo(4.0, org.assertj.core.data.Offset.offset(1e-9)));
    }
}
