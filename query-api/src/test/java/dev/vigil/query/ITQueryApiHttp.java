package dev.vigil.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.vigil.common.auth.ApiKeys;
import dev.vigil.query.http.PrometheusApi;
import dev.vigil.query.storage.ClickHouseStorage;

/** A user's view: the query API in-process over ClickHouse, rollup rows inserted, queried over HTTP. */
class ITQueryApiHttp {
    static final long HOUR = 3_600_000L;
    static TestTables tables;
    static Fixture fx;
    static QueryApi api;
    static final HttpClient http = HttpClient.newHttpClient();
    static final ObjectMapper json = new ObjectMapper();

    @BeforeAll
    static void setUp() throws Exception {
        tables = TestTables.create("it_http");
        long end = Math.floorDiv(System.currentTimeMillis(), HOUR) * HOUR;
        fx = new Fixture(end, 2 * HOUR, 5_000, 7);
        fx.write(tables);
        PrometheusApi.Limits limits = new PrometheusApi.Limits(11_000, 50, 5_000_000, 30_000, 60_000, 30L * 86_400_000L, 10_000);
        api = QueryApi.start(new QueryApi.Settings("127.0.0.1", 0, tables.jdbcUrl, "default", "",
                ApiKeys.parse(List.of("acme:key-acme", "other:key-other")), limits,
                new ClickHouseStorage.Settings(10, 300_000, 0, System::currentTimeMillis), true, 4, 1 << 20));
    }

    @AfterAll
    static void tearDown() {
        api.close();
        tables.close();
    }

