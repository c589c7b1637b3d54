package dev.vigil.gateway;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import dev.vigil.common.config.Config;
import dev.vigil.kafka.KafkaBroker;

/** Shared fixtures for the gateway's integration tests: a real broker, a real gateway, real HTTP. */
final class TestSupport {
    static final String ACME_KEY = "secret-acme-key";
    static final String GLOBEX_KEY = "secret-globex-key";
    static final String API_KEYS = "acme:" + ACME_KEY + ",globex:sha256:" + dev.vigil.common.auth.ApiKeys.sha256Hex(GLOBEX_KEY);

    private static KafkaBroker shared;

    private TestSupport() {
    }

    /** One broker for all IT classes of this JVM (each class uses its own topic prefix). */
    static synchronized KafkaBroker sharedBroker() {
        if (shared == null) {
            try {
                Path dir = Files.createTempDirectory("vigil-gw-kafka");
                shared = KafkaBroker.start(dir, 0);
                KafkaBroker b = shared;
                Runtime.getRuntime().addShutdownHook(new Thread(b::close));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return shared;
    }

    static Gateway gateway(String bootstrap, String prefix, Map<String, String> overrides) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("VIGIL_GATEWAY_PORT", "0");
        env.put("VIGIL_KAFKA_BOOTSTRAP_SERVERS", bootstrap);
        env.put("VIGIL_KAFKA_TOPIC_PREFIX", prefix);
        env.put("VIGIL_KAFKA_PARTITIONS", "2");
        env.put("VIGIL_API_KEYS", API_KEYS);
        env.put("VIGIL_GATEWAY_WORKER_THREADS", "4");
        env.putAll(overrides);
        return Gateway.start(Config.load(GatewayConfig.DEF, env));
    }

    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    static HttpResponse<byte[]> post(Gateway g, String path, String key, String contentType, byte[] body, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.port() + path))
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    static HttpResponse<String> get(Gateway g, String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.port() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Every record currently in {@code topic} (reads to the end offsets as of now). */
    static List<ConsumerRecord<byte[], byte[]>> readAll(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                    .map(pi -> new TopicPartition(topic, pi.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts, Duration.ofSeconds(10));
            List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 30_000;
            while (System.currentTimeMillis() < deadline) {
                boolean done = true;
                for (TopicPartition tp : parts) {
                    if (c.position(tp, Duration.ofSeconds(10)) < end.get(tp)) {
                        done = false;
                    }
                }
                if (done) {
                    break;
                }
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
            return out;
        }
    }

    static String str(HttpResponse<byte[]> r) {
        return new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
    }
}
