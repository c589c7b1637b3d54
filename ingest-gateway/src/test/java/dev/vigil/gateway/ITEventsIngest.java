package dev.vigil.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.luben.zstd.Zstd;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.model.Event;

/** /v1/events end to end: real gateway, real Kafka broker, real HTTP client. */
class ITEventsIngest {
    static final ObjectMapper M = new ObjectMapper();
    static Gateway gw;
    static String bootstrap;
    static final String PREFIX = "it-events.";

    @BeforeAll
    static void start() throws Exception {
        bootstrap = TestSupport.sharedBroker().bootstrapServers();
        gw = TestSupport.gateway(bootstrap, PREFIX, Map.of());
    }

    @AfterAll
    static void stop() {
        gw.close();
    }

    static long now() {
        return System.currentTimeMillis();
    }

    static List<Event> eventsWithBatch(String batchId) {
        return TestSupport.readAll(bootstrap, PREFIX + "events").stream()
                .map(r -> RecordCodec.decodeEvent(r.value()))
                .filter(e -> e.eventId() != null && e.eventId().startsWith(batchId))
                .toList();
    }

    @Test
    void batchIsWrittenToKafkaWithTenantIdsKeyAndHeader() throws Exception {
        String body = """
                {"batch_id": "b-ok-1", "events": [
                  {"type": "inference", "ts": %d, "dims": {"model": "ranker", "version": "v3"},
                   "measures": {"latency_ms": 12.5, "score": 0.75}, "unit_id": "user-1",
                   "experiments": {"exp-42": "treatment"}},
                  {"type": "inference", "ts": "%s", "dims": {"model": "ranker", "version": "v3"}, "measures": {"latency_ms": 3}},
                  {"type": "purchase", "ts": %d, "measures": {"amount": 9.99}, "event_id": "client-id-7"}
                ]}""".formatted(now(), java.time.Instant.ofEpochMilli(now()).toString(), now());
        HttpResponse<byte[]> r = TestSupport.post(gw, "/v1/events", TestSupport.ACME_KEY, "application/json", body.getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).as(TestSupport.str(r)).isEqualTo(200);
        JsonNode j = M.readTree(r.body());
        assertThat(j.get("accepted").asInt()).isEqualTo(3);
        assertThat(j.get("rejected").asInt()).isZero();

        List<ConsumerRecord<byte[], byte[]>> recs = TestSupport.readAll(bootstrap, PREFIX + "events");
        List<ConsumerRecord<byte[], byte[]>> mine = recs.stream().filter(rec -> {
            Event e = RecordCodec.decodeEvent(rec.value());
            return e.eventId() != null && (e.eventId().startsWith("b-ok-1#") || e.eventId().equals("client-id-7"));
        }).toList();
        assertThat(mine).hasSize(3);
        for (ConsumerRecord<byte[], byte[]> rec : mine) {
            Event e = RecordCodec.decodeEvent(rec.value());
            assertThat(e.tenant()).isEqualTo("acme");
            assertThat(new String(rec.key(), StandardCharsets.UTF_8)).isEqualTo(e.seriesKey());
            assertThat(new String(rec.headers().lastHeader("vigil-kind").value(), StandardCharsets.UTF_8)).isEqualTo("event");
        }
        Event first = mine.stream().map(rec -> RecordCodec.decodeEvent(rec.value()))
                .filter(e -> "b-ok-1#0".equals(e.eventId())).findFirst().orElseThrow();
        assertThat(first.type()).isEqualTo("inference");
        assertThat(first.dims()).containsEntry("model", "ranker").containsEntry("version", "v3");
        assertThat(first.measures()).containsEntry("latency_ms", 12.5).containsEntry("score", 0.75);
        assertThat(first.unitId()).isEqualTo("user-1");
        assertThat(first.experiments()).containsEntry("exp-42", "treatment");
        assertThat(mine.stream().map(rec -> RecordCodec.decodeEvent(rec.value()).eventId()))
                .containsExactlyInAnyOrder("b-ok-1#0", "b-ok-1#1", "client-id-7");
    }

