package dev.vigil.loadtest;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;

/**
 * Open-loop load generator for the ingest gateway: batches are due at a constant rate and
 * latency is measured from each batch's intended send time (so a slow server cannot hide its
 * queueing: no coordinated omission). Loopback only, bounded duration (except demo mode, which
 * runs until SIGTERM).
 *
 * <pre>
 * java -cp load-test/target/classes:load-test/target/lib/* dev.vigil.loadtest.LoadTestMain \
 *   --url http://127.0.0.1:8080 --api-key KEY --rate 100000 --duration 30s \
 *   [--batch 500] [--connections 8] [--protocol json|otlp] [--mix inference|experiment|burst|mixed|accounting|demo]
 *   [--invalid-share 0.0] [--max-outstanding 2000] [--report-json out.json] [--quiet]
 *   [--ledger ledger.json [--run ID]] [--retry-for 60s] [--timeout 30s] [--no-retry] [--warmup 0s]
 *
 * Demo mode (./vigil up --demo): VIGIL_LOADTEST_MODE=demo VIGIL_LOADTEST_TARGET=http://127.0.0.1:8080
 *   VIGIL_LOADTEST_API_KEY=KEY [VIGIL_LOADTEST_RATE=200] java ... LoadTestMain   (runs until SIGTERM)
 * </pre>
 *
 * <p>Retries: a batch answered 429, 503, 502, 504, 408, or not answered (connection refused or
 * reset, timeout) is re-sent with the same body (same {@code batch_id}, same OTLP event ids), with
 * Retry-After (capped at 2 s) or exponential backoff, until it gets a final answer or
 * {@code --retry-for} after the end of the run. With {@code --ledger} (accounting mode: measures
 * quantized to 1/8, a {@code run} dim on every event, fresh timestamps) the accepted events of
 * every 2xx answer are recorded per series for {@link LossCheck}.
 *
 * <p>{@code --warmup W}: batches due in the first W of the run are sent and counted like the
 * others but their latency is left out of the report's percentiles, so a steady-state latency is
 * not a cold generator's (its first second, before its own JIT, sends late and reads ~500 ms).
 */
public final class LoadTestMain {
    static final long MAX_DURATION_MS = 600_000;
    static final ObjectMapper JSON = new ObjectMapper();

    record Options(URI url, String apiKey, double rate, int batch, long durationMs, int connections, String protocol, String mix,
                   double invalidShare, int maxOutstanding, Path reportJson, boolean quiet, int pool, Path ledger, String run,
                   long retryForMs, long timeoutMs, boolean retry, boolean fresh, boolean demo, long warmupMs) {
        Options(URI url, String apiKey, double rate, int batch, long durationMs, int connections, String protocol, String mix,
                double invalidShare, int maxOutstanding, Path reportJson, boolean quiet, int pool, Path ledger, String run,
                long retryForMs, long timeoutMs, boolean retry, boolean fresh, boolean demo) {
            this(url, apiKey, rate, batch, durationMs, connections, protocol, mix, invalidShare, maxOutstanding, reportJson, quiet, pool,
                    ledger, run, retryForMs, timeoutMs, retry, fresh, demo, 0L);
        }

        Options withLedgerRun(String r) {
            return new Options(url, apiKey, rate, batch, durationMs, connections, protocol, mix, invalidShare, maxOutstanding, reportJson,
                    quiet, pool, ledger, r, retryForMs, timeoutMs, retry, fresh, demo, warmupMs);
        }
    }

    static final String USAGE = """
            usage: java -cp 'load-test/target/classes:load-test/target/lib/*' dev.vigil.loadtest.LoadTestMain \\
                     --url http://127.0.0.1:8080 --api-key KEY --rate EVENTS_PER_S --duration 30s (at most 600s) \\
                     [--batch 500] [--connections 8] [--protocol json|otlp] [--mix inference|experiment|burst|mixed|accounting|demo]
                     [--invalid-share 0.0] [--max-outstanding 2000] [--report-json out.json] [--quiet]
                     [--ledger ledger.json [--run ID]] [--retry-for 60s] [--timeout 30s] [--no-retry] [--warmup 0s]
                     [--fresh (a new body per batch, as with --ledger)] [--pool N (pre-built bodies, default 64)]
            Open-loop load against the gateway on loopback (docs/load-test.md).""";

