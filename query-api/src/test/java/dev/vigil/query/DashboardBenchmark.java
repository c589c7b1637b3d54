package dev.vigil.query;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

import dev.vigil.common.auth.ApiKeys;
import dev.vigil.query.experiments.JdbcDataSource;
import dev.vigil.query.health.DashboardQueries;
import dev.vigil.query.health.ModelHealthModule;
import dev.vigil.query.http.PrometheusApi;
import dev.vigil.query.storage.ClickHouseStorage;

/**
 * Benchmark (not part of `mvn verify`; run with query-api/bench.sh): loading one whole dashboard,
 * {@code dashboards/json/ml-model-health.json}, the way Grafana does on open: its two template
 * variables ({@code /api/v1/label/NAME/values?match[]=...}), then every panel query as a range query
 * over the dashboard's default range (6 h) at a 20 s step (Grafana's interval for a ~1,100 px wide
 * panel), over HTTP against the in-process query API with the ML health module mounted. Data: 31 h of
 * 10 s rollups for 2 models x 2 versions, 10 events per bucket, with latency, error, score and
 * feature_age measures (the health module's drift baseline needs the 24 h before the window).
 * Prints the wall time of the whole dashboard with the panels one after another and with six at a
 * time (a browser's connections per host), and each panel query's median.
 */
class DashboardBenchmark {
    static final String DASHBOARD = "ml-model-health.json";
    static final int RUNS = Integer.getInteger("bench.dashboard.runs", 10);
    static final long STEP_S = 20;

    record Req(String what, String uri, String form) {
    }

    @Test
    void dashboard() throws Exception {
        long now = System.currentTimeMillis() / 1000;
        long last = now / 10 * 10 - 10;
        try (TestTables t = TestTables.create("dash")) {
            long t0 = System.nanoTime();
            DashboardProfile.load(t, last);
            System.out.printf("BENCH dashboard data: 31 h of 10 s rollups, 2 models x 2 versions, in %.1f s%n", (System.nanoTime() - t0) / 1e9);

            PrometheusApi.Limits limits = PrometheusApi.Limits.defaults();
            try (QueryApi api = QueryApi.start(new QueryApi.Settings("127.0.0.1", 0, t.jdbcUrl, "default", "", ApiKeys.parse(List.of("demo:key-demo")),
                    limits, ClickHouseStorage.Settings.defaults(), true, 4, 1 << 20),
                    shared -> List.of(new ModelHealthModule(new JdbcDataSource(t.jdbcUrl, "default", ""), Clock.systemUTC())))) {
                List<Req> reqs = requests(now);
                HttpClient http = HttpClient.newBuilder().executor(Executors.newFixedThreadPool(6)).build();
                for (Req r : reqs) {
                    String body = send(http, api.baseUrl(), r);
                    if (!body.contains("\"success\"") || body.contains("\"result\":[]") || body.contains("\"data\":[]")) {
                        System.out.println("BENCH dashboard query without data: " + r.what + " -> " + body.substring(0, Math.min(300, body.length())));
                    }
                }
                double[][] each = new double[reqs.size()][RUNS];
                double[] seq = new double[RUNS];
                double[] par = new double[RUNS];
                ExecutorService pool = Executors.newFixedThreadPool(6);
                try {
                    for (int w = -2; w < RUNS; w++) {
                        long s0 = System.nanoTime();
                        for (int i = 0; i < reqs.size(); i++) {
                            long q0 = System.nanoTime();
                            send(http, api.baseUrl(), reqs.get(i));
                            if (w >= 0) {
                                each[i][w] = (System.nanoTime() - q0) / 1e6;
                            }
                        }
                        long s1 = System.nanoTime();
                        // variables first (the panels depend on them), then all panels, six at a time
                        List<Future<String>> fs = new ArrayList<>();
                        for (Req r : reqs) {
                            if (r.uri.startsWith("/api/v1/label/")) {
                                send(http, api.baseUrl(), r);
                            } else {
                                fs.add(pool.submit(() -> send(http, api.baseUrl(), r)));
                            }
                        }
                        for (Future<String> f : fs) {
                            f.get();
                        }
                        long s2 = System.nanoTime();
                        if (w >= 0) {
                            seq[w] = (s1 - s0) / 1e6;
                            par[w] = (s2 - s1) / 1e6;
                        }
                    }
                } finally {
                    pool.shutdownNow();
                }
                for (int i = 0; i < reqs.size(); i++) {
                    Arrays.sort(each[i]);
                    QueryBenchmark.report(String.format("BENCH dashboard query %-110s p50 %7.1f ms%n", reqs.get(i).what, each[i][RUNS / 2]));
                }
                report("BENCH dashboard " + DASHBOARD + " (" + reqs.size() + " requests) one at a time", seq);
                report("BENCH dashboard " + DASHBOARD + " (" + reqs.size() + " requests) six at a time", par);
            }
        }
    }

    private static void report(String name, double[] ms) {
        Arrays.sort(ms);
        QueryBenchmark.report(String.format("%-100s p50 %7.1f ms  max %7.1f ms (runs %d)%n", name, ms[(ms.length - 1) / 2], ms[ms.length - 1], ms.length));
    }

    /** The dashboard's variable and panel requests, as Grafana sends them for the default range. */
    static List<Req> requests(long now) throws Exception {
        long start = now - 6 * 3600;
        List<Req> out = new ArrayList<>();
        for (DashboardQueries.Query q : DashboardQueries.load(DashboardQueries.dashboardsDir().resolve("json"), Map.of())) {
            if (!q.dashboard().equals(title())) {
                continue;
            }
            if (q.panel().startsWith("variable ")) {
                String label = q.panel().substring("variable ".length());
                out.add(new Req(q.panel() + ": " + q.expr(), "/api/v1/label/" + label + "/values?match[]=" + enc(q.expr()) + "&start=" + start + "&end=" + now, null));
            } else {
                out.add(new Req(q.panel() + ": " + q.expr(), "/api/v1/query_range",
                        "query=" + enc(q.expr()) + "&start=" + start + "&end=" + now + "&step=" + STEP_S));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("no queries in " + DASHBOARD);
        }
        return out;
    }

    private static String title() throws Exception {
        var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(DashboardQueries.dashboardsDir().resolve("json").resolve(DASHBOARD).toFile());
        return node.path("title").asText();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String send(HttpClient http, String base, Req r) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + r.uri)).header("Authorization", "Bearer key-demo");
        if (r.form != null) {
            b.header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(r.form));
        }
        HttpResponse<String> resp = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() != 200) {
            throw new IllegalStateException(r.what + " -> HTTP " + resp.statusCode() + " " + resp.body());
        }
        return resp.body();
    }
}
