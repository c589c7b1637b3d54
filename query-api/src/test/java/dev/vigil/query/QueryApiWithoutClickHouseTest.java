package dev.vigil.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import dev.vigil.common.auth.ApiKeys;
import dev.vigil.query.http.PrometheusApi;
import dev.vigil.query.storage.ClickHouseStorage;

/** With ClickHouse unreachable, a query is 503 "unavailable" naming ClickHouse (it was a 500 "internal"), over real HTTP. */
class QueryApiWithoutClickHouseTest {
    @Test
    void anUnreachableClickHouseIs503Unavailable() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort(); // free once closed: nothing listens there
        }
        PrometheusApi.Limits limits = new PrometheusApi.Limits(11_000, 50, 5_000_000, 5_000, 10_000, 30L * 86_400_000L, 10_000);
        try (QueryApi api = QueryApi.start(new QueryApi.Settings("127.0.0.1", 0, "jdbc:clickhouse:http://127.0.0.1:" + closedPort + "/default",
                "default", "", ApiKeys.parse(List.of("acme:key-acme")), limits,
                new ClickHouseStorage.Settings(10, 300_000, 0, System::currentTimeMillis), true, 2, 1 << 20))) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(api.baseUrl()
                    + "/api/v1/query?query=" + URLEncoder.encode("sum(rate(inference_events_total[5m]))", StandardCharsets.UTF_8)))
                    .header("Authorization", "Bearer key-acme").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(503, r.statusCode(), r.body());
            var body = new ObjectMapper().readTree(r.body());
            assertEquals("unavailable", body.get("errorType").asText(), r.body());
            assertTrue(body.get("error").asText().contains("ClickHouse"), r.body());
        }
    }
}
