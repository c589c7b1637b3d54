package dev.vigil.aggregator;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import dev.vigil.clickhouse.EmbeddedClickHouse;
import dev.vigil.clickhouse.ServerConfig;
import dev.vigil.common.config.Config;
import dev.vigil.kafka.KafkaBroker;

/**
 * Real Kafka (in-process KRaft broker) and real ClickHouse (the embedded chDB server, or the
 * server at CLICKHOUSE_URL such as jdbc:clickhouse:http://127.0.0.1:8123) for the aggregator's
 * integration tests. Each test gets its own ClickHouse database.
 */
final class TestEnv implements AutoCloseable {
    final Path dir;
    KafkaBroker kafka;
    EmbeddedClickHouse embedded;
    final String database;
    private final String externalUrl = System.getenv("CLICKHOUSE_URL");
    private int chPort;
    private int kafkaPort;
    private int kafkaControllerPort;

    TestEnv(String name) throws Exception {
        EmbeddedClickHouse.deleteStaleTempDirs("vigil-agg-*"); // earlier runs' directories, kept a day for post-mortems
        dir = Files.createTempDirectory("vigil-agg-" + name + "-");
        kafka = KafkaBroker.start(dir.resolve("kafka"), 0);
        kafkaPort = kafka.port();
        kafkaControllerPort = kafka.controllerPort();
        database = "it_" + name + "_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        if (externalUrl == null || externalUrl.isBlank()) {
            embedded = EmbeddedClickHouse.start(dir.resolve("clickhouse"));
            chPort = embedded.port();
        }
        try (ClickHouse root = new ClickHouse(baseUrl() + "/default", "default", "")) {
            root.execute("CREATE DATABASE IF NOT EXISTS " + database);
        }
    }

    private String baseUrl() {
        if (externalUrl != null && !externalUrl.isBlank()) {
            String u = externalUrl.endsWith("/") ? externalUrl.substring(0, externalUrl.length() - 1) : externalUrl;
            int slash = u.indexOf('/', u.indexOf("//") + 2);
            return slash < 0 ? u : u.substring(0, slash);
        }
        return "jdbc:clickhouse:http://127.0.0.1:" + chPort;
    }

    /** The embedded ClickHouse's HTTP port (for a proxy in front of it). */
    int clickHousePort() {
        return chPort;
    }

    String chUrl() {
        return baseUrl() + "/" + database;
    }

    ClickHouse ch() throws Exception {
        return new ClickHouse(chUrl(), "default", "");
    }

    String bootstrap() {
        return kafka.bootstrapServers();
    }

    /** Restarts ClickHouse's server on the same port and data (embedded only). */
    void restartClickHouse() {
        if (embedded == null) {
            return;
        }
        embedded.close();
        embedded = EmbeddedClickHouse.start(ServerConfig.builder(dir.resolve("clickhouse")).port(chPort).build());
    }

    void restartKafka() {
        restartKafka(Map.of());
    }

    /** Restarts the broker on the same ports and data with extra server properties (e.g. a second listener). */
    void restartKafka(Map<String, String> overrides) {
        kafka.close();
        kafka = KafkaBroker.start(dir.resolve("kafka"), kafkaPort, kafkaControllerPort, overrides);
    }

    int kafkaPort() {
        return kafkaPort;
    }

    int kafkaControllerPort() {
        return kafkaControllerPort;
    }

    void createTopic(String name, int partitions) throws Exception {
        try (Admin a = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap()))) {
            a.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
        }
    }

    KafkaProducer<byte[], byte[]> producer() {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(256 * 1024));
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Environment for an aggregator (in-process via Config, or a child JVM). */
    /** The key of tenant "system", an admin of the aggregator's admin API (aggregator.admin-tenants' default). */
    static final String ADMIN_KEY = "admin-key-it";
    /** The key of an ordinary tenant. */
    static final String TENANT_KEY = "tenant-key-it";

    Map<String, String> aggregatorEnv(String topicPrefix) {
        Map<String, String> env = new HashMap<>();
        env.put("VIGIL_API_KEYS", "system:" + ADMIN_KEY + ",t1:" + TENANT_KEY);
        env.put("VIGIL_KAFKA_BOOTSTRAP_SERVERS", bootstrap());
        env.put("VIGIL_KAFKA_TOPIC_PREFIX", topicPrefix);
        env.put("VIGIL_CLICKHOUSE_URL", chUrl());
        env.put("VIGIL_AGGREGATOR_PORT", "0");
        env.put("VIGIL_AGGREGATOR_FLUSH_INTERVAL", "300ms");
        env.put("VIGIL_AGGREGATOR_EXPERIMENTS_FLUSH_INTERVAL", "300ms");
        env.put("VIGIL_AGGREGATOR_RECONCILE_INTERVAL", "1s");
        env.put("VIGIL_AGGREGATOR_MAX_AGE", "30d");
        return env;
    }

    /** The environment of one of several instances in this JVM: no default jobs (the test declares them), its own id. */
    Map<String, String> instanceEnv(String topicPrefix, String instanceId) {
        Map<String, String> e = aggregatorEnv(topicPrefix);
        e.put("VIGIL_AGGREGATOR_DEFAULT_JOBS", "");
        e.put("VIGIL_AGGREGATOR_INSTANCE_ID", instanceId);
        return e;
    }

    /** Events {@code from} to {@code from + n - 1} of {@link EventGen#event}, nine in ten with a client id if {@code ids}. */
    void produceEvents(String topic, int from, int n, boolean ids) throws Exception {
        java.util.List<org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]>> recs = new java.util.ArrayList<>(n);
        java.util.Random rnd = new java.util.Random(from);
        long now = System.currentTimeMillis();
        for (int i = from; i < from + n; i++) {
            recs.add(EventGen.record(topic, EventGen.event(rnd, i, now, ids && i % 10 != 0, "id-")));
        }
        try (KafkaProducer<byte[], byte[]> p = producer()) {
            EventGen.sendAll(p, recs);
        }
    }

    AggregatorMain.Running startAggregator(Map<String, String> env) throws Exception {
        return AggregatorMain.start(Config.load(AggregatorMain.DEF, env));
    }

    static void await(String what, Duration timeout, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (cond.getAsBoolean()) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
    }

    static long longQuery(ClickHouse ch, String sql) {
        try {
            Long v = ch.queryLong(sql);
            return v == null ? 0 : v;
        } catch (Exception e) {
            return -1;
        }
    }

    List<ConsumerRecord<byte[], byte[]>> readAll(String topic, Duration timeout) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> ends = c.endOffsets(tps);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
                boolean done = true;
                for (TopicPartition tp : tps) {
                    if (c.position(tp) < ends.get(tp)) {
                        done = false;
                    }
                }
                if (done) {
                    break;
                }
            }
        }
        return out;
    }

    @Override
    public void close() {
        try {
            kafka.close();
        } catch (RuntimeException e) {
            // best effort
        }
        if (embedded != null) {
            embedded.close();
        }
    }
}
