package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** What a dead letter carries, how it is counted and sent: the contract the dead-letter topic's readers rely on. */
class DeadLettersTest {
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());

    private DeadLetters deadLetters(int maxBytes) {
        WorkerSettings s = new WorkerSettings(null, job -> producer, registry, null, "localhost:9", "vigil-aggregator-",
                "vigil.dead-letters", maxBytes, 8, 1, 1000, 1 << 20, 1 << 20, 1 << 20, 1000, 60_000, 60_000, 60_000, 10, 10, 10, 0,
                10_000, "test-instance", Map.of(), null);
        return new DeadLetters("events", s);
    }

    private static ConsumerRecord<ByteBuffer, ByteBuffer> record(int keyBytes, int valueBytes) {
        return new ConsumerRecord<>("vigil.events", 3, 1234, ByteBuffer.wrap(new byte[keyBytes]), ByteBuffer.wrap(new byte[valueBytes]));
    }

    private static String header(ProducerRecord<byte[], byte[]> pr, String name) {
        var h = pr.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private double count(String reason) {
        return registry.get("vigil_aggregator_dead_letters").tag("job", "events").tag("reason", reason).counter().count();
    }

    @Test
    void aDeadLetterNamesItsReasonAndSourceAndKeepsTheRecordWhole() {
        ProducerRecord<byte[], byte[]> pr = deadLetters(1000).of(record(10, 300), "invalid_value", "measure x is not finite: NaN");

        assertThat(pr.topic()).isEqualTo("vigil.dead-letters");
        assertThat(pr.key()).hasSize(10);
        assertThat(pr.value()).hasSize(300);
        assertThat(header(pr, "vigil.dlq.reason")).isEqualTo("invalid_value");
        assertThat(header(pr, "vigil.dlq.detail")).isEqualTo("measure x is not finite: NaN");
        assertThat(header(pr, "vigil.dlq.source.topic")).isEqualTo("vigil.events");
        assertThat(header(pr, "vigil.dlq.source.partition")).isEqualTo("3");
        assertThat(header(pr, "vigil.dlq.source.offset")).isEqualTo("1234");
        assertThat(header(pr, "vigil.dlq.job")).isEqualTo("events");
        assertThat(header(pr, "vigil.dlq.truncated")).isNull();
    }

    @Test
    void aRecordOverTheLimitIsCutToItAndSaysWhatItWas() {
        ProducerRecord<byte[], byte[]> longValue = deadLetters(1000).of(record(10, 5000), "undecodable", "x");
        assertThat(longValue.key()).hasSize(10);
        assertThat(longValue.value()).hasSize(990);
        assertThat(header(longValue, "vigil.dlq.truncated")).isEqualTo("key=10 value=5000");

        // a long key keeps at most half of the limit, so the value is not crowded out
        ProducerRecord<byte[], byte[]> longKey = deadLetters(1000).of(record(4000, 4000), "undecodable", "x");
        assertThat(longKey.key()).hasSize(500);
        assertThat(longKey.value()).hasSize(500);
        assertThat(header(longKey, "vigil.dlq.truncated")).isEqualTo("key=4000 value=4000");
    }

    @Test
    void aLongDetailIsCutTo500Characters() {
        ProducerRecord<byte[], byte[]> pr = deadLetters(1000).of(record(1, 1), "undecodable", "y".repeat(2000));
        assertThat(header(pr, "vigil.dlq.detail")).hasSize(500);
    }

    @Test
    void everyReasonIsCountedFromZeroAndEachLetterOnceItIsCounted() {
        DeadLetters dl = deadLetters(1000);
        for (String reason : DeadLetters.REASONS) {
            assertThat(count(reason)).as(reason).isZero();
        }
        dl.of(record(1, 1), "future_timestamp", "x");
        assertThat(count("future_timestamp")).isZero(); // made, not yet in its flush
        dl.count("future_timestamp");
        assertThat(count("future_timestamp")).isEqualTo(1.0);
    }

    @Test
    void aFlushsLettersAreSentThroughTheJobsProducerUntilItIsClosed() throws Exception {
        DeadLetters dl = deadLetters(1000);
        ProducerRecord<byte[], byte[]> a = dl.of(record(1, 1), "undecodable", "a");
        ProducerRecord<byte[], byte[]> b = dl.of(record(1, 1), "invalid_event", "b");
        FlushBatch batch = null; // only named in the log line
        dl.send(List.of(a, b), batch);
        assertThat(producer.history()).containsExactly(a, b);

        dl.close(Duration.ZERO);
        assertThat(producer.closed()).isTrue();
        assertThatThrownBy(() -> dl.send(List.of(a), batch)).isInstanceOf(IllegalStateException.class).hasMessageContaining("stopped");
    }
}
