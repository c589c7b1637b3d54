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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
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
 * queueing: no coordinated omission). Loopback only, bounded duration.
 *
 * <pre>
 * java -cp load-test/target/classes:load-test/target/lib/* dev.vigil.loadtest.LoadTestMain \
 *   --url http://127.0.0.1:8080 --api-key KEY --rate 100000 --duration 30s \
 *   [--batch 500] [--connections 8] [--protocol json|otlp] [--mix inference|experiment|burst|mixed]
 *   [--invalid-share 0.0] [--max-outstanding 2000] [--report-json out.json] [--quiet]
 * </pre>
 */
public final class LoadTestMain {
    static final long MAX_DURATION_MS = 600_000;
    static final ObjectMapper JSON = new ObjectMapper();

    record Options(URI url, String apiKey, double rate, int batch, long durationMs, int connections, String protocol, String mix,
                   double invalidShare, int maxOutstanding, Path reportJson, boolean quiet, int pool) {
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("load-test: " + e.getMessage());
            System.exit(2);
            return;
        }
        Report r = new LoadTestMain(o).run();
        System.out.println(r.text());
        if (o.reportJson() != null) {
            Files.writeString(o.reportJson(), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r.json()));
        }
        System.out.println("REPORT-JSON " + JSON.writeValueAsString(r.json()));
    }

    static Options parse(String[] args) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a + "'");
            }
            String k = a.substring(2);
            if (k.equals("quiet")) {
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
        try {
            if (!InetAddress.getByName(url.getHost()).isLoopbackAddress()) {
                throw new IllegalArgumentException("--url must be a loopback address (127.0.0.0/8, ::1, localhost); got " + url.getHost());
            }
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("--url host unknown: " + url.getHost());
        }
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
        String mix = m.getOrDefault("mix", "inference");
        if (!List.of("inference", "experiment", "burst", "mixed").contains(mix)) {
            throw new IllegalArgumentException("--mix must be inference, experiment, burst or mixed");
        }
        double rate = Double.parseDouble(m.get("rate"));
        int batch = Integer.parseInt(m.getOrDefault("batch", "500"));
        if (rate <= 0 || batch <= 0) {
            throw new IllegalArgumentException("--rate and --batch must be positive");
        }
        return new Options(url, key, rate, batch, dur, Integer.parseInt(m.getOrDefault("connections", "8")), protocol, mix,
                Double.parseDouble(m.getOrDefault("invalid-share", "0")), Integer.parseInt(m.getOrDefault("max-outstanding", "2000")),
                m.containsKey("report-json") ? Path.of(m.get("report-json")) : null, m.containsKey("quiet"),
                Integer.parseInt(m.getOrDefault("pool", "64")));
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
    private final Recorder interval = new Recorder(3);
    private final Histogram total = new Histogram(3);
    private final Map<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> rejections = new ConcurrentHashMap<>();
    private final LongAdder eventsSent = new LongAdder();
    private final LongAdder eventsAccepted = new LongAdder();
    private final LongAdder bytesSent = new LongAdder();
    private final LongAdder bytesAccepted = new LongAdder();
    private final LongAdder transportErrors = new LongAdder();
    private final AtomicLong backlogDropped = new AtomicLong();
    private final List<byte[]> payloads = new ArrayList<>();
    private final List<Integer> payloadEvents = new ArrayList<>();

    LoadTestMain(Options o) {
        this.o = o;
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
                    recs.add(w.otlp(now));
                }
                ExportLogsServiceRequest req = ExportLogsServiceRequest.newBuilder().addResourceLogs(ResourceLogs.newBuilder()
                        .setResource(io.opentelemetry.proto.resource.v1.Resource.newBuilder().addAttributes(Workload.str("service.name", "loadgen")))
                        .addScopeLogs(ScopeLogs.newBuilder().addAllLogRecords(recs))).build();
                payloads.add(req.toByteArray());
            }
            payloadEvents.add(o.batch());
        }
    }

    Report run() throws Exception {
        long startWall = System.currentTimeMillis();
        buildPool(startWall);
        String runId = Long.toString(startWall, 36);
        ArrayBlockingQueue<long[]> due = new ArrayBlockingQueue<>(Math.max(1, o.maxOutstanding()));
        double batchesPerSec = o.rate() / o.batch();
        long periodNanos = (long) (1e9 / batchesPerSec);
        long t0 = System.nanoTime() + 50_000_000L;
        long end = t0 + o.durationMs() * 1_000_000L;
        List<Thread> workers = new ArrayList<>();
        String path = o.protocol().equals("json") ? "/v1/events" : "/v1/logs";
        URI target = o.url().resolve(path);
        for (int c = 0; c < o.connections(); c++) {
            workers.add(Thread.ofPlatform().name("loadgen-conn-" + c).daemon().start(() -> worker(due, target, runId, end)));
        }
        Thread progress = Thread.ofPlatform().name("loadgen-progress").daemon().start(() -> progress(t0, end));
        long k = 0;
        while (true) {
            long intended = t0 + k * periodNanos;
            if (intended >= end) {
                break;
            }
            long wait = intended - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            if (!due.offer(new long[] {intended, k})) {
                backlogDropped.incrementAndGet();
            }
            k++;
        }
        long drainUntil = System.nanoTime() + 30_000_000_000L;
        while (!due.isEmpty() && System.nanoTime() < drainUntil) {
            Thread.sleep(10);
        }
        for (int c = 0; c < workers.size(); c++) {
            due.offer(new long[] {-1, -1});
        }
        for (Thread t : workers) {
            t.join(35_000);
        }
        progress.interrupt();
        long elapsed = Math.max(1, (System.nanoTime() - t0) / 1_000_000);
        total.add(interval.getIntervalHistogram());
        return new Report(o, total, statuses, rejections, eventsSent.sum(), eventsAccepted.sum(), bytesSent.sum(), bytesAccepted.sum(),
                transportErrors.sum(), backlogDropped.get(), k, Math.min(elapsed, o.durationMs() + 30_000), o.durationMs());
    }

    private void worker(ArrayBlockingQueue<long[]> due, URI target, String runId, long end) {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        boolean json = o.protocol().equals("json");
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
            int p = (int) (item[1] % payloads.size());
            byte[] body;
            if (json) {
                byte[] head = ("{\"batch_id\":\"lt-" + runId + "-" + item[1] + "\",\"events\":[").getBytes(StandardCharsets.UTF_8);
                ByteArrayOutputStream bos = new ByteArrayOutputStream(head.length + payloads.get(p).length);
                bos.writeBytes(head);
                bos.writeBytes(payloads.get(p));
                body = bos.toByteArray();
            } else {
                body = payloads.get(p);
            }
            int n = payloadEvents.get(p);
            HttpRequest req = HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + o.apiKey())
                    .header("Content-Type", json ? "application/json" : "application/x-protobuf")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
            eventsSent.add(n);
            bytesSent.add(body.length);
            try {
                HttpResponse<byte[]> r = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
                long lat = System.nanoTime() - item[0];
                interval.recordValue(Math.max(1, lat / 1000));
                statuses.computeIfAbsent(r.statusCode(), s -> new LongAdder()).increment();
                account(r, n, body.length, json);
            } catch (Exception e) {
                long lat = System.nanoTime() - item[0];
                interval.recordValue(Math.max(1, lat / 1000));
                transportErrors.increment();
                statuses.computeIfAbsent(-1, s -> new LongAdder()).increment();
            }
        }
    }

    private void account(HttpResponse<byte[]> r, int n, int bytes, boolean json) {
        int sc = r.statusCode();
        if (sc / 100 == 2 || (sc == 400 && json)) {
            int accepted = n;
            int rejected = 0;
            if (json) {
                String s = new String(r.body(), 0, Math.min(r.body().length, 200), StandardCharsets.UTF_8);
                if (!s.contains("\"rejected\":0")) {
                    try {
                        JsonNode j = JSON.readTree(r.body());
                        accepted = j.path("accepted").asInt();
                        rejected = j.path("rejected").asInt();
                        for (JsonNode e : j.path("errors")) {
                            rejections.computeIfAbsent(e.path("reason").asText("?"), x -> new LongAdder()).increment();
                        }
                        if (sc != 200) {
                            rejections.computeIfAbsent(j.path("error").asText("?"), x -> new LongAdder()).increment();
                        }
                    } catch (Exception e) {
                        rejections.computeIfAbsent("unparseable_response", x -> new LongAdder()).increment();
                    }
                }
            } else {
                try {
                    ExportLogsServiceResponse resp = ExportLogsServiceResponse.parseFrom(r.body());
                    rejected = (int) resp.getPartialSuccess().getRejectedLogRecords();
                    accepted = n - rejected;
                    if (rejected > 0) {
                        rejections.computeIfAbsent("otlp_partial", x -> new LongAdder()).add(rejected);
                    }
                } catch (Exception e) {
                    rejections.computeIfAbsent("unparseable_response", x -> new LongAdder()).increment();
                }
            }
            eventsAccepted.add(accepted);
            if (accepted > 0) {
                bytesAccepted.add(bytes);
            }
        } else {
            rejections.computeIfAbsent("http_" + sc, x -> new LongAdder()).add(n);
        }
    }

    private void progress(long t0, long end) {
        long lastAcc = 0;
        long lastSent = 0;
        Histogram h = null;
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            h = interval.getIntervalHistogram(h);
            synchronized (total) {
                total.add(h);
            }
            long acc = eventsAccepted.sum();
            long sent = eventsSent.sum();
            if (!o.quiet()) {
                Map<Integer, Long> st = new TreeMap<>();
                statuses.forEach((k, v) -> st.put(k, v.sum()));
                System.out.printf(Locale.ROOT, "t=%3ds sent=%,d ev/s accepted=%,d ev/s p50=%.1fms p99=%.1fms statuses=%s backlog_dropped=%d%n",
                        (System.nanoTime() - t0) / 1_000_000_000L, sent - lastSent, acc - lastAcc,
                        h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0, st, backlogDropped.get());
            }
            lastAcc = acc;
            lastSent = sent;
        }
    }

    /** The final report, as text and as JSON. */
    record Report(Options o, Histogram lat, Map<Integer, LongAdder> statuses, Map<String, LongAdder> rejections, long eventsSent,
                  long eventsAccepted, long bytesSent, long bytesAccepted, long transportErrors, long backlogDropped, long batchesDue,
                  long elapsedMs, long durationMs) {
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("url", o.url().toString());
            m.put("protocol", o.protocol());
            m.put("mix", o.mix());
            m.put("offered_events_per_sec", o.rate());
            m.put("batch", o.batch());
            m.put("connections", o.connections());
            m.put("duration_s", durationMs / 1000.0);
            m.put("batches_due", batchesDue);
            m.put("batches_not_sent_generator_backlog", backlogDropped);
            m.put("events_sent", eventsSent);
            m.put("events_accepted", eventsAccepted);
            double secs = durationMs / 1000.0;
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
