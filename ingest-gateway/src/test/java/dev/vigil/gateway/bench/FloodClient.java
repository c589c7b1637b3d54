package dev.vigil.gateway.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A deliberately light load client for the gateway benchmark (docs/gateway.md, "Performance"),
 * for when {@code load-test}'s {@code LoadTestMain} (java.net.http, JSON built per run) cannot
 * offer enough: raw HTTP/1.1 over blocking sockets on virtual threads, request bytes built once
 * (only the batch id digits are patched per request), responses parsed just enough to get the
 * status and skip the body.
 *
 * <p>Each connection sends one request at a time. With {@code --rate} the requests of a
 * connection fall due on a fixed schedule and latency is measured from the due time (open loop:
 * a slow server shows up as latency, not as a lower offered rate); with {@code --rate 0} every
 * connection sends as fast as answers come back (closed loop: the peak).
 *
 * <pre>
 * java -cp ingest-gateway/target/test-classes:ingest-gateway/target/classes:ingest-gateway/target/lib/* \
 *   dev.vigil.gateway.bench.FloodClient --port 28080 --api-key KEY --connections 16 --batch 500 \
 *   --duration 20 [--warmup 5] [--rate 0] [--backoff-ms 50]
 * </pre>
 * Prints a {@code FLOOD-JSON {...}} line: accepted events/s, statuses, latency percentiles.
 */
public final class FloodClient {
    private static final String[] MODELS = {"ranker", "fraud", "search"};
    private static final String[] VERSIONS = {"v1", "v2"};
    private static final String[] REGIONS = {"eu-west", "us-east", "ap-south"};

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new TreeMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String host = a.getOrDefault("host", "127.0.0.1");
        int port = Integer.parseInt(a.getOrDefault("port", "8080"));
        String key = a.getOrDefault("api-key", "");
        int conns = Integer.parseInt(a.getOrDefault("connections", "16"));
        int batch = Integer.parseInt(a.getOrDefault("batch", "500"));
        double duration = Double.parseDouble(a.getOrDefault("duration", "20"));
        double warmup = Double.parseDouble(a.getOrDefault("warmup", "3"));
        double rate = Double.parseDouble(a.getOrDefault("rate", "0"));
        String id = a.getOrDefault("id", Long.toString(ProcessHandle.current().pid()));
        long backoffNanos = (long) (Double.parseDouble(a.getOrDefault("backoff-ms", "50")) * 1e6);

        byte[][] bodies = new byte[16][];
        Random rnd = new Random(42);
        long now = System.currentTimeMillis();
        int eventBytes = 0;
        for (int b = 0; b < bodies.length; b++) {
            StringBuilder sb = new StringBuilder(batch * 200 + 64);
            // The batch id: a fixed-width slot of digits patched per request so event ids stay unique.
            sb.append("{\"batch_id\":\"fl-").append(id).append("-0000000000000\",\"events\":[");
            for (int i = 0; i < batch; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                int start = sb.length();
                sb.append("{\"type\":\"inference\",\"ts\":").append(now - rnd.nextInt(1000))
                        .append(",\"dims\":{\"model\":\"").append(MODELS[rnd.nextInt(3)])
                        .append("\",\"version\":\"").append(VERSIONS[rnd.nextInt(2)])
                        .append("\",\"region\":\"").append(REGIONS[rnd.nextInt(3)])
                        .append("\"},\"measures\":{\"latency_ms\":").append(String.format(Locale.ROOT, "%.3f", Math.exp(2 + rnd.nextGaussian() * 0.5)))
                        .append(",\"score\":").append(String.format(Locale.ROOT, "%.4f", rnd.nextDouble()))
                        .append(",\"error\":").append(rnd.nextInt(100) == 0 ? 1 : 0)
                        .append("},\"unit_id\":\"user-").append(100000 + rnd.nextInt(900000)).append("\"}");
                eventBytes += sb.length() - start;
            }
            sb.append("]}");
            bodies[b] = sb.toString().getBytes(StandardCharsets.UTF_8);
        }
        int avgEvent = eventBytes / (bodies.length * batch);
        String prefix = "{\"batch_id\":\"fl-" + id + "-";
        int idSlot = prefix.length();

