package dev.vigil.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ITKafkaBroker {

    /** Topic "t" with {@code partitions} partitions, and a producer that waits for every replica. */
    private static KafkaProducer<String, String> topicAndProducer(KafkaBroker broker, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic("t", partitions, (short) 1))).all().get();
        }
        Properties p = new Properties();
        p.put("bootstrap.servers", broker.bootstrapServers());
        p.put("acks", "all");
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }


    @Test
    void recordsSurviveABrokerRestartOnTheSameDataDirectory(@TempDir Path dir) throws Exception {
        int port;
        try (KafkaBroker broker = KafkaBroker.start(dir, 0)) {
            port = broker.port();
            try (KafkaProducer<String, String> producer = topicAndProducer(broker, 2)) {
                for (int i = 0; i < 100; i++) {
                    producer.send(new ProducerRecord<>("t", "k" + i, "v" + i)).get();
                }
            }
        }
        try (KafkaBroker broker = KafkaBroker.start(dir, port)) {
            Properties c = new Properties();
            c.put("bootstrap.servers", broker.bootstrapServers());
            c.put("group.id", "g");
            c.put("auto.offset.reset", "earliest");
            List<String> values = new ArrayList<>();
            try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
                consumer.subscribe(List.of("t"));
                long deadline = System.currentTimeMillis() + 30_000;
                while (values.size() < 100 && System.currentTimeMillis() < deadline) {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                        values.add(r.value());
                    }
                }
            }
            assertThat(values).hasSize(100).contains("v0", "v99");
        }
    }

    /** The aggregator's client-id window follows record timestamps (docs/exactly-once.md): one far ahead is refused. */
    @Test
    void aRecordStampedMoreThanAnHourAheadIsRefused(@TempDir Path dir) throws Exception {
        try (KafkaBroker broker = KafkaBroker.start(dir, 0)) {
            try (KafkaProducer<String, String> producer = topicAndProducer(broker, 1)) {
                long now = System.currentTimeMillis();
                producer.send(new ProducerRecord<>("t", 0, now + Duration.ofMinutes(50).toMillis(), "k", "within")).get();
                assertThatThrownBy(() -> producer.send(new ProducerRecord<>("t", 0, now + Duration.ofHours(2).toMillis(), "k", "ahead")).get())
                        .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(InvalidTimestampException.class);
            }
        }
    }
}