    /** The options {@link #parse} knows (an unknown one was ignored: a typo ran with the default). */
    static final java.util.Set<String> OPTIONS = java.util.Set.of("url", "api-key", "rate", "duration", "batch", "connections", "protocol",
            "mix", "invalid-share", "max-outstanding", "report-json", "quiet", "ledger", "run", "retry-for", "timeout", "no-retry",
            "warmup", "fresh", "pool");

    public static void main(String[] args) throws Exception {
        if (java.util.Arrays.asList(args).contains("--help") || java.util.Arrays.asList(args).contains("-h")) {
            System.out.println(USAGE);
            return;
        }
        Options o;
        try {
            o = "demo".equalsIgnoreCase(System.getenv("VIGIL_LOADTEST_MODE")) && args.length == 0 ? demoOptions(System.getenv()) : parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("load-test: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        LoadTestMain lt = new LoadTestMain(o);
        if (o.demo()) {
            Thread main = Thread.currentThread();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                lt.stop();
                try {
                    main.join(10_000);
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            }, "loadgen-sigterm"));
            System.out.println("READY load-demo " + o.url() + " rate=" + o.rate() + " ev/s (runs until SIGTERM)");
        }
        Report r = lt.run();
        System.out.println(r.text());
        if (o.reportJson() != null) {
            Files.writeString(o.reportJson(), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r.json()));
        }
        if (o.ledger() != null) {
            lt.ledger.write(o.ledger());
            System.out.println("ledger written: " + o.ledger() + " (run " + o.run() + ", " + lt.ledger.ackedEvents() + " acknowledged events)");
        }
        System.out.println("REPORT-JSON " + JSON.writeValueAsString(r.json()));
    }

    /** The env-based invocation of {@code ./vigil up --demo}. */
    static Options demoOptions(Map<String, String> env) {
        URI url = URI.create(env.getOrDefault("VIGIL_LOADTEST_TARGET", "http://127.0.0.1:8080"));
        checkLoopback(url);
        String key = env.get("VIGIL_LOADTEST_API_KEY");
        if (key == null || key.isBlank()) {
            throw new IllegalArgumentException("VIGIL_LOADTEST_API_KEY is required in demo mode");
        }
        double rate = Double.parseDouble(env.getOrDefault("VIGIL_LOADTEST_RATE", "200"));
        if (rate <= 0 || rate > 1_000_000) {
            throw new IllegalArgumentException("VIGIL_LOADTEST_RATE must be in (0, 1000000]");
        }
        int batch = (int) Math.max(1, Math.min(100, rate / 4));
        return new Options(url, key, rate, batch, Long.MAX_VALUE / 4_000_000L, 2, "json", "demo", 0.01, 100, null, true, 0, null, null,
                30_000, 10_000, true, true, true);
    }

    static void checkLoopback(URI url) {
        try {
            if (!InetAddress.getByName(url.getHost()).isLoopbackAddress()) {
                throw new IllegalArgumentException("--url must be a loopback address (127.0.0.0/8, ::1, localhost); got " + url.getHost());
            }
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("--url host unknown: " + url.getHost());
        }
    }

    static Options parse(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a + "'");
            }
            String k = a.substring(2);
            String name = k.indexOf('=') > 0 ? k.substring(0, k.indexOf('=')) : k;
            if (!OPTIONS.contains(name)) {
                throw new IllegalArgumentException("unknown option --" + name);
            }
            if (k.equals("quiet") || k.equals("no-retry") || k.equals("fresh")) {
                m.put(k, "true");
                continue;
            }
            int eq = k.indexOf('=');
            if (eq > 0) {
                m.put(k.substring(0, eq), k.substring(eq + 1));
            } else if (i + 1 < args.length) {
                m.put(k, args[++i]);
            } else {
                throw new IllegalArgumentException("option --" + k + " needs a value");
            }
        }
        URI url = URI.create(m.getOrDefault("url", "http://127.0.0.1:8080"));
        checkLoopback(url);
        String key = m.getOrDefault("api-key", System.getenv("VIGIL_LOADTEST_API_KEY"));
        if (key == null) {
            throw new IllegalArgumentException("--api-key (or VIGIL_LOADTEST_API_KEY) is required");
        }
        if (!m.containsKey("rate") || !m.containsKey("duration")) {
            throw new IllegalArgumentException("--rate (events/s) and --duration (e.g. 30s, max 600s) are required");
        }
        long dur = parseDuration(m.get("duration"));
        if (dur <= 0 || dur > MAX_DURATION_MS) {
            throw new IllegalArgumentException("--duration must be in (0, 600s]");
        }
        String protocol = m.getOrDefault("protocol", "json");
        if (!List.of("json", "otlp").contains(protocol)) {
            throw new IllegalArgumentException("--protocol must be json or otlp");
        }
        Path ledger = m.containsKey("ledger") ? Path.of(m.get("ledger")) : null;
        String mix = m.getOrDefault("mix", ledger != null ? "accounting" : "inference");
        if (!List.of("inference", "experiment", "burst", "mixed", "accounting", "demo").contains(mix)) {
            throw new IllegalArgumentException("--mix must be inference, experiment, burst, mixed, accounting or demo");
        }
        double rate = Double.parseDouble(m.get("rate"));
        int batch = Integer.parseInt(m.getOrDefault("batch", "500"));
        if (rate <= 0 || batch <= 0) {
            throw new IllegalArgumentException("--rate and --batch must be positive");
        }
        String run = m.getOrDefault("run", "r" + Long.toString(System.currentTimeMillis(), 36));
        long warmup = parseDuration(m.getOrDefault("warmup", "0s"));
        if (warmup < 0 || warmup >= dur) {
            throw new IllegalArgumentException("--warmup must be at least 0 and shorter than --duration");
        }
        return new Options(url, key, rate, batch, dur, Integer.parseInt(m.getOrDefault("connections", "8")), protocol, mix,
                Double.parseDouble(m.getOrDefault("invalid-share", "0")), Integer.parseInt(m.getOrDefault("max-outstanding", "2000")),
                m.containsKey("report-json") ? Path.of(m.get("report-json")) : null, m.containsKey("quiet"),
                Integer.parseInt(m.getOrDefault("pool", "64")), ledger, ledger != null ? run : null,
                parseDuration(m.getOrDefault("retry-for", "60s")), parseDuration(m.getOrDefault("timeout", "30s")),
                !m.containsKey("no-retry"), ledger != null || m.containsKey("fresh"), false, warmup);
    }

    static long parseDuration(String s) {
        s = s.trim().toLowerCase(Locale.ROOT);
        if (s.endsWith("ms")) {
            return Long.parseLong(s.substring(0, s.length() - 2));
        }
        if (s.endsWith("s")) {
            return Long.parseLong(s.substring(0, s.length() - 1)) * 1000;
        }
        if (s.endsWith("m")) {
            return Long.parseLong(s.substring(0, s.length() - 1)) * 60_000;
        }
        return Long.parseLong(s) * 1000;
    }

    private final Options o;
    final Ledger ledger;
    private final Recorder interval = new Recorder(3);
    /** Batches due before this (System.nanoTime; set by run() before any is due) are warm-up: not in the latency percentiles. */
    private volatile long warmupEndNanos;
    private final Histogram total = new Histogram(3);
    private final Map<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> rejections = new ConcurrentHashMap<>();
    private final LongAdder eventsSent = new LongAdder();
    private final LongAdder eventsAccepted = new LongAdder();
    private final LongAdder bytesSent = new LongAdder();
    private final LongAdder bytesAccepted = new LongAdder();
    private final LongAdder transportErrors = new LongAdder();
    private final LongAdder retries = new LongAdder();
    private final LongAdder gaveUp = new LongAdder();
    private final AtomicLong backlogDropped = new AtomicLong();
    private final AtomicLong firstFailureNanos = new AtomicLong();
    private final List<byte[]> payloads = new ArrayList<>();
    private final List<Integer> payloadEvents = new ArrayList<>();
    private final Map<String, String> otlpExtraDims;
    private volatile boolean stopped;
    /** Time series of (seconds since start, accepted ev/s, failed attempts/s) for recovery analysis. */
    final List<long[]> timeline = java.util.Collections.synchronizedList(new ArrayList<>());

    LoadTestMain(Options o) {
        this.o = o;
        this.ledger = new Ledger(o.run(), "");
        this.otlpExtraDims = o.protocol().equals("json") ? Map.of() : Map.of("service", "loadgen");
    }

    /** Stops a running generator early (demo mode's SIGTERM); in-flight batches still finish. */
    void stop() {
        stopped = true;
    }

    /** A pool of ready request bodies (batch ids are spliced in per request so ids stay unique). */
    private void buildPool(long start) {
        Workload w = new Workload(o.mix(), o.invalidShare(), start, o.durationMs(), 42);
        for (int p = 0; p < o.pool(); p++) {
            long now = System.currentTimeMillis();
            if (o.protocol().equals("json")) {
                StringBuilder sb = new StringBuilder(o.batch() * 220);
                for (int i = 0; i < o.batch(); i++) {
                    sb.append(i == 0 ? "" : ",").append(w.json(now));
                }
                sb.append("]}");
                payloads.add(sb.toString().getBytes(StandardCharsets.UTF_8));
            } else {
                List<LogRecord> recs = new ArrayList<>(o.batch());
                for (int i = 0; i < o.batch(); i++) {
                    recs.add(w.next(now).otlp(null));
                }
                payloads.add(otlpBody(recs));
            }
            payloadEvents.add(o.batch());
        }
    }

    private static byte[] otlpBody(List<LogRecord> recs) {
        return ExportLogsServiceRequest.newBuilder().addResourceLogs(ResourceLogs.newBuilder()
                .setResource(io.opentelemetry.proto.resource.v1.Resource.newBuilder().addAttributes(Workload.str("service.name", "loadgen")))
                .addScopeLogs(ScopeLogs.newBuilder().addAllLogRecords(recs))).build().toByteArray();
    }

    Report run() throws Exception {
        long startWall = System.currentTimeMillis();
        if (!o.fresh()) {
            buildPool(startWall);
        }
        String runId = o.run() != null ? o.run() : Long.toString(startWall, 36);
        ArrayBlockingQueue<long[]> due = new ArrayBlockingQueue<>(Math.max(1, o.maxOutstanding()));
        double batchesPerSec = o.rate() / o.batch();
        long periodNanos = (long) (1e9 / batchesPerSec);
        long t0 = System.nanoTime() + 50_000_000L;
        long end = t0 + o.durationMs() * 1_000_000L;
        warmupEndNanos = t0 + o.warmupMs() * 1_000_000L;
        List<Thread> workers = new ArrayList<>();
        String path = o.protocol().equals("json") ? "/v1/events" : "/v1/logs";
        URI target = o.url().resolve(path);
        for (int c = 0; c < o.connections(); c++) {
            final int seed = c;
            workers.add(Thread.ofPlatform().name("loadgen-conn-" + c).daemon().start(() -> worker(due, target, runId, end, startWall, seed)));
        }
        Thread progress = Thread.ofPlatform().name("loadgen-progress").daemon().start(() -> progress(t0));
        long k = 0;
        while (!stopped) {
            long intended = t0 + k * periodNanos;
            if (intended >= end) {
                break;
            }
            long wait = intended - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(Math.min(wait, 200_000_000L));
                if (intended - System.nanoTime() > 0) {
                    continue;
                }
            }
            if (!due.offer(new long[] {intended, k})) {
                backlogDropped.incrementAndGet();
            }
            k++;
        }
        long drainUntil = System.nanoTime() + 30_000_000_000L;
        while (!due.isEmpty() && System.nanoTime() < drainUntil && !stopped) {
            Thread.sleep(10);
        }
        due.clear();
        for (int c = 0; c < workers.size(); c++) {
            due.offer(new long[] {-1, -1});
        }
        for (Thread t : workers) {
            t.join(o.retryForMs() + o.timeoutMs() + 5_000);
        }
        progress.interrupt();
        long elapsed = Math.max(1, (System.nanoTime() - t0) / 1_000_000);
        synchronized (total) {
            total.add(interval.getIntervalHistogram());
        }
        return new Report(o, total, statuses, rejections, eventsSent.sum(), eventsAccepted.sum(), bytesSent.sum(), bytesAccepted.sum(),
                transportErrors.sum(), backlogDropped.get(), k, Math.min(elapsed, o.durationMs() + 30_000), Math.min(o.durationMs(), elapsed),
                retries.sum(), gaveUp.sum(), o.ledger() != null || o.run() != null ? ledger.ackedEvents() : -1,
                o.run() != null ? ledger.inDoubtEvents() : -1, acceptedPerSecAfterWarmup());
    }

    private record Batch(byte[] body, int n, List<Workload.Ev> events) {
    }

    private Batch makeBatch(Workload w, long seq, String runId, boolean json) {
        if (!o.fresh()) {
            int p = (int) (seq % payloads.size());
            byte[] body;
            if (json) {
                byte[] head = ("{\"batch_id\":\"lt-" + runId + "-" + seq + "\",\"events\":[").getBytes(StandardCharsets.UTF_8);
                ByteArrayOutputStream bos = new ByteArrayOutputStream(head.length + payloads.get(p).length);
                bos.writeBytes(head);
                bos.writeBytes(payloads.get(p));
                body = bos.toByteArray();
            } else {
                body = payloads.get(p);
            }
            return new Batch(body, payloadEvents.get(p), null);
        }
        long now = System.currentTimeMillis();
        List<Workload.Ev> evs = new ArrayList<>(o.batch());
        for (int i = 0; i < o.batch(); i++) {
            evs.add(w.next(now));
        }
        if (json) {
            StringBuilder sb = new StringBuilder(o.batch() * 230 + 64);
            sb.append("{\"batch_id\":\"lt-").append(runId).append('-').append(seq).append("\",\"events\":[");
            for (int i = 0; i < evs.size(); i++) {
                sb.append(i == 0 ? "" : ",").append(evs.get(i).json());
            }
            sb.append("]}");
            return new Batch(sb.toString().getBytes(StandardCharsets.UTF_8), evs.size(), evs);
        }
        List<LogRecord> recs = new ArrayList<>(evs.size());
        for (int i = 0; i < evs.size(); i++) {
            recs.add(evs.get(i).otlp("lt-" + runId + "-" + seq + "#" + i));
        }
        return new Batch(otlpBody(recs), evs.size(), evs);
    }

    private static boolean retryable(int sc) {
        return sc == 429 || sc == 503 || sc == 502 || sc == 504 || sc == 408;
    }

    private void worker(ArrayBlockingQueue<long[]> due, URI target, String runId, long end, long startWall, int seed) {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        boolean json = o.protocol().equals("json");
        boolean quantize = o.ledger() != null || o.run() != null;
        Workload w = o.fresh() ? new Workload(o.mix(), o.invalidShare(), startWall, o.durationMs() > 86_400_000L ? 3_600_000L : o.durationMs(),
                42 + seed * 7919L + startWall, quantize, quantize ? runId : null) : null;
        while (true) {
            long[] item;
            try {
                item = due.take();
            } catch (InterruptedException e) {
                return;
            }
            if (item[0] < 0) {
                return;
            }
            Batch b = makeBatch(w, item[1], runId, json);
            HttpRequest req = HttpRequest.newBuilder(target).timeout(Duration.ofMillis(o.timeoutMs()))
                    .header("Authorization", "Bearer " + o.apiKey())
                    .header("Content-Type", json ? "application/json" : "application/x-protobuf")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(b.body())).build();
            eventsSent.add(b.n());
            bytesSent.add(b.body().length);
            long giveUpAt = Math.min(end, System.nanoTime() + (stopped ? 0 : Long.MAX_VALUE / 4)) + o.retryForMs() * 1_000_000L;
            for (int attempt = 0; ; attempt++) {
                long backoffMs = Math.min(2000, 100L << Math.min(attempt, 5));
                try {
                    HttpResponse<byte[]> r = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
                    int sc = r.statusCode();
                    statuses.computeIfAbsent(sc, s -> new LongAdder()).increment();
                    if (!(o.retry() && retryable(sc))) {
                        recordLatency(item[0]);
                        account(r, b, json);
                        break;
                    }
                    firstFailureNanos.compareAndSet(0, System.nanoTime());
                    String ra = r.headers().firstValue("Retry-After").orElse(null);
                    if (ra != null) {
                        try {
                            backoffMs = Math.min(2000, Math.max(50, (long) (Double.parseDouble(ra) * 1000)));
                        } catch (NumberFormatException ignored) {
                            // keep the exponential backoff
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    doubt(b, "interrupted");
                    return;
                } catch (Exception e) {
                    transportErrors.increment();
                    statuses.computeIfAbsent(-1, s -> new LongAdder()).increment();
                    firstFailureNanos.compareAndSet(0, System.nanoTime());
                    if (!o.retry()) {
                        recordLatency(item[0]);
                        doubt(b, "transport_error");
                        break;
                    }
                }
                if (System.nanoTime() > giveUpAt || (stopped && attempt >= 2)) {
                    recordLatency(item[0]);
                    gaveUp.increment();
                    doubt(b, "gave_up_after_retries");
                    break;
                }
                retries.increment();
                try {
                    Thread.sleep(backoffMs / 2 + ThreadLocalRandom.current().nextLong(backoffMs / 2 + 1));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    doubt(b, "interrupted");
                    return;
                }
            }
        }
    }

    private void doubt(Batch b, String reason) {
        rejections.computeIfAbsent(reason, x -> new LongAdder()).add(b.n());
        if (b.events() != null && o.run() != null) {
            ledger.doubt(b.events(), otlpExtraDims);
        }
    }

    private void account(HttpResponse<byte[]> r, Batch b, boolean json) {
        int sc = r.statusCode();
        int n = b.n();
        if (sc / 100 == 2 || (sc == 400 && json)) {
            int accepted = n;
            int rejected = 0;
            Set<Integer> rejectedIdx = new HashSet<>();
            boolean known = true;
            if (json) {
                String s = new String(r.body(), 0, Math.min(r.body().length, 200), StandardCharsets.UTF_8);
                if (sc != 200 || !s.contains("\"rejected\":0")) {
                    try {
                        JsonNode j = JSON.readTree(r.body());
                        accepted = j.path("accepted").asInt();
                        rejected = j.path("rejected").asInt();
                        for (JsonNode e : j.path("errors")) {
                            rejections.computeIfAbsent(e.path("reason").asText("?"), x -> new LongAdder()).increment();
                            rejectedIdx.add(e.path("index").asInt());
                        }
                        if (j.path("errors_truncated").asBoolean(false) || rejectedIdx.size() != rejected) {
                            known = false;
                        }
                        if (sc != 200) {
                            String err = j.path("error").asText("");
                            rejections.computeIfAbsent(err.isEmpty() ? "http_400" : err, x -> new LongAdder()).increment();
                            if (!j.has("accepted")) { // the whole body was refused
                                accepted = 0;
                                rejected = n;
                                for (int i = 0; i < n; i++) {
                                    rejectedIdx.add(i);
                                }
                                known = true;
                            }
                        }
                    } catch (Exception e) {
                        rejections.computeIfAbsent("unparseable_response", x -> new LongAdder()).increment();
                        known = false;
                    }
                }
            } else {
                try {
                    ExportLogsServiceResponse resp = ExportLogsServiceResponse.parseFrom(r.body());
                    rejected = (int) resp.getPartialSuccess().getRejectedLogRecords();
                    accepted = n - rejected;
                    if (rejected > 0) {
                        rejections.computeIfAbsent("otlp_partial", x -> new LongAdder()).add(rejected);
                        known = false;
                    }
                } catch (Exception e) {
                    rejections.computeIfAbsent("unparseable_response", x -> new LongAdder()).increment();
                    known = false;
                }
            }
            eventsAccepted.add(accepted);
            if (accepted > 0) {
                bytesAccepted.add(b.body().length);
            }
            if (b.events() != null && o.run() != null) {
                if (!known) {
                    // the answer does not say which events were rejected: use the generator's own
                    // knowledge of the invalid ones if the numbers agree, else the batch is in doubt
                    Set<Integer> inv = new HashSet<>();
                    for (int i = 0; i < b.events().size(); i++) {
                        if (b.events().get(i).invalid()) {
                            inv.add(i);
                        }
                    }
                    if (inv.size() == rejected) {
                        ledger.ack(b.events(), inv, otlpExtraDims);
                    } else {
                        ledger.doubt(b.events(), otlpExtraDims);
                    }
                } else {
                    ledger.ack(b.events(), rejectedIdx, otlpExtraDims);
                }
            }
        } else {
            rejections.computeIfAbsent("http_" + sc, x -> new LongAdder()).add(n);
        }
    }

    /**
     * Events accepted per second over the whole seconds after the warm-up and within the run (by
     * the second they were answered in), or NaN: a cold generator's first seconds would otherwise
     * drag a peak down (its first two seconds sent almost nothing in the gateway benchmark).
     */
    private double acceptedPerSecAfterWarmup() {
        long n = 0;
        long firstMs = -1;
        long lastMs = -1;
        synchronized (timeline) {
            long prevMs = 0;
            for (long[] t : timeline) {
                // each entry: events answered between the previous entry's time and t[0]
                if (prevMs >= o.warmupMs() && t[0] <= o.durationMs() + 500) {
                    n += t[1];
                    if (firstMs < 0) {
                        firstMs = prevMs;
                    }
                    lastMs = t[0];
                }
                prevMs = t[0];
            }
        }
        return lastMs <= firstMs ? Double.NaN : n * 1000.0 / (lastMs - firstMs);
    }

    private void recordLatency(long intendedNanos) {
        if (intendedNanos - warmupEndNanos >= 0) {
            interval.recordValue(Math.max(1, (System.nanoTime() - intendedNanos) / 1000));
        }
    }

    private void progress(long t0) {
        long lastAcc = 0;
        long lastSent = 0;
        long lastFail = 0;
        Histogram h = null;
        long tick = 0;
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            tick++;
            h = interval.getIntervalHistogram(h);
            synchronized (total) {
                total.add(h);
            }
            long acc = eventsAccepted.sum();
            long sent = eventsSent.sum();
            long fail = transportErrors.sum() + statuses.entrySet().stream().filter(e -> retryable(e.getKey())).mapToLong(e -> e.getValue().sum()).sum();
            timeline.add(new long[] {(System.nanoTime() - t0) / 1_000_000L, acc - lastAcc, fail - lastFail});
            boolean show = !o.quiet() || (o.demo() && tick % 60 == 0);
            if (show) {
                Map<Integer, Long> st = new TreeMap<>();
                statuses.forEach((k, v) -> st.put(k, v.sum()));
                System.out.printf(Locale.ROOT, "t=%3ds sent=%,d ev/s accepted=%,d ev/s p50=%.1fms p99=%.1fms statuses=%s retries=%d backlog_dropped=%d%n",
                        (System.nanoTime() - t0) / 1_000_000_000L, sent - lastSent, acc - lastAcc,
                        h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0, st, retries.sum(), backlogDropped.get());
            }
            lastAcc = acc;
            lastSent = sent;
            lastFail = fail;
        }
    }

    /** The final report, as text and as JSON. */
    record Report(Options o, Histogram lat, Map<Integer, LongAdder> statuses, Map<String, LongAdder> rejections, long eventsSent,
                  long eventsAccepted, long bytesSent, long bytesAccepted, long transportErrors, long backlogDropped, long batchesDue,
                  long elapsedMs, long durationMs, long retries, long gaveUp, long ledgerAcked, long ledgerInDoubt,
                  double acceptedPerSecAfterWarmup) {
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("url", o.url().toString());
            m.put("protocol", o.protocol());
            m.put("mix", o.mix());
            m.put("offered_events_per_sec", o.rate());
            m.put("batch", o.batch());
            m.put("connections", o.connections());
            m.put("duration_s", durationMs / 1000.0);
            if (o.warmupMs() > 0) {
                m.put("latency_warmup_excluded_s", o.warmupMs() / 1000.0);
            }
            // over the whole seconds of the run without a warm-up
            m.put("accepted_events_per_sec_after_warmup", Math.round(acceptedPerSecAfterWarmup));
            m.put("batches_due", batchesDue);
            m.put("batches_not_sent_generator_backlog", backlogDropped);
            m.put("events_sent", eventsSent);
            m.put("events_accepted", eventsAccepted);
            double secs = Math.max(0.001, durationMs / 1000.0);
            m.put("accepted_events_per_sec", Math.round(eventsAccepted / secs));
            m.put("sent_bytes_per_sec", Math.round(bytesSent / secs));
            m.put("accepted_bytes_per_sec", Math.round(bytesAccepted / secs));
            m.put("avg_event_bytes", eventsSent == 0 ? 0 : Math.round(bytesSent / (double) eventsSent));
            Map<String, Object> l = new LinkedHashMap<>();
            for (double p : new double[] {50, 90, 99, 99.9, 100}) {
                l.put("p" + (p == 100 ? "max" : String.valueOf(p).replace(".0", "")), lat.getValueAtPercentile(p) / 1000.0);
            }
            l.put("count", lat.getTotalCount());
            m.put("latency_ms", l);
            Map<String, Long> st = new TreeMap<>();
            statuses.forEach((k, v) -> st.put(Integer.toString(k), v.sum()));
            m.put("statuses", st);
            Map<String, Long> rj = new TreeMap<>();
            rejections.forEach((k, v) -> rj.put(k, v.sum()));
            m.put("rejections", rj);
            m.put("transport_errors", transportErrors);
            m.put("retries", retries);
            m.put("batches_given_up", gaveUp);
            if (ledgerAcked >= 0) {
                m.put("ledger_run", o.run());
                m.put("ledger_acked_events", ledgerAcked);
                m.put("ledger_in_doubt_events", ledgerInDoubt);
            }
            return m;
        }

        String text() {
            Map<String, Object> j = json();
            StringBuilder sb = new StringBuilder("=== load test report ===\n");
            j.forEach((k, v) -> sb.append(String.format(Locale.ROOT, "%-36s %s%n", k, v)));
            return sb.toString();
        }
    }
}
