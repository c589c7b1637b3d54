package dev.vigil.query.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Every dashboard query returns data from a running query API fed with demo traffic. Needs
 * VIGIL_QUERY_URL (e.g. http://127.0.0.1:9090), VIGIL_API_KEY (the demo tenant's, for the ML-health and experiment
 * dashboards) and VIGIL_SYSTEM_API_KEY (tenant system's, for the "Vigil pipeline" dashboard: Vigil's own metrics);
 * skipped otherwise. The end-to-end suite calls {@link #check(String, String, List)} after feeding the stack.
 */
public class ITDashboardQueries {
    /** Runs each query as a range query over the last hour; returns one line per query without data or failing. */
    public static List<String> check(String baseUrl, String apiKey, List<DashboardQueries.Query> queries) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        ObjectMapper mapper = new ObjectMapper();
        long end = Instant.now().getEpochSecond(), start = end - 3600;
        List<String> problems = new ArrayList<>();
        for (DashboardQueries.Query q : queries) {
            String body = "query=" + URLEncoder.encode(q.expr(), StandardCharsets.UTF_8) + "&start=" + start + "&end=" + end + "&step=60";
            HttpRequest req = HttpRequest.newBuilder(URI.create(baseUrl + "/api/v1/query_range"))
                    .header("Authorization", "Bearer " + apiKey).header("Content-Type", "application/x-www-form-urlencoded")
                    .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body)).build();
            HttpResponse<String> resp = http.send(req, HttpResponse.BodyHandlers.ofString());
            String where = q.dashboard() + " / " + q.panel() + ": " + q.expr();
            if (resp.statusCode() != 200) {
                problems.add(where + " -> HTTP " + resp.statusCode() + " " + resp.body());
                continue;
            }
            JsonNode result = mapper.readTree(resp.body()).path("data").path("result");
            if (!result.isArray() || result.isEmpty()) problems.add(where + " -> no data");
        }
        return problems;
    }

    @Test
    void everyPanelQueryReturnsData() throws Exception {
        String url = System.getenv("VIGIL_QUERY_URL"), key = System.getenv("VIGIL_API_KEY"), system = System.getenv("VIGIL_SYSTEM_API_KEY");
        Assumptions.assumeTrue(url != null && key != null && system != null,
                "SKIPPED: set VIGIL_QUERY_URL, VIGIL_API_KEY (demo) and VIGIL_SYSTEM_API_KEY to a running query API fed with demo traffic");
        List<DashboardQueries.Query> all = DashboardQueries.load(DashboardQueries.dashboardsDir());
        List<String> problems = new ArrayList<>(check(url, key, all.stream().filter(q -> !q.dashboard().equals("Vigil pipeline")).toList()));
        problems.addAll(check(url, system, all.stream().filter(q -> q.dashboard().equals("Vigil pipeline")).toList()));
        assertThat(problems).as("dashboard queries without data").isEmpty();
    }
}
