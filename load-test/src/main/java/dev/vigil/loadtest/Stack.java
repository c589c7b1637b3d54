package dev.vigil.loadtest;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The Vigil stack as child JVMs (Kafka, embedded ClickHouse, gateway, aggregator, query API) on
 * loopback with explicit ports and one data directory, for fault scenarios, the soak and tests.
 * Every process is tracked by PID; {@link #close()} and a shutdown hook end exactly those (SIGTERM,
 * then SIGKILL after a grace period). Faults: {@link #kill} (SIGKILL), {@link #restart},
 * {@link #signal} (e.g. STOP/CONT).
 */
public final class Stack implements AutoCloseable {
    public static final List<String> ALL = List.of("kafka", "clickhouse", "gateway", "aggregator", "query-api");
    static final String JVM_FLAGS = "--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -XX:+UseG1GC";
    /** The aggregator's own, as ./vigil starts it: compact object headers (docs/aggregator-performance.md, "JVM options move both sides"). */
    static final String AGGREGATOR_JVM_FLAGS = "-XX:+UseCompactObjectHeaders";

    /** Ports of one stack. */
    public record Ports(int kafka, int kafkaController, int clickhouse, int gateway, int aggregator, int query) {
        static Ports base(int b) {
            return new Ports(b, b + 1, b + 2, b + 3, b + 4, b + 5);
        }
    }

    private record Spec(String module, String main, Map<String, String> env, String heap) {
    }

    private final Path root;
    final Path dir;
    final Ports ports;
    final String apiKey;
    final String tenant;
    private final String javaExe;
    private final String chdbLib;
    private final Map<String, Process> procs = new ConcurrentHashMap<>();
    private final Map<String, Spec> specs = new LinkedHashMap<>();
    /**
     * The services' {@code java.io.tmpdir}, deleted by {@link #close()} and the shutdown hook: lz4-java extracts its native
     * library there and deletes it only on a normal exit, so every SIGKILLed service left a {@code liblz4-java-*.so} in
     * /tmp. Not under {@link #dir}, which the disk-full scenario puts on a nearly full filesystem.
     */
    private final Path tmp;
    private final Thread hook;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    /**
     * @param root    a directory holding {@code <module>/target/classes} and {@code <module>/target/lib}
     *                (the repository after {@code mvn package}, or a {@link #snapshot})
     * @param dir     data and log directory of this stack
     * @param chdbLib path of libchdb.so (scripts/fetch-chdb.sh)
     */
    public Stack(Path root, Path dir, Ports ports, String chdbLib) throws IOException {
        this.root = root;
        this.dir = dir;
        this.ports = ports;
        this.chdbLib = chdbLib;
        this.tenant = "lt";
        this.apiKey = "lt-key-" + Long.toHexString(System.nanoTime());
        this.javaExe = ProcessHandle.current().info().command().orElse("java");
        Files.createDirectories(dir.resolve("logs"));
        this.tmp = Files.createTempDirectory("vigil-stack-tmp-");
        String boot = "127.0.0.1:" + ports.kafka();
        String ch = "jdbc:clickhouse:http://127.0.0.1:" + ports.clickhouse() + "/default";
        specs.put("kafka", new Spec("kafka-broker", "dev.vigil.kafka.KafkaBrokerMain", Map.of("VIGIL_KAFKA_DATA_DIR", dir.resolve("kafka").toString(),
                "VIGIL_KAFKA_PORT", "" + ports.kafka(), "VIGIL_KAFKA_CONTROLLER_PORT", "" + ports.kafkaController()), "512m"));
        specs.put("clickhouse", new Spec("embedded-clickhouse", "dev.vigil.clickhouse.EmbeddedClickHouseServer", Map.of("VIGIL_CHDB_LIB", chdbLib,
                "VIGIL_CLICKHOUSE_DATA_DIR", dir.resolve("clickhouse").toString(), "VIGIL_CLICKHOUSE_PORT", "" + ports.clickhouse()), "512m"));
        Map<String, String> common = Map.of("VIGIL_KAFKA_BOOTSTRAP_SERVERS", boot, "VIGIL_API_KEYS", tenant + ":" + apiKey,
                "VIGIL_CLICKHOUSE_URL", ch, "VIGIL_DATA_DIR", dir.toString());
        specs.put("gateway", new Spec("ingest-gateway", "dev.vigil.gateway.GatewayMain", with(common, "VIGIL_GATEWAY_PORT", "" + ports.gateway()), "512m"));
        specs.put("aggregator", new Spec("aggregator", "dev.vigil.aggregator.AggregatorMain", with(common, "VIGIL_AGGREGATOR_PORT", "" + ports.aggregator()), "512m"));
        specs.put("query-api", new Spec("query-api", "dev.vigil.query.QueryApiMain", with(common, "VIGIL_QUERY_PORT", "" + ports.query()), "512m"));
        hook = new Thread(() -> {
            killAllNow();
            deleteTmp();
        }, "stack-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    private static Map<String, String> with(Map<String, String> m, String k, String v) {
        Map<String, String> out = new LinkedHashMap<>(m);
        out.put(k, v);
        return out;
    }

    /** Copies each module's target/classes and target/lib to {@code dest}, so concurrent rebuilds of the repository do not disturb a long run. */
    public static Path snapshot(Path repo, Path dest) throws IOException, InterruptedException {
        Map<String, String> mains = Map.of("kafka-broker", "dev/vigil/kafka/KafkaBrokerMain.class", "embedded-clickhouse",
                "dev/vigil/clickhouse/EmbeddedClickHouseServer.class", "ingest-gateway", "dev/vigil/gateway/GatewayMain.class",
                "aggregator", "dev/vigil/aggregator/AggregatorMain.class", "query-api", "dev/vigil/query/QueryApiMain.class");
        for (int attempt = 0; ; attempt++) {
            copy(repo, dest);
            boolean complete = mains.entrySet().stream().allMatch(e -> Files.isRegularFile(dest.resolve(e.getKey()).resolve("target/classes").resolve(e.getValue())));
            if (complete) {
                return dest;
            }
            if (attempt >= 30) {
                throw new IOException("the build output under " + repo + " stays incomplete (a rebuild in progress?); main classes missing in " + dest);
            }
            System.out.println("snapshot incomplete (a concurrent rebuild?), retrying in 10 s");
            Thread.sleep(10_000);
        }
    }

    private static void copy(Path repo, Path dest) throws IOException {
        for (String m : List.of("kafka-broker", "embedded-clickhouse", "ingest-gateway", "aggregator", "query-api", "load-test")) {
            for (String sub : List.of("classes", "lib")) {
                Path src = repo.resolve(m).resolve("target").resolve(sub);
                if (!Files.isDirectory(src)) {
                    throw new IOException(src + " missing: run mvn -B -q -DskipTests package first");
                }
                Path dst = dest.resolve(m).resolve("target").resolve(sub);
                try (Stream<Path> s = Files.walk(src)) {
                    for (Path p : (Iterable<Path>) s::iterator) {
                        Path t = dst.resolve(src.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(t);
                        } else {
                            Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            }
        }
    }

    public String gatewayUrl() {
        return "http://127.0.0.1:" + ports.gateway();
    }

    public String clickhouseUrl() {
        return "http://127.0.0.1:" + ports.clickhouse();
    }

    public String queryUrl() {
        return "http://127.0.0.1:" + ports.query();
    }

    /** The port serving the service's /metrics, or -1 (Kafka has none here). */
    public int metricsPort(String name) {
        return switch (name) {
            case "clickhouse" -> ports.clickhouse();
            case "gateway" -> ports.gateway();
            case "aggregator" -> ports.aggregator();
            case "query-api" -> ports.query();
            default -> -1;
        };
    }

    public Path log(String name) {
        return dir.resolve("logs").resolve(name + ".log");
    }

    /** Starts the named services in order and waits until each is ready. */
    public void startAll(List<String> names, long timeoutMs) throws Exception {
        for (String n : names) {
            start(n);
            if (n.equals("kafka") || n.equals("clickhouse")) {
                awaitReady(n, timeoutMs);
            }
        }
        for (String n : names) {
            awaitReady(n, timeoutMs);
        }
    }

    public synchronized long start(String name) throws IOException {
        Spec s = specs.get(name);
        Process old = procs.get(name);
        if (old != null && old.isAlive()) {
            throw new IllegalStateException(name + " already running (pid " + old.pid() + ")");
        }
        String cp = root.resolve(s.module()).resolve("target/classes") + ":" + root.resolve(s.module()).resolve("target/lib") + "/*";
        List<String> cmd = new ArrayList<>();
        cmd.add(javaExe);
        cmd.addAll(List.of(JVM_FLAGS.split(" ")));
        if (name.equals("aggregator")) {
            cmd.addAll(List.of(AGGREGATOR_JVM_FLAGS.split(" ")));
        }
        cmd.add("-Xmx" + s.heap());
        if (name.equals("aggregator")) {
            cmd.add("-Xms" + s.heap()); // as ./vigil: the whole heap from the start (docs/aggregator-performance.md, "ninth session")
        }
        cmd.add("-Dvigil.service=" + name);
        cmd.add("-Djava.io.tmpdir=" + tmp);
        cmd.addAll(List.of("-cp", cp, s.main()));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("VIGIL_"));
        pb.environment().putAll(s.env());
        Files.writeString(log(name), "\n=== start " + java.time.Instant.now() + " ===\n", java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log(name).toFile()));
        Process p = pb.start();
        procs.put(name, p);
        return p.pid();
    }

    /** Waits until the service answers ready (ClickHouse: /ping; Kafka: its READY line; others: /health/ready). */
    public void awaitReady(String name, long timeoutMs) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!ready(name)) {
            Process p = procs.get(name);
            if (p == null || !p.isAlive()) {
                throw new IllegalStateException(name + " exited during startup; log " + log(name) + ":\n" + tail(name, 30));
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException(name + " not ready after " + timeoutMs + " ms; log " + log(name) + ":\n" + tail(name, 30));
            }
            Thread.sleep(200);
        }
    }

    public boolean ready(String name) {
        try {
            return switch (name) {
                case "kafka" -> {
                    String log = Files.readString(log(name));
                    int lastStart = log.lastIndexOf("=== start");
                    yield log.indexOf("READY kafka", Math.max(0, lastStart)) >= 0;
                }
                case "clickhouse" -> get("http://127.0.0.1:" + ports.clickhouse() + "/ping") == 200;
                case "gateway" -> get(gatewayUrl() + "/health/ready") == 200;
                case "aggregator" -> get("http://127.0.0.1:" + ports.aggregator() + "/health/ready") == 200;
                case "query-api" -> get(queryUrl() + "/health/ready") == 200;
                default -> false;
            };
        } catch (Exception e) {
            return false;
        }
    }

    /** The body of a GET on one of the services' HTTP paths (e.g. "/metrics") on the given port. */
    public String fetch(int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private int get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.discarding())
                .statusCode();
    }

    public String tail(String name, int lines) {
        try {
            List<String> all = Files.readAllLines(log(name));
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    public long pid(String name) {
        Process p = procs.get(name);
        return p == null ? -1 : p.pid();
    }

    public boolean started(String name) {
        return procs.containsKey(name);
    }

    public boolean alive(String name) {
        Process p = procs.get(name);
        return p != null && p.isAlive();
    }

    /** SIGKILL (the JVM's destroyForcibly is SIGKILL on Linux), then waits for the process to be gone. */
    public void kill(String name) throws InterruptedException {
        Process p = procs.get(name);
        if (p != null && p.isAlive()) {
            p.destroyForcibly();
            p.waitFor(20, TimeUnit.SECONDS);
        }
    }

    /** SIGTERM, waits up to {@code graceMs}, then SIGKILL. */
    public void stop(String name, long graceMs) throws InterruptedException {
        Process p = procs.get(name);
        if (p != null && p.isAlive()) {
            p.destroy();
            if (!p.waitFor(graceMs, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(20, TimeUnit.SECONDS);
            }
        }
    }

    /** Graceful stop and start again; returns the milliseconds until it was ready. */
    public long restart(String name, long timeoutMs) throws Exception {
        stop(name, 30_000);
        long t = System.currentTimeMillis();
        start(name);
        awaitReady(name, timeoutMs);
        return System.currentTimeMillis() - t;
    }

    /** Sends a signal by name (STOP, CONT, ...) to the service's PID. */
    public void signal(String name, String sig) throws Exception {
        long pid = pid(name);
        if (pid <= 0) {
            throw new IllegalStateException(name + " not started");
        }
        Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
        k.waitFor(10, TimeUnit.SECONDS);
    }

    /** Resident set size of the service in KiB (from /proc), or -1. */
    public long rssKiB(String name) {
        long pid = pid(name);
        try {
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
        } catch (Exception e) {
            // gone
        }
        return -1;
    }

    /** CPU seconds (user + system) the service's process has used so far, or -1. */
    public double cpuSeconds(String name) {
        Process p = procs.get(name);
        return p == null ? -1 : p.info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(-1.0);
    }

    private void deleteTmp() {
        for (Process p : procs.values()) {
            try {
                p.waitFor(5, TimeUnit.SECONDS); // a process still exiting may yet write there
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        try (Stream<Path> tree = Files.walk(tmp)) {
            tree.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
        } catch (IOException | java.io.UncheckedIOException e) {
            // best effort: a temp directory
        }
    }

    private void killAllNow() {
        for (Process p : procs.values()) {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    /** Stops every process this stack started: services in reverse order with SIGTERM, SIGKILL after 15 s. */
    @Override
    public void close() {
        List<String> order = new ArrayList<>(ALL);
        java.util.Collections.reverse(order);
        for (String n : order) {
            try {
                Process p = procs.get(n);
                if (p != null && p.isAlive()) {
                    // a SIGSTOPped process cannot act on SIGTERM
                    new ProcessBuilder("kill", "-CONT", Long.toString(p.pid())).start().waitFor(5, TimeUnit.SECONDS);
                }
                stop(n, 15_000);
            } catch (Exception e) {
                Thread.currentThread().interrupt();
            }
        }
        killAllNow();
        deleteTmp();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // already shutting down
        }
    }
}
