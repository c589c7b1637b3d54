package dev.vigil.query.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.vigil.promql.Matcher;
import dev.vigil.promql.storage.SelectHints;
import dev.vigil.query.experiments.ExperimentJson;
import dev.vigil.query.experiments.JdbcDataSource;
import dev.vigil.query.experiments.SchemaFixture;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;

/** ML health against real ClickHouse: rollup rows as the aggregator writes them, 26 hours of traffic. */
class ITModelHealth {
    static final String T = "acme";
    // now: a minute boundary plus 30 s; data ends one minute before
    static final Instant NOW = Instant.ofEpochSecond(Instant.now().getEpochSecond() / 60 * 60 + 30);
    static JdbcDataSource ds;
    static ModelHealthModule module;

    @BeforeAll
    static void setUp() throws Exception {
        ds = SchemaFixture.freshDatabase("it_health");
        module = new ModelHealthModule(ds, Clock.fixed(NOW, ZoneOffset.UTC));
        HealthData d = new HealthData(ds);
        Random rnd = new Random(7);
        long end = NOW.getEpochSecond() / 60 * 60 - 60; // last bucket a minute before now
        for (long b = end - 26 * 3600; b <= end; b += 300) {
            boolean inWindow = b >= NOW.getEpochSecond() - 3600;
            for (String model : new String[]{"stable", "drifty"}) {
                for (String version : new String[]{"v1", "v2"}) {
                    int n = 100;
                    double[] lat = new double[n], err = new double[n], score = new double[n], feature = new double[n];
                    for (int i = 0; i < n; i++) {
                        lat[i] = 50 * Math.exp(0.5 * rnd.nextGaussian());
                        err[i] = rnd.nextDouble() < 0.03 ? 1 : 0;
                        double shift = model.equals("drifty") && inWindow ? 0.25 : 0;
                        score[i] = Math.max(0.001, 0.3 + shift + 0.1 * rnd.nextGaussian());
                        feature[i] = rnd.nextDouble() < 0.5 ? Double.NaN : 10 + 2 * rnd.nextGaussian();
                    }
                    d.bucket(T, "inference", Map.of("model", model, "version", version), b, n,
                            new String[]{"latency_ms", "error", "score", "feature_age"},
                            new double[][]{lat, err, score, feature});
                }
            }
        }
        d.bucket("other", "inference", Map.of("model", "secret"), end, 10, new String[]{"score"}, new double[][]{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}});
        d.bucket("slash", "inference", Map.of("model", "org/m%"), end, 10, new String[]{"score"}, new double[][]{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}});
        d.flush();
    }

    static JsonNode get(String uri) throws Exception {
        return get(uri, T);
    }

    static JsonNode get(String uri, String tenant) throws Exception {
        var resp = module.handle(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri, Unpooled.EMPTY_BUFFER), uri, tenant);
        JsonNode n = ExperimentJson.MAPPER.readTree(resp.content().toString(StandardCharsets.UTF_8));
        if (resp.status().code() >= 300) System.out.println(uri + " -> " + n);
        return n;
    }

    static JsonNode measure(JsonNode health, String name) {
        for (JsonNode m : health.path("measures")) if (m.path("measure").asText().equals(name)) return m;
        throw new AssertionError("no measure " + name + " in " + health);
    }

    @Test
    void listsTheTenantsModels() throws Exception {
        JsonNode models = get("/api/v1/models").path("data");
        assertThat(models.findValuesAsText("model")).containsExactly("drifty", "stable");
        assertThat(models.get(0).path("versions").toString()).isEqualTo("[\"v1\",\"v2\"]");
    }

    @Test
    void driftOfTheScoreIsCriticalOnlyWhereItMoved() throws Exception {
        JsonNode drifty = get("/api/v1/models/drifty/health?window=1h&baseline=24h").path("data");
        System.out.println("drifty: " + drifty);
        JsonNode score = measure(drifty, "score");
        assertThat(score.path("psi").path("value").asDouble()).isGreaterThan(0.25);
        assertThat(score.path("psi").path("status").asText()).isEqualTo("critical");
        assertThat(score.path("psi").path("critical").asDouble()).isEqualTo(0.25);
        assertThat(score.path("jsDistance").path("value").asDouble()).isGreaterThan(0.2);
        assertThat(drifty.path("status").asText()).isEqualTo("critical");

        JsonNode stable = get("/api/v1/models/stable/health?window=1h&baseline=24h").path("data");
        assertThat(measure(stable, "score").path("psi").path("value").asDouble()).isLessThan(0.1);
        assertThat(measure(stable, "score").path("psi").path("status").asText()).isEqualTo("ok");
        assertThat(measure(stable, "feature_age").path("psi").path("status").asText()).isEqualTo("ok");
        // the other figures
        assertThat(stable.path("events").asLong()).isEqualTo(12 * 2 * 100);
        assertThat(stable.path("throughputPerSecond").path("value").asDouble()).isCloseTo(2400 / 3600.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(stable.path("errorRate").path("value").asDouble()).isBetween(0.01, 0.05);
        assertThat(stable.path("errorRate").path("status").asText()).isEqualTo("warn");
        assertThat(stable.path("latencyP50Ms").path("value").asDouble()).isBetween(45.0, 55.0);
        assertThat(stable.path("latencyP99Ms").path("value").asDouble()).isBetween(130.0, 200.0);
        assertThat(stable.path("freshnessSeconds").path("value").asDouble()).isEqualTo(30.0);
        assertThat(stable.path("freshnessSeconds").path("status").asText()).isEqualTo("ok");
        assertThat(measure(stable, "feature_age").path("missingRate").path("value").asDouble()).isBetween(0.4, 0.6);
        assertThat(measure(stable, "feature_age").path("missingRate").path("status").asText()).isEqualTo("critical");
        assertThat(measure(stable, "latency_ms").path("psi").isNull()).isTrue();
        // one version only
        JsonNode v2 = get("/api/v1/models/stable/health?window=1h&baseline=24h&version=v2").path("data");
        assertThat(v2.path("events").asLong()).isEqualTo(1200);
        // unknown model, bad parameters
        assertThat(get("/api/v1/models/secret/health").path("errorType").asText()).isEqualTo("not_found");
        assertThat(get("/api/v1/models/stable/health?window=banana").path("errorType").asText()).isEqualTo("bad_data");
    }

    /** Parameters the data cannot answer get 400 naming what was wrong (an overflow was a 500; a 90 s window miscounted). */
    @Test
    void parametersOutsideWhatTheDataAnswersAreBadData() throws Exception {
        Map<String, String> cases = Map.of(
                "window=99999999999999999d", "window: duration '99999999999999999d' is out of range",
                "window=200000000000000m", "must not exceed 90d", // Duration holds it; converting it to milliseconds overflowed (a 500)
                "window=90s", "whole minutes",
                "baseline=61s", "whole minutes",
                "time=yesterday", "cannot read time 'yesterday'",
                "time=1e300", "out of range",
                // a span within the retention that reaches back beyond it: a baseline the 1 m table no longer holds
                "time=" + (System.currentTimeMillis() / 1000 - 89 * 86_400L) + "&window=1h&baseline=2d", "holds every minute only from then on");
        for (var c : cases.entrySet()) {
            JsonNode e = get("/api/v1/models/stable/health?" + c.getKey());
            assertThat(e.path("errorType").asText()).as(c.getKey()).isEqualTo("bad_data");
            assertThat(e.path("error").asText()).as(c.getKey()).contains(c.getValue());
        }
        assertThat(get("/api/v1/models/stable/health?window=120s").path("data").path("events").asLong()).isPositive();
    }

    /** A model name with '/' or '%' in it: sent escaped (as a client's URL encoder does), found, and decoded once. */
    @Test
    void aModelNameIsDecodedOnce() throws Exception {
        JsonNode h = get("/api/v1/models/org%2Fm%25/health", "slash").path("data");
        assertThat(h.path("model").asText()).isEqualTo("org/m%");
        assertThat(h.path("events").asLong()).isEqualTo(10);
    }

    /** Concurrent requests for the same figures share one computation: each still gets exactly its own answer. */
    @Test
    void concurrentRequestsGetTheSameSeriesAsSequentialOnes() throws Exception {
        var p = module.seriesProviders().get(0);
        long now = NOW.toEpochMilli();
        SelectHints h = new SelectHints(now - 6 * 3_600_000, now, 20_000, null, 0, List.of(), false);
        List<List<Matcher>> selectors = List.of(List.of(Matcher.eq("__name__", ModelHealthSeries.DRIFT_PSI)),
                List.of(Matcher.eq("__name__", ModelHealthSeries.JS_DISTANCE), Matcher.eq("measure", "score")),
                List.of(Matcher.eq("__name__", ModelHealthSeries.THROUGHPUT)));
        List<String> sequential = new java.util.ArrayList<>();
        for (List<Matcher> sel : selectors) sequential.add(render(p.select(T, h, sel)));
        var pool = java.util.concurrent.Executors.newFixedThreadPool(6);
        try {
            List<java.util.concurrent.Future<String>> fs = new java.util.ArrayList<>();
            for (int i = 0; i < 12; i++) {
                List<Matcher> sel = selectors.get(i % selectors.size());
                fs.add(pool.submit(() -> render(p.select(T, h, sel))));
            }
            for (int i = 0; i < fs.size(); i++) assertThat(fs.get(i).get()).isEqualTo(sequential.get(i % selectors.size()));
        } finally {
            pool.shutdownNow();
        }
        assertThat(sequential.get(0)).contains("vigil_model_drift_psi").doesNotContain("js_distance");
        assertThat(sequential.get(1)).contains("measure=\"score\"").doesNotContain("feature_age");
    }

    private static String render(List<dev.vigil.promql.storage.SeriesData> series) {
        StringBuilder b = new StringBuilder();
        for (var s : series) {
            b.append(s.labels()).append(':');
            for (int i = 0; i < s.size(); i++) b.append(' ').append(s.timestamps()[i]).append('=').append(s.values()[i]);
            b.append('\n');
        }
        return b.toString();
    }

    @Test
    void figuresAsSeries() {
        var p = module.seriesProviders().get(0);
        long now = NOW.toEpochMilli();
        var psi = p.select(T, new SelectHints(now - 3_600_000, now, 60_000, null, 0, List.of(), false),
                List.of(Matcher.eq("__name__", ModelHealthSeries.DRIFT_PSI), Matcher.eq("measure", "score")));
        assertThat(psi).hasSize(2);
        for (var s : psi) {
            double last = s.values()[s.size() - 1];
            if (s.labels().get("model").equals("drifty")) assertThat(last).isGreaterThan(0.25);
            else assertThat(last).isLessThan(0.1);
            assertThat(s.labels().has("version")).isFalse();
        }
        var err = p.select(T, SelectHints.of(now - 600_000, now),
                List.of(Matcher.eq("__name__", ModelHealthSeries.ERROR_RATE), new Matcher(Matcher.Type.NEQ, "version", "")));
        assertThat(err).hasSize(4);
        assertThat(err).allSatisfy(s -> assertThat(s.labels().get("version")).isIn("v1", "v2"));
        var thr = p.select(T, SelectHints.of(now - 120_000, now),
                List.of(Matcher.eq("__name__", ModelHealthSeries.THROUGHPUT), Matcher.eq("model", "stable")));
        assertThat(thr).hasSize(1);
        assertThat(thr.get(0).values()[thr.get(0).size() - 1]).isGreaterThan(0);
    }

    /**
     * The drift series (baseline core summed in ClickHouse, windows slid over dense counts) give
     * exactly the figures of evaluating each point on its own over every minute: same points, same
     * doubles, per model and per version, for ranges whose baselines share a core and for one so
     * long that they do not.
     */
    @Test
    void driftSeriesEqualEvaluatingEachPointOverEveryMinute() throws Exception {
        var p = module.seriesProviders().get(0);
        ModelHealthService svc = module.service();
        HealthConventions conv = svc.conventions();
        long now = NOW.toEpochMilli();
        record Case(long range, long step, boolean perVersion) {
        }
        int compared = 0;
        for (Case c : List.of(new Case(6 * 3_600_000L, 20_000, false), new Case(6 * 3_600_000L, 20_000, true),
                new Case(3_600_000L, 60_000, false), new Case(25 * 3_600_000L, 60_000, false), new Case(2 * 3_600_000L - 7_000, 30_000, false))) {
            SelectHints h = new SelectHints(now - c.range, now - 13_000, c.step, null, 0, List.of(), false);
            List<Matcher> sel = new java.util.ArrayList<>(List.of(new Matcher(Matcher.Type.RE, "__name__", "vigil_model_(drift_psi|js_distance)")));
            if (c.perVersion) sel.add(new Matcher(Matcher.Type.NEQ, "version", ""));
            Map<String, dev.vigil.promql.storage.SeriesData> got = new java.util.HashMap<>();
            for (var sd : p.select(T, h, sel)) got.put(sd.labels().toString(), sd);
            List<Long> ts = ModelHealthSeries.points(h, now);
            ModelHealthService.Data all = svc.fetch(T, null, null, c.perVersion, Instant.ofEpochMilli(ts.get(0)).minus(conv.window().plus(conv.baseline())),
                    Instant.ofEpochMilli(ts.get(ts.size() - 1) + 1), true, false);
            int expectedSeries = 0;
            for (ModelHealthService.Key key : all.keys()) {
                Map<String, double[][]> expected = new java.util.TreeMap<>();
                for (int i = 0; i < ts.size(); i++) {
                    var mh = svc.evaluate(all, key, Instant.ofEpochMilli(ts.get(i)), conv.window(), conv.baseline());
                    for (var m : mh.measures()) {
                        if (m.psi() == null) continue;
                        double[][] v = expected.computeIfAbsent(m.measure(), k -> new double[][]{new double[ts.size()], new double[ts.size()]});
                        v[0][i] = m.psi().value();
                        v[1][i] = m.jsDistance().value();
                    }
                }
                for (var e : expected.entrySet()) {
                    for (int f = 0; f < 2; f++) {
                        var b = new dev.vigil.promql.Labels.Builder().set("__name__", f == 0 ? ModelHealthSeries.DRIFT_PSI : ModelHealthSeries.JS_DISTANCE)
                                .set("model", key.model()).set("measure", e.getKey());
                        if (key.version() != null) b.set("version", key.version());
                        String label = b.build().toString();
                        var sd = got.get(label);
                        StringBuilder want = new StringBuilder(), have = new StringBuilder();
                        for (int i = 0; i < ts.size(); i++) {
                            if (!Double.isNaN(e.getValue()[f][i])) want.append(ts.get(i)).append('=').append(e.getValue()[f][i]).append(' ');
                        }
                        for (int i = 0; sd != null && i < sd.size(); i++) have.append(sd.timestamps()[i]).append('=').append(sd.values()[i]).append(' ');
                        assertThat(have.toString()).as(c + " " + label).isEqualTo(want.toString());
                        if (!want.isEmpty()) expectedSeries++;
                        compared += sd == null ? 0 : sd.size();
                    }
                }
            }
            assertThat(got).as(c.toString()).hasSize(expectedSeries);
        }
        assertThat(compared).isGreaterThan(1000);
    }
}