    @Test
    void partialBatchAcceptsGoodEventsAndExplainsRejections() throws Exception {
        String body = """
                {"batch_id": "b-partial", "events": [
                  {"type": "inference", "ts": %d, "measures": {"x": 1}},
                  {"type": "inference", "ts": %d, "measures": {"x": "high"}},
                  {"type": "inference", "ts": %d},
                  {"type": "bad type!", "ts": %d},
                  {"ts": %d}
                ]}""".formatted(now(), now(), now() + 3_600_000L * 24, now(), now());
        HttpResponse<byte[]> r = TestSupport.post(gw, "/v1/events", TestSupport.ACME_KEY, "application/json", body.getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode j = M.readTree(r.body());
        assertThat(j.get("accepted").asInt()).isEqualTo(1);
        assertThat(j.get("rejected").asInt()).isEqualTo(4);
        JsonNode errors = j.get("errors");
        assertThat(errors.get(0).get("index").asInt()).isEqualTo(1);
        assertThat(errors.get(0).get("field").asText()).isEqualTo("measures.x");
        assertThat(errors.get(0).get("reason").asText()).isEqualTo("wrong_type");
        assertThat(errors.get(1).get("field").asText()).isEqualTo("ts");
        assertThat(errors.get(1).get("reason").asText()).isEqualTo("out_of_window");
        assertThat(errors.get(2).get("reason").asText()).isEqualTo("invalid_name");
        assertThat(errors.get(3).get("field").asText()).isEqualTo("type");
        assertThat(errors.get(3).get("reason").asText()).isEqualTo("missing");
        assertThat(eventsWithBatch("b-partial#")).extracting(Event::eventId).containsExactly("b-partial#0");
    }

    @Test
    void ndjsonGzipAndZstdBodies() throws Exception {
        StringBuilder nd = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            nd.append("{\"type\":\"exposure\",\"ts\":").append(now()).append(",\"event_id\":\"nd-gz-").append(i).append("\"}\n");
        }
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
            gz.write(nd.toString().getBytes(StandardCharsets.UTF_8));
        }
        HttpResponse<byte[]> r = TestSupport.post(gw, "/v1/events", TestSupport.GLOBEX_KEY, "application/x-ndjson", bos.toByteArray(),
                "Content-Encoding", "gzip");
        assertThat(r.statusCode()).as(TestSupport.str(r)).isEqualTo(200);
        assertThat(M.readTree(r.body()).get("accepted").asInt()).isEqualTo(5);

        String json = "{\"batch_id\":\"zstd-1\",\"events\":[{\"type\":\"exposure\",\"ts\":" + now() + "}]}";
        r = TestSupport.post(gw, "/v1/events", TestSupport.GLOBEX_KEY, "application/json",
                Zstd.compress(json.getBytes(StandardCharsets.UTF_8)), "Content-Encoding", "zstd");
        assertThat(r.statusCode()).as(TestSupport.str(r)).isEqualTo(200);
        List<Event> zs = eventsWithBatch("zstd-1#");
        assertThat(zs).hasSize(1);
        assertThat(zs.get(0).tenant()).isEqualTo("globex");
        assertThat(eventsWithBatch("nd-gz-")).hasSize(5).allMatch(e -> e.tenant().equals("globex"));
    }

    @Test
    void authIsRequired() throws Exception {
        byte[] body = ("{\"events\":[{\"type\":\"x\",\"ts\":" + now() + "}]}").getBytes(StandardCharsets.UTF_8);
        HttpResponse<byte[]> r = TestSupport.post(gw, "/v1/events", null, "application/json", body);
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(M.readTree(r.body()).get("error").asText()).isEqualTo("missing_api_key");
        r = TestSupport.post(gw, "/v1/events", "wrong-key", "application/json", body);
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(M.readTree(r.body()).get("error").asText()).isEqualTo("invalid_api_key");
    }

    @Test
    void unparseableBodyGetsPosition() throws Exception {
        HttpResponse<byte[]> r = TestSupport.post(gw, "/v1/events", TestSupport.ACME_KEY, "application/json",
                "{\"events\": [\n {\"type\": \"x\",, }]}".getBytes(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).isEqualTo(400);
        JsonNode j = M.readTree(r.body());
        assertThat(j.get("error").asText()).isEqualTo("invalid_json");
        assertThat(j.get("line").asInt()).isEqualTo(2);
        assertThat(j.get("column").asInt()).isGreaterThan(1);
    }

    @Test
    void observabilityEndpoints() throws Exception {
        assertThat(TestSupport.get(gw, "/health/live").statusCode()).isEqualTo(200);
        var ready = TestSupport.get(gw, "/health/ready");
        assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
        TestSupport.post(gw, "/v1/events", TestSupport.ACME_KEY, "application/json",
                ("{\"events\":[{\"type\":\"x\",\"ts\":" + now() + "}]}").getBytes(StandardCharsets.UTF_8));
        var m = TestSupport.get(gw, "/metrics");
        assertThat(m.statusCode()).isEqualTo(200);
        assertThat(m.body()).contains("vigil_gateway_items_accepted_total").contains("vigil_gateway_request_duration_seconds_bucket")
                .contains("vigil_gateway_kafka_produce_duration_seconds").contains("vigil_gateway_inflight_bytes");
    }
}