    static HttpResponse<String> get(String key, String pathAndQuery) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(api.baseUrl() + pathAndQuery));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return http.send(b.GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> post(String key, String path, Map<String, String> form) throws Exception {
        StringBuilder body = new StringBuilder();
        form.forEach((k, v) -> body.append(body.isEmpty() ? "" : "&").append(k).append('=').append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
        return http.send(HttpRequest.newBuilder(URI.create(api.baseUrl() + path)).header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    @Test
    void instantQueryAnswersPrometheusJson() throws Exception {
        long t = fx.end;
        var r = get("key-acme", "/api/v1/query?query=" + enc("sum by (region) (increase(inference_events_total[1h]))") + "&time=" + t / 1000);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode root = json.readTree(r.body());
        assertEquals("success", root.get("status").asText());
        assertEquals("vector", root.at("/data/resultType").asText());
        JsonNode res = root.at("/data/result");
        assertEquals(2, res.size());
        for (JsonNode s : res) {
            String region = s.at("/metric/region").asText();
            assertEquals(t / 1000, s.at("/value/0").asLong());
            assertTrue(s.at("/value/1").isTextual(), "values are strings");
            double got = Double.parseDouble(s.at("/value/1").asText());
            double truth = fx.in("acme", t - HOUR, t, Map.of("region", region)).size();
            assertEquals(truth, got, truth * 1e-4);
        }
    }

    @Test
    void rangeQueryByFormPost() throws Exception {
        var r = post("key-acme", "/api/v1/query_range", Map.of("query", "sum(rate(inference_events_total[5m]))",
                "start", String.valueOf((fx.end - HOUR) / 1000), "end", String.valueOf(fx.end / 1000), "step", "60s"));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode root = json.readTree(r.body());
        assertEquals("matrix", root.at("/data/resultType").asText());
        JsonNode values = root.at("/data/result/0/values");
        assertEquals(61, values.size());
        for (JsonNode p : values) {
            long t = p.get(0).asLong() * 1000;
            double truth = fx.in("acme", t - 300_000, t, Map.of()).size() / 300.0;
            assertEquals(truth, Double.parseDouble(p.get(1).asText()), Math.max(1e-9, truth * 1e-4));
        }
    }

    @Test
    void authAndErrors() throws Exception {
        assertEquals(401, get(null, "/api/v1/query?query=up").statusCode());
        assertEquals(401, get("wrong", "/api/v1/query?query=up").statusCode());
        var bad = get("key-acme", "/api/v1/query?query=" + enc("sum(("));
        assertEquals(400, bad.statusCode());
        assertEquals("bad_data", json.readTree(bad.body()).get("errorType").asText());
        var points = get("key-acme", "/api/v1/query_range?query=up&start=0&end=100000&step=1");
        assertEquals(400, points.statusCode());
        assertTrue(points.body().contains("11000 points"), points.body());
        // over the series limit (50): every le series of the histogram
        var tooMany = get("key-acme", "/api/v1/query?query=" + enc("inference_latency_ms_bucket") + "&time=" + fx.end / 1000);
        assertEquals(422, tooMany.statusCode(), tooMany.body());
        assertEquals("execution", json.readTree(tooMany.body()).get("errorType").asText());
        var timeout = get("key-acme", "/api/v1/query?query=" + enc("sum(rate(inference_events_total[5m]))") + "&timeout=1ms&time=" + fx.end / 1000);
        assertEquals(503, timeout.statusCode(), timeout.body());
        assertEquals("timeout", json.readTree(timeout.body()).get("errorType").asText());
    }

    /** Requests the server cannot take as they are get 400 (or 404) in the Prometheus error format, never a 500 or silence. */
    @Test
    void malformedRequestsGetPrometheusErrors() throws Exception {
        // form-encoded POST (as Grafana sends) with a bad escape: was 500 "internal"
        var form = http.send(HttpRequest.newBuilder(URI.create(api.baseUrl() + "/api/v1/query")).header("Authorization", "Bearer key-acme")
                .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString("query=%zz")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, form.statusCode(), form.body());
        assertEquals("bad_data", json.readTree(form.body()).get("errorType").asText());
        // a label named "%": the path is decoded once (decoding twice made %25 an unterminated escape, a 500)
        var pct = get("key-acme", "/api/v1/label/%25/values");
        assertEquals(200, pct.statusCode(), pct.body());
        assertEquals("[]", json.readTree(pct.body()).get("data").toString());
        // a step too large for any clock: was a 500 (an overflow)
        var step = get("key-acme", "/api/v1/query_range?query=up&start=0&end=100&step=99999999999999999999d");
        assertEquals(400, step.statusCode(), step.body());
        assertTrue(step.body().contains("out of range"), step.body());
        var route = get("key-acme", "/api/v2/nothing");
        assertEquals(404, route.statusCode(), route.body());
        assertEquals("not_found", json.readTree(route.body()).get("errorType").asText());
        // a bad escape in the URL itself (java.net.URI refuses to send one: a raw request): was a closed connection
        try (var sock = new java.net.Socket("127.0.0.1", URI.create(api.baseUrl()).getPort())) {
            sock.setSoTimeout(10_000);
            sock.getOutputStream().write(("GET /api/v1/query?query=%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer key-acme\r\n"
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
            String answer = new String(sock.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
            assertTrue(answer.contains("\"errorType\":\"bad_data\""), answer);
        }
    }

    @Test
    void tenantsAreIsolatedOverHttp() throws Exception {
        String q = "/api/v1/query?query=" + enc("sum(increase(inference_events_total[2h]))") + "&time=" + fx.end / 1000;
        double a = Double.parseDouble(json.readTree(get("key-acme", q).body()).at("/data/result/0/value/1").asText());
        double o = Double.parseDouble(json.readTree(get("key-other", q).body()).at("/data/result/0/value/1").asText());
        assertEquals(fx.in("acme", fx.start, fx.end, Map.of()).size(), a, 0.5);
        assertEquals(fx.in("other", fx.start, fx.end, Map.of()).size(), o, 0.5);
    }

    @Test
    void discoveryEndpoints() throws Exception {
        String range = "&start=" + (fx.end - HOUR) / 1000 + "&end=" + fx.end / 1000;
        JsonNode names = json.readTree(get("key-acme", "/api/v1/label/__name__/values").body());
        assertTrue(names.get("data").toString().contains("inference_events_total"), names.toString());
        assertTrue(names.get("data").toString().contains("inference_latency_ms_bucket"));
        JsonNode series = json.readTree(get("key-acme", "/api/v1/series?match[]=" + enc("inference_events_total{region=\"eu\"}") + range).body());
        assertEquals("success", series.get("status").asText());
        assertTrue(series.get("data").size() >= 2, series.toString());
        JsonNode labels = json.readTree(get("key-acme", "/api/v1/labels?match[]=" + enc("inference_events_total") + range).body());
        assertTrue(labels.get("data").toString().contains("region"));
        JsonNode values = json.readTree(get("key-acme", "/api/v1/label/model/values?match[]=" + enc("inference_events_total") + range).body());
        assertTrue(values.get("data").toString().contains("m1"));
        JsonNode meta = json.readTree(get("key-acme", "/api/v1/metadata").body());
        assertEquals("counter", meta.at("/data/inference_events_total/0/type").asText());
        assertEquals("histogram", meta.at("/data/inference_latency_ms_bucket/0/type").asText());
        assertEquals("success", json.readTree(get("key-acme", "/api/v1/status/buildinfo").body()).get("status").asText());
        assertEquals(0, json.readTree(get("key-acme", "/api/v1/query_exemplars?query=up").body()).get("data").size());
        assertEquals(200, get(null, "/health/ready").statusCode());
        assertTrue(get(null, "/metrics").body().contains("vigil_query_requests"));
    }

    /** {@code limit} as Prometheus has it: at most that many results, a warning when cut, never negative. */
    @Test
    void listingsHonourLimitWithAWarning() throws Exception {
        String range = "&start=" + (fx.end - HOUR) / 1000 + "&end=" + fx.end / 1000;
        String match = "match[]=" + enc("inference_events_total");
        JsonNode all = json.readTree(get("key-acme", "/api/v1/series?" + match + range).body());
        assertTrue(all.get("data").size() >= 2, all.toString());
        assertTrue(all.path("warnings").isMissingNode(), all.toString());
        for (String endpoint : new String[] {"/api/v1/series?", "/api/v1/labels?", "/api/v1/label/model/values?"}) {
            JsonNode one = json.readTree(get("key-acme", endpoint + match + range + "&limit=1").body());
            assertEquals(1, one.get("data").size(), endpoint + " " + one);
            assertEquals("results truncated due to limit", one.path("warnings").path(0).asText(), endpoint + " " + one);
            JsonNode enough = json.readTree(get("key-acme", endpoint + match + range + "&limit=100000").body());
            assertTrue(enough.path("warnings").isMissingNode(), endpoint + " " + enough);
            var negative = get("key-acme", endpoint + match + range + "&limit=-1");
            assertEquals(400, negative.statusCode(), endpoint + " " + negative.body());
        }
        assertEquals(all.get("data").get(0), json.readTree(get("key-acme", "/api/v1/series?" + match + range + "&limit=1").body()).get("data").get(0));
    }
}
