package dev.vigil.loadtest;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.HdrHistogram.Histogram;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Freshness (issue: "accepted at the gateway to visible in a query"): every interval (jittered, so
 * probes do not lock to the rollup's bucket boundaries), one probe event with its own label value
 * goes through the gateway; from the moment the gateway acknowledges it, the query API is asked
 * every 100 ms for that series ({@code vigil_freshness_probe_events_total{probe="<n>"}}, PromQL, as
 * a dashboard would) at the end of the event's rollup bucket, the first instant whose counter can
 * include it, until it answers. The time between is one freshness sample: the pipeline's delay
 * (gateway, Kafka, aggregator flush, ClickHouse). A query at "now" additionally waits for the bucket
 * to close (up to the bucket width, 10 s by default): reported separately as "at now". Runs beside a
 * load (the soak), so it measures the pipeline under that load; a probe every few seconds is
 * nothing to the load itself.
 */
final class FreshnessProbe implements Runnable {
    static final String TYPE = "vigil_freshness_probe";

    private final URI gateway, query;
    private final String apiKey;
    private final long intervalMs, giveUpMs;
    private final String run;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final long bucketMs;
    private final Histogram millis = new Histogram(3_600_000L, 3), atNow = new Histogram(3_600_000L, 3);
    private int sent, seen, lost;
    /** When the probe being read for was accepted; 0 when none is. */
    private long waitingSince;
    /** When the run stopped with a probe still being read for; 0 otherwise. */
    private long stoppedAt;

    /**
     * @param intervalMs a probe this often
     * @param giveUpMs   a probe not visible after this long counts as lost (and is not in the histogram)
     */
    FreshnessProbe(String gatewayUrl, String queryUrl, String apiKey, long intervalMs, long giveUpMs, long bucketMs) {
        this.bucketMs = bucketMs;
        this.gateway = URI.create(gatewayUrl + "/v1/events");
        this.query = URI.create(queryUrl + "/api/v1/query");
        this.apiKey = apiKey;
        this.intervalMs = intervalMs;
        this.giveUpMs = giveUpMs;
        this.run = Long.toString(System.currentTimeMillis() % 100_000_000L, 36);
    }

    @Override
    public void run() {
        for (int n = 0; !Thread.currentThread().isInterrupted(); n++) {
            long next = System.currentTimeMillis() + intervalMs / 2 + java.util.concurrent.ThreadLocalRandom.current().nextLong(intervalMs);
            try {
                probe(run + "-" + n);
                long wait = next - System.currentTimeMillis();
                if (wait > 0) Thread.sleep(wait);
            } catch (InterruptedException e) {
                stopped();
                return;
            } catch (Exception e) {
                System.out.println("freshness: probe failed: " + e.getMessage());
            }
        }
    }

    /** The run stopped: a probe still being read for has waited until now (json() may be called much later). */
    private synchronized void stopped() {
        if (waitingSince != 0 && stoppedAt == 0) {
            stoppedAt = System.currentTimeMillis();
        }
    }

    private void probe(String id) throws Exception {
        long now = System.currentTimeMillis();
        String body = "{\"batch_id\":\"fresh-" + id + "\",\"events\":[{\"type\":\"" + TYPE + "\",\"ts\":" + now
                + ",\"dims\":{\"probe\":\"" + id + "\"},\"measures\":{}}]}";
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(gateway).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + apiKey).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) return; // shed or refused: not accepted, nothing to measure
        long accepted = System.currentTimeMillis();
        synchronized (this) {
            sent++;
            waitingSince = accepted;
        }
        String q = URLEncoder.encode(TYPE + "_events_total{probe=\"" + id + "\"}", StandardCharsets.UTF_8);
        long bucketEnd = Math.floorDiv(now, bucketMs) * bucketMs + bucketMs;
        while (System.currentTimeMillis() - accepted < giveUpMs) {
            boolean seenNow;
            try {
                seenNow = visible(q, bucketEnd);
            } catch (InterruptedException e) {
                throw e; // the run stopped while this probe was read for (stopped())
            } catch (Exception e) { // the query failed: this probe counts as not seen, not as still waiting
                synchronized (this) {
                    lost++;
                    waitingSince = 0;
                }
                throw e;
            }
            if (seenNow) {
                long seenAt = System.currentTimeMillis();
                synchronized (this) {
                    seen++;
                    waitingSince = 0;
                    millis.recordValue(seenAt - accepted);
                    atNow.recordValue(Math.max(seenAt, bucketEnd) - accepted);
                }
                return;
            }
            Thread.sleep(100);
        }
        synchronized (this) {
            lost++;
            waitingSince = 0;
        }
    }

    private boolean visible(String encodedQuery, long atMs) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(query + "?query=" + encodedQuery + "&time="
                        + atMs / 1000.0)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + apiKey).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) return false;
        JsonNode result = LoadTestMain.JSON.readTree(r.body()).path("data").path("result");
        return result.isArray() && !result.isEmpty();
    }

    /** Counts and percentiles in milliseconds. */
    synchronized Map<String, Object> json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("probes_accepted", sent);
        m.put("visible", seen);
        m.put("not_visible_within_ms_" + giveUpMs, lost);
        if (waitingSince != 0) { // the probe the run stopped while it was read for: neither seen nor given up on
            m.put("still_waiting_ms", (stoppedAt != 0 ? stoppedAt : System.currentTimeMillis()) - waitingSince);
        }
        if (seen > 0) {
            m.put("p50_ms", millis.getValueAtPercentile(50));
            m.put("p99_ms", millis.getValueAtPercentile(99));
            m.put("max_ms", millis.getMaxValue());
            m.put("at_now_p50_ms", atNow.getValueAtPercentile(50));
            m.put("at_now_p99_ms", atNow.getValueAtPercentile(99));
        }
        return m;
    }
}
