package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.vigil.common.model.Event;

/**
 * The retry window an operator reads ({@code vigil_aggregator_retry_window_seconds}, the job's
 * {@code retry_window_seconds}) is the one the aggregator applies: with a record window of 20,000 ids and records 10 ms
 * apart it reads about 200 s, and of two client retries sent after 60,000 records, the one whose original is older
 * than that is counted again while the one within it is dropped.
 */
class ITRetryWindow {
    static final String PREFIX = "rw.";
    static final int N = 60_000;
    static final long MAX_IDS = 20_000;
    static final long SPACING_MS = 10;

    @Test
    void theWindowReportedIsTheWindowApplied() throws Exception {
        try (TestEnv env = new TestEnv("retrywin")) {
            env.createTopic(PREFIX + "events", 1);
            long base = System.currentTimeMillis() - 700_000; // record times in the past (the broker refuses those too far ahead)
            Random rnd = new Random(5);
            List<ProducerRecord<byte[], byte[]>> recs = new ArrayList<>(N + 2);
            List<Event> events = new ArrayList<>(N);
            for (int i = 0; i < N; i++) {
                long ts = base + i * SPACING_MS;
                Event e = EventGen.event(rnd, i, ts, true, "rw-");
                events.add(e);
                recs.add(at(EventGen.record(PREFIX + "events", e), ts));
            }
            long retryTs = base + N * SPACING_MS;
            // offset 60,000: the record window holds offsets 40,000 and later, so 30,000's id is no longer held
            recs.add(at(EventGen.record(PREFIX + "events", events.get(30_000)), retryTs));
            recs.add(at(EventGen.record(PREFIX + "events", events.get(55_000)), retryTs + SPACING_MS));
            try (KafkaProducer<byte[], byte[]> p = env.producer()) {
                EventGen.sendAll(p, recs);
            }
            Map<String, String> aggEnv = env.aggregatorEnv(PREFIX);
            aggEnv.put("VIGIL_AGGREGATOR_DEFAULT_JOBS", "events");
            aggEnv.put("VIGIL_AGGREGATOR_DEDUP_MAX_IDS_PER_PARTITION", String.valueOf(MAX_IDS));
            AggregatorMain.Running agg = env.startAggregator(aggEnv);
            try (ClickHouse ch = env.ch()) {
                TestEnv.await("every event stored", Duration.ofSeconds(90),
                        () -> TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''") >= N + 1);
                TestEnv.await("the retry within the window dropped", Duration.ofSeconds(30),
                        () -> agg.registry.scrape().contains("vigil_aggregator_client_duplicates_total{job=\"events\"} 1.0"));
                assertThat(TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''"))
                        .as("the retry beyond the window counted again, the one within it not").isEqualTo(N + 1);

                // the window is published every 2 s (with the lag): past one more publication, it is the one at the end
                TestEnv.await("the partition's window in the status", Duration.ofSeconds(10),
                        () -> jobStatusQuietly(agg).path("retry_window_seconds_by_partition").has("0"));
                Thread.sleep(2_500);
                // 20,000 records 10 ms apart: 200 s, short by at most a sample step (79 records) and a poll (2,000 records)
                double truth = MAX_IDS * SPACING_MS / 1000.0;
                double gauge = gauge(agg.registry.scrape(), "vigil_aggregator_retry_window_seconds{job=\"events\"}");
                System.out.printf("retry window reported: %.3f s (the record window spans %.0f s)%n", gauge, truth);
                assertThat(gauge).isBetween(truth - 25, truth);
                JsonNode job = jobStatus(agg, "events");
                assertThat(job.get("retry_window_seconds").asDouble()).isEqualTo(gauge);
                assertThat(job.get("retry_window_seconds_by_partition").get("0").asDouble()).isEqualTo(gauge);
                // the partition's own gauge (one partition here: the job's shortest is its)
                assertThat(gauge(agg.registry.scrape(), "vigil_aggregator_partition_retry_window_seconds{job=\"events\",partition=\"0\"}"))
                        .isEqualTo(gauge);
            } finally {
                agg.close();
            }
        }
    }

    static ProducerRecord<byte[], byte[]> at(ProducerRecord<byte[], byte[]> r, long ts) {
        return new ProducerRecord<>(r.topic(), null, ts, r.key(), r.value());
    }

    static double gauge(String scrape, String series) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        throw new AssertionError(series + " not in /metrics:\n" + scrape);
    }

    static JsonNode jobStatusQuietly(AggregatorMain.Running agg) {
        try {
            return jobStatus(agg, "events");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode jobStatus(AggregatorMain.Running agg, String name) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agg.port() + "/api/v1/jobs"))
                .header("Authorization", "Bearer " + TestEnv.ADMIN_KEY).GET().build();
        HttpResponse<String> r = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        for (JsonNode j : GoalStore.JSON.readTree(r.body()).get("jobs")) {
            if (name.equals(j.get("name").asText())) {
                return j;
            }
        }
        throw new AssertionError("no job " + name + " in " + r.body());
    }
}
