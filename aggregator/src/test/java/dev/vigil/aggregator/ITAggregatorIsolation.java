package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.model.Event;
import dev.vigil.common.model.Sample;

/**
 * Isolation and goal state: a stream full of poison records and a job whose table was dropped
 * do not stall the healthy job; the broken job retries, reports its state and recovers; jobs
 * added and removed through the admin API start and stop, and a restart rebuilds from the
 * stored goal state.
 */
class ITAggregatorIsolation {
    static final String PREFIX = "vigil.";
    final HttpClient http = HttpClient.newHttpClient();

    JsonNode call(AggregatorMain.Running agg, String method, String path, String body) throws Exception {
        return call(agg, method, path, body, TestEnv.ADMIN_KEY);
    }

    JsonNode call(AggregatorMain.Running agg, String method, String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agg.port() + path));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode n = GoalStore.JSON.readTree(r.body());
        ((com.fasterxml.jackson.databind.node.ObjectNode) n).put("_status", r.statusCode());
        return n;
    }

    JsonNode job(AggregatorMain.Running agg, String name) throws Exception {
        for (JsonNode j : call(agg, "GET", "/api/v1/jobs", null).get("jobs")) {
            if (name.equals(j.get("name").asText())) {
                return j;
            }
        }
        return null;
    }

    @Test
    void poisonAndBrokenTableDoNotStallHealthyJob() throws Exception {
        try (TestEnv env = new TestEnv("iso")) {
            env.createTopic(PREFIX + "events", 2);
            env.createTopic(PREFIX + "samples", 2);
            AggregatorMain.Running agg = env.startAggregator(env.aggregatorEnv(PREFIX));
            try (ClickHouse ch = env.ch(); KafkaProducer<byte[], byte[]> p = env.producer()) {
                TestEnv.await("both jobs running", Duration.ofSeconds(30), () -> {
                    try {
                        return "running".equals(job(agg, "events").get("state").asText()) && "running".equals(job(agg, "experiments").get("state").asText())
                                && "running".equals(job(agg, "samples").get("state").asText());
                    } catch (Exception e) {
                        return false;
                    }
                });
                ch.execute("DROP TABLE " + Migrations.SAMPLES);

                Random rnd = new Random(3);
                long now = System.currentTimeMillis();
                List<ProducerRecord<byte[], byte[]>> recs = new ArrayList<>();
                int good = 5000;
                int poison = 3000;
                for (int i = 0; i < good; i++) {
                    recs.add(EventGen.record(PREFIX + "events", EventGen.event(rnd, i, now, true, "iso-")));
                    if (i < poison) {
                        byte[] junk = new byte[1 + rnd.nextInt(40)];
                        rnd.nextBytes(junk);
                        recs.add(new ProducerRecord<>(PREFIX + "events", junk, junk));
                    }
                }
                for (int i = 0; i < 1000; i++) {
                    Sample s = new Sample("t1", "up", new TreeMap<>(Map.of("instance", "i" + i % 5)), now - i, 1.0);
                    recs.add(new ProducerRecord<>(PREFIX + "samples", s.seriesKey().getBytes(StandardCharsets.UTF_8), RecordCodec.encode(s)));
                }
                EventGen.sendAll(p, recs);

                TestEnv.await("healthy job stores every good event", Duration.ofSeconds(90), () -> TestEnv.longQuery(ch,
                        "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''") == good);
                TestEnv.await("broken job reports retrying with the error", Duration.ofSeconds(30), () -> {
                    try {
                        JsonNode j = job(agg, "samples");
                        return "retrying".equals(j.get("state").asText()) && j.get("last_error").asText().contains(Migrations.SAMPLES);
                    } catch (Exception e) {
                        return false;
                    }
                });
                JsonNode events = job(agg, "events");
                assertThat(events.get("state").asText()).isEqualTo("running");
                List<ConsumerRecord<byte[], byte[]>> dlq = env.readAll(PREFIX + "dead-letters", Duration.ofSeconds(30));
                // each job reading the topic dead-letters every poison record once
                assertThat(dlq.stream().filter(r -> "events".equals(ITAggregatorExactness.header(r, "vigil.dlq.job")))).hasSize(poison);
                assertThat(dlq.stream().filter(r -> "experiments".equals(ITAggregatorExactness.header(r, "vigil.dlq.job")))).hasSize(poison);
                assertThat(dlq).hasSize(2 * poison);
                assertThat(ITAggregatorExactness.header(dlq.getFirst(), "vigil.dlq.reason")).isEqualTo("undecodable");

                // a new version of the broken job: its old worker takes 35 s or more to stop (its drain waits for a flush
                // ClickHouse refuses), and that happens off the reconcile lock, so admin changes answer meanwhile
                com.fasterxml.jackson.databind.node.ObjectNode samplesSpec = (com.fasterxml.jackson.databind.node.ObjectNode) job(agg, "samples").get("spec");
                samplesSpec.put("flush_interval", "1s");
                assertThat(call(agg, "PUT", "/api/v1/jobs/samples", samplesSpec.toString()).get("_status").asInt()).isEqualTo(200);
                assertThat(call(agg, "PUT", "/api/v1/limits/t2", "{\"max_series\": 1000, \"max_series_per_metric\": 100}").get("_status").asInt())
                        .isEqualTo(200);
                // both changes answered while the old version was still stopping (no clock: a busy host slows both alike)
                assertThat(agg.aggregator.stopping("samples")).as("the old version still stopping after both answers").isTrue();
                assertThat(job(agg, "samples").get("state").asText()).isEqualTo("stopping_previous_version");

                // the table comes back: the job resumes from where it stopped, nothing lost
                for (String stmt : Migrations.ALL.get(2).statements()) {
                    ch.execute(stmt);
                }
                TestEnv.await("samples job recovers", Duration.ofSeconds(60), () -> TestEnv.longQuery(ch, "SELECT count() FROM vigil_samples") == 1000);
                TestEnv.await("samples job running again", Duration.ofSeconds(30), () -> {
                    try {
                        return "running".equals(job(agg, "samples").get("state").asText());
                    } catch (Exception e) {
                        return false;
                    }
                });

                // goal state through the admin API
                JsonNode put = call(agg, "PUT", "/api/v1/jobs/extra", "{\"source\": \"vigil.extra\", \"kind\": \"events\", \"rollups\": [\"exposures\"]}");
                assertThat(put.get("_status").asInt()).isEqualTo(200);
                // a source topic that did not exist (a mistyped name, say) is created for the job, and the answer says so
                assertThat(put.path("warning").asText()).contains("source topic vigil.extra did not exist", "created it");
                // an existing one: no warning (the samples job's spec as stored: no new version, no restart)
                JsonNode again = call(agg, "PUT", "/api/v1/jobs/samples", samplesSpec.toString());
                assertThat(again.get("_status").asInt()).isEqualTo(200);
                assertThat(again.has("warning")).as(again.toString()).isFalse();
                assertThat(call(agg, "PUT", "/api/v1/jobs/bad", "{\"source\": \"x\", \"kind\": \"nope\"}").get("_status").asInt()).isEqualTo(400);
                JsonNode twice = call(agg, "PUT", "/api/v1/jobs/twice", "{\"source\": \"vigil.events\", \"kind\": \"events\", \"rollups\": [\"series\"]}");
                assertThat(twice.get("_status").asInt()).as("a second job writing series from vigil.events would count every event twice").isEqualTo(409);
                assertThat(twice.toString()).contains("job events already writes [series] from vigil.events");
                // the same pair stored behind the API's back (two instances racing): the later one does not run
                new GoalStore(ch).put(Aggregator.KIND_JOB, "racer", "{\"name\": \"racer\", \"source\": \"vigil.events\", \"kind\": \"events\", \"rollups\": [\"series\"]}",
                        false, "test");
                agg.aggregator.reconcile();
                JsonNode racer = job(agg, "racer");
                assertThat(racer.get("state").asText()).isEqualTo("not_running");
                assertThat(racer.get("last_error").asText()).contains("job events (declared earlier) already writes [series]");
                assertThat(call(agg, "DELETE", "/api/v1/jobs/racer", null).get("_status").asInt()).isEqualTo(200);
                TestEnv.await("extra job running", Duration.ofSeconds(30), () -> {
                    try {
                        JsonNode j = job(agg, "extra");
                        return j != null && "running".equals(j.get("state").asText());
                    } catch (Exception e) {
                        return false;
                    }
                });
                List<ProducerRecord<byte[], byte[]>> extra = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    Event e = new Event("t9", now, "exposure", new TreeMap<>(), new TreeMap<>(), "u" + i, new TreeMap<>(Map.of("exp-x", "a")), null, now);
                    extra.add(EventGen.record("vigil.extra", e));
                }
                // assignments without a unit: nothing an exposure can count, and counted as such
                for (int i = 0; i < 20; i++) {
                    extra.add(EventGen.record("vigil.extra", new Event("t9", now, "exposure", new TreeMap<>(), new TreeMap<>(), null,
                            new TreeMap<>(Map.of("exp-x", "a")), null, now)));
                }
                EventGen.sendAll(p, extra);
                TestEnv.await("extra job writes exposures", Duration.ofSeconds(60), () -> TestEnv.longQuery(ch,
                        "SELECT count() FROM (SELECT unit_id FROM vigil_exposures WHERE tenant = 't9' GROUP BY unit_id)") == 200);
                TestEnv.await("events without a unit counted", Duration.ofSeconds(30), () -> agg.registry.scrape().contains(
                        "vigil_aggregator_events_not_rolled_up_total{job=\"extra\",reason=\"experiments_without_unit\"} 20.0"));
                assertThat(agg.registry.scrape()).contains("vigil_aggregator_freshness_seconds{job=\"extra\"}",
                        "vigil_aggregator_queued_bytes{job=\"extra\"}",
                        // at 0 before the first dead letter, so that increase() over them sees a first burst
                        "vigil_aggregator_dead_letters_total{job=\"extra\",reason=\"undecodable\"} 0.0",
                        "vigil_aggregator_dead_letters_total{job=\"extra\",reason=\"future_timestamp\"} 0.0");
                assertThat(call(agg, "DELETE", "/api/v1/jobs/extra", null).get("_status").asInt()).isEqualTo(200);
                assertThat(job(agg, "extra")).isNull();
                TestEnv.await("extra job stopped", Duration.ofSeconds(60), () -> !agg.aggregator.stopping("extra"));
                // a stopped worker's gauges go with it (a restarted job registers its own instead of reading the old worker)
                // (counters stay: a job restarted under the same name keeps counting on them)
                assertThat(agg.registry.scrape()).doesNotContain("vigil_aggregator_freshness_seconds{job=\"extra\"}",
                        "vigil_aggregator_queued_bytes{job=\"extra\"}", "vigil_aggregator_lag_records{job=\"extra\"");
                assertThat(call(agg, "GET", "/api/v1/jobs/extra/history", null).get("versions")).hasSize(2);
                assertThat(call(agg, "GET", "/api/v1/jobs/never-stored/history", null).get("_status").asInt()).isEqualTo(404);
                // changes need the key of an admin tenant (reads do not): none, or a tenant's own key, is refused
                String kept = "{\"source\": \"vigil.kept\", \"kind\": \"samples\"}";
                assertThat(call(agg, "PUT", "/api/v1/jobs/nokey", kept, null).get("_status").asInt()).isEqualTo(401);
                assertThat(call(agg, "DELETE", "/api/v1/limits/t1", null, "wrong-key").get("_status").asInt()).isEqualTo(401);
                JsonNode tenantKey = call(agg, "PUT", "/api/v1/limits/t1", "{\"max_series\": 1, \"max_series_per_metric\": 1}", TestEnv.TENANT_KEY);
                assertThat(tenantKey.get("_status").asInt()).isEqualTo(403);
                assertThat(tenantKey.get("error").asText()).contains("may not change");
                assertThat(call(agg, "GET", "/api/v1/jobs", null, null).get("_status").asInt()).isEqualTo(200);
                // a job reading the dead-letter topic would dead-letter into what it reads, for ever
                JsonNode readsDeadLetters = call(agg, "PUT", "/api/v1/jobs/dlq", "{\"source\": \"" + PREFIX + "dead-letters\", \"kind\": \"samples\"}");
                assertThat(readsDeadLetters.get("_status").asInt()).isEqualTo(400);
                assertThat(readsDeadLetters.get("error").asText()).contains("dead-letter topic");
                // a duration no clock reaches was stored, then failed every reconcile and the aggregator's start
                JsonNode overflow = call(agg, "PUT", "/api/v1/jobs/poison", "{\"source\": \"vigil.p\", \"kind\": \"samples\","
                        + " \"flush_interval\": \"9223372036854775807ms\"}");
                assertThat(overflow.get("_status").asInt()).isEqualTo(400);
                assertThat(call(agg, "GET", "/api/v1/jobs/poison/history", null).get("_status").asInt()).isEqualTo(404);
                // request bodies are read strictly: a duplicate key, trailing garbage, a number as a string or a fraction
                for (String loose : new String[] {"{\"source\": \"vigil.l\", \"kind\": \"samples\", \"kind\": \"events\"}",
                        "{\"source\": \"vigil.l\", \"kind\": \"samples\"} trailing",
                        "{\"source\": \"vigil.l\", \"kind\": \"samples\", \"bucket_seconds\": \"10\"}",
                        "{\"source\": \"vigil.l\", \"kind\": \"samples\", \"bucket_seconds\": 10.5}"}) {
                    assertThat(call(agg, "PUT", "/api/v1/jobs/loose", loose).get("_status").asInt()).as(loose).isEqualTo(400);
                }
                assertThat(job(agg, "nokey")).isNull();
                // a spec or limits Jackson cannot read: the field and the accepted ones, not Java class names
                JsonNode badSpec = call(agg, "PUT", "/api/v1/jobs/bad", "{\"source\": \"vigil.bad\", \"kind\": \"samples\", \"colour\": 1}");
                assertThat(badSpec.get("_status").asInt()).isEqualTo(400);
                assertThat(badSpec.get("error").asText()).contains("unknown field 'colour'", "expected one of:", "source")
                        .doesNotContain("dev.vigil");
                JsonNode badLimits = call(agg, "PUT", "/api/v1/limits/t1", "{\"max_series\": \"many\"}");
                assertThat(badLimits.get("_status").asInt()).isEqualTo(400);
                assertThat(badLimits.get("error").asText()).contains("max_series").doesNotContain("dev.vigil");
                JsonNode badTenant = call(agg, "PUT", "/api/v1/limits/a%20b", "{\"max_series\": 100, \"max_series_per_metric\": 10}");
                assertThat(badTenant.get("_status").asInt()).isEqualTo(400);
                assertThat(badTenant.get("error").asText()).contains("invalid tenant 'a b'");
                long keptVersion = call(agg, "PUT", "/api/v1/jobs/kept", "{\"source\": \"vigil.kept\", \"kind\": \"samples\"}").get("version").asLong();
                // the same spec again: no new version (it restarted the worker and recovered every partition)
                assertThat(call(agg, "PUT", "/api/v1/jobs/kept", "{\"source\": \"vigil.kept\", \"kind\": \"samples\"}").get("version").asLong())
                        .isEqualTo(keptVersion);
                JsonNode keptHistory = call(agg, "GET", "/api/v1/jobs/kept/history", null).get("versions");
                assertThat(keptHistory).hasSize(1);
                // the spec as JSON (it was a string holding JSON) and who stored it (the admin key's tenant)
                assertThat(keptHistory.get(0).get("spec").get("source").asText()).isEqualTo("vigil.kept");
                assertThat(keptHistory.get(0).get("updatedBy").asText()).isEqualTo("admin-api:system");
                call(agg, "PUT", "/api/v1/limits/t1", "{\"max_series\": 100, \"max_series_per_metric\": 10}");
            } finally {
                agg.close();
            }
            // restart: everything rebuilt from the stored goal state
            AggregatorMain.Running again = env.startAggregator(env.aggregatorEnv(PREFIX));
            try {
                TestEnv.await("jobs rebuilt", Duration.ofSeconds(30), () -> {
                    try {
                        JsonNode kept = job(again, "kept");
                        return kept != null && "running".equals(kept.get("state").asText()) && job(again, "extra") == null
                                && job(again, "events") != null && job(again, "samples") != null;
                    } catch (Exception e) {
                        return false;
                    }
                });
                assertThat(again.aggregator.limitsFor("t1").maxSeriesPerMetric()).isEqualTo(10);
                // nothing re-counted after the restart
                try (ClickHouse ch = env.ch()) {
                    Thread.sleep(2000);
                    assertThat(TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''")).isEqualTo(5000);
                }
            } finally {
                again.close();
            }
        }
    }
}
