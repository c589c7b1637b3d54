package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import dev.vigil.common.model.Event;

/**
 * A poison record as large as Kafka lets a producer write: its dead letter (the record plus the reason headers) would not
 * fit the dead-letter producer's requests, and the flush holding it was retried for ever with every partition of the job
 * paused. The dead letter keeps the head of the record (aggregator.dead-letter-max-bytes) and says how large it was.
 */
class ITOversizedPoison {
    private static final String PREFIX = "big.";

    @Test
    void anOversizedPoisonRecordIsDeadLetteredInPartAndTheJobGoesOn() throws Exception {
        try (TestEnv env = new TestEnv("bigpoison")) {
            env.createTopic(PREFIX + "events", 1);
            env.createTopic(PREFIX + "samples", 1);
            long now = System.currentTimeMillis();
            byte[] huge = new byte[1_048_300]; // just under the producer's 1 MiB request limit with its record overhead
            Arrays.fill(huge, (byte) 'x');
            List<ProducerRecord<byte[], byte[]>> recs = new ArrayList<>();
            recs.add(new ProducerRecord<>(PREFIX + "events", "poison".getBytes(StandardCharsets.UTF_8), huge));
            for (int i = 0; i < 100; i++) {
                recs.add(EventGen.record(PREFIX + "events", new Event("t1", now - 1_000, "inference", new TreeMap<>(Map.of("model", "m" + i % 3)),
                        new TreeMap<>(Map.of("latency_ms", 5.0)), null, new TreeMap<>(), null, now)));
            }
            try (KafkaProducer<byte[], byte[]> p = env.producer()) {
                EventGen.sendAll(p, recs);
            }
            Map<String, String> aggEnv = env.aggregatorEnv(PREFIX);
            aggEnv.put("VIGIL_AGGREGATOR_DEFAULT_JOBS", "events");
            try (AggregatorMain.Running agg = env.startAggregator(aggEnv); ClickHouse ch = env.ch()) {
                String events = "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = '' AND tenant = 't1'";
                TestEnv.await("the events after it stored", Duration.ofSeconds(60), () -> TestEnv.longQuery(ch, events) >= 100);
                assertThat(TestEnv.longQuery(ch, events)).isEqualTo(100);
                List<ConsumerRecord<byte[], byte[]>> dlq = env.readAll(PREFIX + "dead-letters", Duration.ofSeconds(30));
                assertThat(dlq).hasSize(1);
                ConsumerRecord<byte[], byte[]> d = dlq.getFirst();
                assertThat(d.key()).hasSize(6);
                assertThat(d.value()).as("the head of the value, key and value within 512 KiB").hasSize(512 * 1024 - 6);
                assertThat(d.value()[0]).isEqualTo((byte) 'x');
                assertThat(new String(d.headers().lastHeader("vigil.dlq.truncated").value(), StandardCharsets.UTF_8)).isEqualTo("key=6 value=1048300");
                assertThat(new String(d.headers().lastHeader("vigil.dlq.reason").value(), StandardCharsets.UTF_8)).isEqualTo("undecodable");
                assertThat(agg.registry.scrape()).contains("vigil_aggregator_dead_letters_total{job=\"events\",reason=\"undecodable\"} 1.0");
            }
        }
    }
}
