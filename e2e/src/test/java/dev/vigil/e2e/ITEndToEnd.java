package dev.vigil.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.vigil.query.health.DashboardQueries;
import dev.vigil.query.health.ITDashboardQueries;

/**
 * The whole stack as a user sees it: Kafka, the embedded ClickHouse, the gateway, the aggregator and
 * the query API run as child JVMs (tracked by PID, ephemeral loopback ports, one data directory under
 * target/), started from each module's target/classes + target/lib exactly as ./vigil does. Demo-like
 * traffic goes through the gateway's HTTP API; everything is asserted through the query API's HTTP:
 * exact event counts from PromQL, the planted latency regression failing its guardrail (and the A/A
 * experiment not failing), ML health, the shipped rules loaded, and every dashboard panel query
 * returning data (the pipeline dashboard from the services' own metrics, scraped by self-monitoring).
 * Needs VIGIL_CHDB_LIB (scripts/fetch-chdb.sh; ./vigil test sets it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ITEndToEnd {
    static final String JVM_FLAGS = "--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -XX:+UseG1GC -XX:TieredStopAtLevel=1";
    static final String DEMO_KEY = "e2e-demo-key-0123456789", SYSTEM_KEY = "e2e-system-key-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    final Map<String, Process> procs = new LinkedHashMap<>();
    Path root, dir;
    int kafka, controller, clickhouse, gateway, aggregator, query;
    int inferenceSent;
    long lastEventMs;

    @BeforeAll
    void startStack() throws Exception {
        String chdb = System.getenv("VIGIL_CHDB_LIB");
        Assumptions.assumeTrue(chdb != null && Files.exists(Path.of(chdb)), "SKIPPED: VIGIL_CHDB_LIB not set (scripts/fetch-chdb.sh)");
        root = Path.of("").toAbsolutePath();
        while (!Files.exists(root.resolve("vigil")) || !Files.isDirectory(root.resolve("rules"))) root = root.getParent();
        dir = Path.of("target", "e2e-" + System.currentTimeMillis()).toAbsolutePath();
        Files.createDirectories(dir.resolve("logs"));
        int[] p = freePorts(6);
        kafka = p[0]; controller = p[1]; clickhouse = p[2]; gateway = p[3]; aggregator = p[4]; query = p[5];
        String boot = "127.0.0.1:" + kafka, ch = "jdbc:clickhouse:http://127.0.0.1:" + clickhouse + "/default";
        String keys = "demo:" + DEMO_KEY + ",system:" + SYSTEM_KEY;

        start("kafka", "kafka-broker", "dev.vigil.kafka.KafkaBrokerMain", Map.of("VIGIL_KAFKA_DATA_DIR", dir.resolve("kafka").toString(),
                "VIGIL_KAFKA_PORT", "" + kafka, "VIGIL_KAFKA_CONTROLLER_PORT", "" + controller));
        start("clickhouse", "embedded-clickhouse", "dev.vigil.clickhouse.EmbeddedClickHouseServer", Map.of("VIGIL_CHDB_LIB", chdb,
                "VIGIL_CLICKHOUSE_DATA_DIR", dir.resolve("clickhouse").toString(), "VIGIL_CLICKHOUSE_PORT", "" + clickhouse));
        await("kafka ready", 120, () -> logContains("kafka", "READY kafka"));
        await("clickhouse ready", 120, () -> get("http://127.0.0.1:" + clickhouse + "/ping", null) == 200);

        Map<String, String> common = Map.of("VIGIL_KAFKA_BOOTSTRAP_SERVERS", boot, "VIGIL_API_KEYS", keys, "VIGIL_CLICKHOUSE_URL", ch,
                "VIGIL_DATA_DIR", dir.toString());
        start("gateway", "ingest-gateway", "dev.vigil.gateway.GatewayMain", with(common, "VIGIL_GATEWAY_PORT", "" + gateway));
        start("aggregator", "aggregator", "dev.vigil.aggregator.AggregatorMain", with(common, "VIGIL_AGGREGATOR_PORT", "" + aggregator,
                "VIGIL_AGGREGATOR_FLUSH_INTERVAL", "1s", "VIGIL_AGGREGATOR_EXPERIMENTS_FLUSH_INTERVAL", "1s"));
        start("query-api", "query-api", "dev.vigil.query.QueryApiMain", with(common, "VIGIL_QUERY_PORT", "" + query,
                "VIGIL_QUERY_CATALOGUE_TTL", "0s",
                "VIGIL_ALERTING_DATA_DIR", dir.resolve("alerting").toString(),
                "VIGIL_ALERTING_RULE_FILES", "*=" + root.resolve("rules/ml-health.yaml") + ",*=" + root.resolve("rules/experiments.yaml")
                        + ",system=" + root.resolve("rules/pipeline.yaml"),
                "VIGIL_QUERY_EXPERIMENTS_IMPORT", "demo=" + root.resolve("query-api/demo/experiments.json"),
                "VIGIL_SELF_MONITORING_TARGETS", "gateway=http://127.0.0.1:" + gateway + "/metrics,aggregator=http://127.0.0.1:" + aggregator
                        + "/metrics,query-api=self",
                "VIGIL_SELF_MONITORING_INTERVAL", "2s"));
        for (String s : List.of("gateway", "aggregator", "query-api")) {
            int port = s.equals("gateway") ? gateway : s.equals("aggregator") ? aggregator : query;
            await(s + " /health/ready", 120, () -> get("http://127.0.0.1:" + port + "/health/ready", null) == 200);
        }
        sendBaseline();
        sendTraffic();
        sendFaults();
    }

    /**
     * What makes the pipeline dashboard's error panels non-empty, as in real life: a request whose
     * only event is invalid (rejected items and a rejected request at the gateway) and one
     * undecodable record on the events topic (a dead letter at the aggregator).
     */
    /**
     * A drift baseline: model "ranker" inferences two hours ago (inside the 24 h baseline before the
     * 1 h health window, within the gateway's 24 h max-age), score shifted down, no experiments.
     */
    void sendBaseline() throws Exception {
        Random rnd = new Random(7);
        long base = System.currentTimeMillis() - 2 * 3_600_000L;
        List<String> ev = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            ev.add("{\"type\":\"inference\",\"ts\":" + (base + i * 1000L) + ",\"dims\":{\"model\":\"ranker\",\"version\":\"v1\",\"region\":\"eu\"},"
                    + "\"measures\":{\"latency_ms\":" + String.format("%.3f", Math.exp(3 + rnd.nextGaussian() * 0.3)) + ",\"score\":"
                    + String.format("%.4f", Math.max(0, Math.min(1, 0.35 + rnd.nextGaussian() * 0.1))) + ",\"error\":0}}");
        }
        String body = "{\"batch_id\":\"e2e-baseline\",\"events\":[" + String.join(",", ev) + "]}";
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway + "/v1/events"))
                .header("Authorization", "Bearer " + DEMO_KEY).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("gateway answer: " + r.body()).isBetween(200, 299);
    }

    void sendFaults() throws Exception {
        String bad = "{\"batch_id\":\"e2e-bad\",\"events\":[{\"type\":\"bad type\",\"ts\":" + System.currentTimeMillis() + "}]}";
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway + "/v1/events"))
                .header("Authorization", "Bearer " + DEMO_KEY).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(bad)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isBetween(400, 499);
        java.util.Properties p = new java.util.Properties();
        p.put("bootstrap.servers", "127.0.0.1:" + kafka);
        try (org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> prod = new org.apache.kafka.clients.producer.KafkaProducer<>(p,
                new org.apache.kafka.common.serialization.ByteArraySerializer(), new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            prod.send(new org.apache.kafka.clients.producer.ProducerRecord<>("vigil.events", "e2e-garbage".getBytes(StandardCharsets.UTF_8),
                    "not a vigil record".getBytes(StandardCharsets.UTF_8))).get(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /** Demo-like traffic: model "ranker" inferences in exp-latency (treatment 30% slower) and exp-aa (A/A), with exposures. */
    void sendTraffic() throws Exception {
        Random rnd = new Random(42);
        long now = System.currentTimeMillis();
        List<String> batch = new ArrayList<>();
        int batchNo = 0;
        for (int u = 0; u < 1600; u++) {
            String lat = u % 2 == 0 ? "control" : "treatment", aa = (u / 2) % 2 == 0 ? "a1" : "a2";
            String exps = "\"experiments\":{\"exp-latency\":\"" + lat + "\",\"exp-aa\":\"" + aa + "\"},\"unit_id\":\"user-" + u + "\"";
            long ts = now - 20_000 + rnd.nextInt(15_000);
            lastEventMs = Math.max(lastEventMs, ts);
            batch.add("{\"type\":\"exposure\",\"ts\":" + ts + ",\"dims\":{\"surface\":\"search\"}," + exps + "}");
            for (int k = 0; k < 2; k++) {
                double latency = Math.exp(3 + rnd.nextGaussian() * 0.3) * (lat.equals("treatment") ? 1.3 : 1.0);
                double score = Math.max(0, Math.min(1, 0.5 + rnd.nextGaussian() * 0.1));
                int error = rnd.nextDouble() < 0.01 ? 1 : 0;
                batch.add("{\"type\":\"inference\",\"ts\":" + (ts + k) + ",\"dims\":{\"model\":\"ranker\",\"version\":\"v" + (1 + u % 2)
                        + "\",\"region\":\"eu\"},\"measures\":{\"latency_ms\":" + String.format("%.3f", latency) + ",\"score\":"
                        + String.format("%.4f", score) + ",\"error\":" + error + "}," + exps + "}");
                inferenceSent++;
            }
            if (batch.size() >= 600 || u == 1599) {
                String body = "{\"batch_id\":\"e2e-" + (batchNo++) + "\",\"events\":[" + String.join(",", batch) + "]}";
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway + "/v1/events"))
                        .header("Authorization", "Bearer " + DEMO_KEY).header("Content-Type", "application/json")
                        .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as("gateway answer: " + r.body()).isBetween(200, 299);
                batch.clear();
            }
        }
    }

    @Test
    void eventCountsThroughPromqlAreExact() throws Exception {
        // an instant at a 10 s boundary after every event; the 5m window holds them all
        long t = (lastEventMs / 10_000 + 2) * 10_000;
        String q = "sum(increase(inference_events_total{model=\"ranker\"}[5m]))";
        double[] got = {-1};
        await("the aggregator's flush makes " + inferenceSent + " inference events visible", 90, () -> {
            while (System.currentTimeMillis() < t) sleep(200);
            got[0] = scalar(instant(DEMO_KEY, q, t));
            return Math.round(got[0]) == inferenceSent;
        });
        assertThat(Math.round(got[0])).isEqualTo(inferenceSent);
        double rate = scalar(instant(DEMO_KEY, "sum(rate(inference_events_total{model=\"ranker\"}[5m])) * 300", t));
        assertThat(rate).isCloseTo(inferenceSent, org.assertj.core.data.Offset.offset(0.05));
    }

    @Test
    void guardrailFailsForTheRegressedVariantOnly() throws Exception {
        JsonNode[] rep = new JsonNode[1];
        // exposures and inference events are keyed to different partitions, flushed separately: wait
        // until the metrics, not only the exposures, cover every unit
        await("exp-latency report with every unit in its exposures and its latency metrics", 120, () -> {
            rep[0] = getJson("/api/v1/experiments/exp-latency/report?fresh=true", DEMO_KEY);
            long units = unitsIn(rep[0]);
            return units >= 1600 && metricUnits(rep[0], "inference.latency_ms", "treatment") >= units
                    && metricUnits(rep[0], "latency_p95", "treatment") >= units;
        }, () -> rep[0] == null ? "" : rep[0].toString().substring(0, Math.min(3000, rep[0].toString().length())));
        assertThat(guardrailStatus(rep[0], "inference.latency_ms", "treatment")).isEqualTo("FAIL");
        assertThat(rep[0].path("data").path("report").path("decision").asText()).isEqualTo("DO_NOT_SHIP");
        // the p95 latency guardrail (a quantile from the per-unit histograms) sees the regression too
        System.out.println("exp-latency p95 guardrail: " + guardrailStatus(rep[0], "latency_p95", "treatment"));
        assertThat(guardrailStatus(rep[0], "latency_p95", "treatment")).isEqualTo("FAIL");
        JsonNode aa = getJson("/api/v1/experiments/exp-aa/report?fresh=true", DEMO_KEY);
        assertThat(unitsIn(aa)).isGreaterThanOrEqualTo(1600);
        assertThat(guardrailStatus(aa, "inference.latency_ms", "a2")).isNotEqualTo("FAIL").isIn("PASS", "INCONCLUSIVE");
        // and as PromQL series (what the shipped ExperimentGuardrailBreach rule reads)
        JsonNode s = instant(DEMO_KEY, "vigil_experiment_guardrail_status{experiment=\"exp-latency\",metric=\"inference.latency_ms\",variant=\"treatment\"}",
                System.currentTimeMillis());
        assertThat(scalar(s)).isEqualTo(2.0);
    }

    @Test
    void modelHealthAnswers() throws Exception {
        JsonNode models = getJson("/api/v1/models", DEMO_KEY);
        assertThat(models.toString()).contains("ranker");
        JsonNode h = getJson("/api/v1/models/ranker/health?window=1h", DEMO_KEY);
        assertThat(h.path("status").asText()).as(h.toString()).isEqualTo("success");
    }

    @Test
    void shippedRulesAreLoaded() throws Exception {
        JsonNode rules = getJson("/api/v1/rules", DEMO_KEY);
        assertThat(rules.toString()).contains("vigil-ml-health", "vigil-experiments", "ModelErrorRateHigh", "ExperimentGuardrailBreach");
        JsonNode sys = getJson("/api/v1/rules", SYSTEM_KEY);
        assertThat(sys.toString()).contains("vigil-pipeline", "GatewayRejectionSpike", "AggregatorConsumerLagHigh");
        assertThat(getJson("/api/v1/alerts", DEMO_KEY).path("status").asText()).isEqualTo("success");
    }

    @Test
    void everyDashboardPanelReturnsData() throws Exception {
        List<DashboardQueries.Query> all = DashboardQueries.load(root.resolve("dashboards"));
        List<DashboardQueries.Query> pipeline = all.stream().filter(q -> q.dashboard().equals("Vigil pipeline")).toList();
        List<DashboardQueries.Query> user = all.stream().filter(q -> !q.dashboard().equals("Vigil pipeline")).toList();
        assertThat(pipeline).isNotEmpty();
        assertThat(user).isNotEmpty();
        String base = "http://127.0.0.1:" + query;
        List<String>[] problems = new List[1];
        await("every dashboard query returns data", 150, () -> {
            List<String> p = new ArrayList<>(ITDashboardQueries.check(base, DEMO_KEY, user));
            p.addAll(ITDashboardQueries.check(base, SYSTEM_KEY, pipeline));
            problems[0] = p;
            return p.isEmpty();
        }, () -> String.join("\n", problems[0] == null ? List.of() : problems[0]));
        assertThat(problems[0]).isEmpty();
    }

    @AfterAll
    void stopStack() {
        List<String> names = new ArrayList<>(procs.keySet());
        java.util.Collections.reverse(names);
        for (String n : names) {
            Process p = procs.get(n);
            p.destroy();
            try {
                if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly().waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    @FunctionalInterface
    interface Cond {
        boolean get() throws Exception;
    }

    static long unitsIn(JsonNode report) {
        long max = 0;
        for (JsonNode v : report.path("data").path("report").path("srm").path("observedUnits")) max += v.asLong();
        if (max == 0) {
            for (JsonNode m : report.path("data").path("report").path("metrics")) {
                max = Math.max(max, m.path("controlUnits").asLong() + m.path("variantUnits").asLong());
            }
        }
        return max;
    }

    /** Units (control + variant) behind one metric's comparison, 0 if the report does not have it yet. */
    static long metricUnits(JsonNode report, String metric, String variant) {
        for (JsonNode m : report.path("data").path("report").path("metrics")) {
            if (m.path("metricId").asText().equals(metric) && m.path("variantId").asText().equals(variant)) {
                return m.path("controlUnits").asLong() + m.path("variantUnits").asLong();
            }
        }
        return 0;
    }

    static String guardrailStatus(JsonNode report, String metric, String variant) {
        for (JsonNode m : report.path("data").path("report").path("metrics")) {
            if (m.path("metricId").asText().equals(metric) && m.path("variantId").asText().equals(variant)) {
                return m.path("guardrail").path("status").asText();
            }
        }
        throw new AssertionError("no " + metric + "/" + variant + " in " + report);
    }

    JsonNode instant(String key, String q, long timeMs) throws Exception {
        String body = "query=" + URLEncoder.encode(q, StandardCharsets.UTF_8) + "&time=" + (timeMs / 1000.0);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + query + "/api/v1/query"))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/x-www-form-urlencoded")
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(q + " -> " + r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    static double scalar(JsonNode queryAnswer) {
        JsonNode res = queryAnswer.path("data").path("result");
        if (!res.isArray() || res.isEmpty()) return Double.NaN;
        return Double.parseDouble(res.get(0).path("value").get(1).asText());
    }

    JsonNode getJson(String path, String key) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + query + path))
                .header("Authorization", "Bearer " + key).timeout(Duration.ofSeconds(120)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + " -> " + r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    int get(String url, String key) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).GET();
            if (key != null) b.header("Authorization", "Bearer " + key);
            return http.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    void start(String name, String module, String main, Map<String, String> env) throws IOException {
        String cp = root.resolve(module).resolve("target/classes") + ":" + root.resolve(module).resolve("target/lib") + "/*";
        assertThat(root.resolve(module).resolve("target/lib")).as(module + " packaged (mvn package)").isDirectory();
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(List.of(JVM_FLAGS.split(" ")));
        cmd.addAll(List.of("-Xmx384m", "-Dvigil.service=" + name, "-cp", cp, main));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("VIGIL_"));
        pb.environment().putAll(env);
        pb.redirectErrorStream(true).redirectOutput(dir.resolve("logs").resolve(name + ".log").toFile());
        Process p = pb.start();
        procs.put(name, p);
        System.out.println("e2e: started " + name + " pid=" + p.pid());
    }

    boolean logContains(String name, String text) {
        try {
            return Files.readString(dir.resolve("logs").resolve(name + ".log")).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    void await(String what, int seconds, Cond cond) throws Exception {
        await(what, seconds, cond, () -> "");
    }

    void await(String what, int seconds, Cond cond, java.util.function.Supplier<String> detail) throws Exception {
        long deadline = System.currentTimeMillis() + seconds * 1000L;
        while (true) {
            for (Map.Entry<String, Process> e : procs.entrySet()) {
                if (!e.getValue().isAlive()) {
                    throw new AssertionError(e.getKey() + " exited (code " + e.getValue().exitValue() + "); log:\n"
                            + tail(dir.resolve("logs").resolve(e.getKey() + ".log")));
                }
            }
            if (cond.get()) return;
            if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out after " + seconds + " s: " + what + "\n" + detail.get());
            Thread.sleep(1000);
        }
    }

    static String tail(Path log) {
        try {
            List<String> l = Files.readAllLines(log);
            return String.join("\n", l.subList(Math.max(0, l.size() - 30), l.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static Map<String, String> with(Map<String, String> m, String... kv) {
        Map<String, String> out = new LinkedHashMap<>(m);
        for (int i = 0; i < kv.length; i += 2) out.put(kv[i], kv[i + 1]);
        return out;
    }

    static int[] freePorts(int n) throws IOException {
        int[] out = new int[n];
        List<ServerSocket> held = new ArrayList<>();
        try {
            // Below the kernel's ephemeral range (32768+): ports from ServerSocket(0) lie inside it, and
            // the outgoing connections of services started first could take them before they bind.
            java.util.concurrent.ThreadLocalRandom rnd = java.util.concurrent.ThreadLocalRandom.current();
            for (int i = 0; i < n; ) {
                try {
                    ServerSocket s = new ServerSocket(20_000 + rnd.nextInt(12_000), 1, java.net.InetAddress.getLoopbackAddress());
                    held.add(s);
                    out[i++] = s.getLocalPort();
                } catch (IOException taken) {
                    // try another
                }
            }
        } finally {
            for (ServerSocket s : held) s.close();
        }
        return out;
    }
}