        long startNs = System.nanoTime();
        long warmEnd = startNs + (long) (warmup * 1e9);
        long endNs = warmEnd + (long) (duration * 1e9);
        double perConnInterval = rate > 0 ? 1e9 * batch * conns / rate : 0; // ns between requests of one connection
        LongAdder ok = new LongAdder();
        LongAdder okBodyBytes = new LongAdder();
        LongAdder sent = new LongAdder();
        ConcurrentHashMap<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
        AtomicLong seq = new AtomicLong();
        int[] latN = new int[conns];
        long[][] latArr = new long[conns][];
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < conns; c++) {
            final int ci = c;
            latArr[c] = new long[1024];
            threads.add(Thread.ofVirtual().start(() -> {
                byte[][] mine = bodies; // shared, never modified: the batch id digits are written separately
                byte[] idDigits = new byte[13];
                OutputStream sout = null;
                long due = startNs + (long) (perConnInterval * ci / Math.max(1, conns));
                int k = ci;
                Socket s = null;
                InputStream sin = null;
                while (true) {
                    long t0 = System.nanoTime();
                    if (t0 >= endNs) {
                        break;
                    }
                    if (perConnInterval > 0) {
                        if (due >= endNs) {
                            break;
                        }
                        long wait = due - t0;
                        if (wait > 0) {
                            sleepNanos(wait);
                        }
                    } else {
                        due = t0;
                    }
                    byte[] body = mine[k++ % mine.length];
                    long n = seq.incrementAndGet();
                    for (int d = 12; d >= 0; d--) {
                        idDigits[d] = (byte) ('0' + n % 10);
                        n /= 10;
                    }
                    try {
                        if (s == null) {
                            s = new Socket();
                            s.setTcpNoDelay(true);
                            s.connect(new InetSocketAddress(host, port));
                            sin = new BufferedInputStream(s.getInputStream(), 16384);
                            sout = new java.io.BufferedOutputStream(s.getOutputStream(), 8192);
                        }
                        String head = "POST /v1/events HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + key
                                + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n";
                        OutputStream out = sout;
                        out.write(head.getBytes(StandardCharsets.ISO_8859_1));
                        out.write(body, 0, idSlot);
                        out.write(idDigits);
                        out.write(body, idSlot + 13, body.length - idSlot - 13);
                        out.flush();
                        boolean counted = System.nanoTime() >= warmEnd;
                        if (counted) {
                            sent.increment();
                        }
                        int status = readResponse(sin);
                        long t1 = System.nanoTime();
                        if (counted && t1 <= endNs + 30_000_000_000L) {
                            statuses.computeIfAbsent(status, x -> new LongAdder()).increment();
                            if (status == 200) {
                                ok.increment();
                                okBodyBytes.add(body.length);
                            }
                            if (latN[ci] == latArr[ci].length) {
                                latArr[ci] = Arrays.copyOf(latArr[ci], latN[ci] * 2);
                            }
                            latArr[ci][latN[ci]++] = (t1 - due) / 1000;
                        }
                        if (status == 429 || status == 503) {
                            sleepNanos(backoffNanos); // a short back-off (real clients honour Retry-After: 1-2 s)
                        }
                    } catch (IOException e) {
                        statuses.computeIfAbsent(-1, x -> new LongAdder()).increment();
                        try {
                            if (s != null) {
                                s.close();
                            }
                        } catch (IOException ignored) {
                            // closing a broken socket
                        }
                        s = null;
                        sleepNanos(10_000_000);
                    }
                    due += (long) perConnInterval;
                }
                try {
                    if (s != null) {
                        s.close();
                    }
                } catch (IOException ignored) {
                    // done
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        double secs = duration;
        int total = 0;
        for (int c = 0; c < conns; c++) {
            total += latN[c];
        }
        long[] all = new long[total];
        int p = 0;
        for (int c = 0; c < conns; c++) {
            System.arraycopy(latArr[c], 0, all, p, latN[c]);
            p += latN[c];
        }
        Arrays.sort(all);
        Map<String, Object> st = new TreeMap<>();
        statuses.forEach((k, v) -> st.put(Integer.toString(k), v.sum()));
        long events = ok.sum() * batch;
        String json = String.format(Locale.ROOT,
                "{\"connections\":%d,\"batch\":%d,\"duration_s\":%.1f,\"offered_events_per_sec\":%.0f,\"requests_sent\":%d,"
                        + "\"accepted_events_per_sec\":%.0f,\"accepted_body_bytes_per_sec\":%.0f,\"avg_event_bytes\":%d,"
                        + "\"statuses\":%s,\"latency_ms\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p99.9\":%.2f,\"max\":%.2f,\"count\":%d}}",
                conns, batch, secs, rate, sent.sum(), events / secs, okBodyBytes.sum() / secs, avgEvent,
                st.toString().replace("=", ":").replaceAll("(\\-?\\d+):", "\"$1\":"),
                pct(all, 0.5), pct(all, 0.9), pct(all, 0.99), pct(all, 0.999), all.length == 0 ? 0 : all[all.length - 1] / 1000.0, all.length);
        System.out.println("FLOOD-JSON " + json);
    }

    private static double pct(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1000.0;
    }

    private static void sleepNanos(long ns) {
        try {
            Thread.sleep(ns / 1_000_000, (int) (ns % 1_000_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads one response (status line, headers, Content-Length body); returns the status. */
    private static int readResponse(InputStream raw) throws IOException {
        InputStream in = raw;
        StringBuilder line = new StringBuilder(64);
        int status = -1;
        long length = 0;
        boolean first = true;
        while (true) {
            line.setLength(0);
            int ch;
            while ((ch = in.read()) != '\n') {
                if (ch < 0) {
                    throw new IOException("connection closed");
                }
                if (ch != '\r') {
                    line.append((char) ch);
                }
            }
            if (line.isEmpty()) {
                break;
            }
            String l = line.toString();
            if (first) {
                status = Integer.parseInt(l.substring(9, 12));
                first = false;
            } else if (l.regionMatches(true, 0, "content-length:", 0, 15)) {
                length = Long.parseLong(l.substring(15).trim());
            }
        }
        long skipped = 0;
        byte[] sink = new byte[(int) Math.min(length, 8192)];
        while (skipped < length) {
            int r = in.read(sink, 0, (int) Math.min(sink.length, length - skipped));
            if (r < 0) {
                throw new IOException("connection closed in body");
            }
            skipped += r;
        }
        return status;
    }
}
