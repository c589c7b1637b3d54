package dev.vigil.gateway;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.config.Config;
import dev.vigil.common.model.Event;
import dev.vigil.common.model.Sample;
import dev.vigil.common.model.Topics;
import dev.vigil.common.service.Health;

/**
 * The gateway's only path to Kafka: one idempotent producer (acks=all) shared by all requests,
 * topics created at startup with Admin, and a background reachability probe for readiness.
 * {@link #send} must be called off the event loop: it can block up to {@code max.block.ms}.
 */
public final class KafkaSink implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KafkaSink.class);

    /** Header on every record: which codec kind the value is, so consumers can route without decoding. */
    public static final String HEADER_KIND = "vigil-kind";
    static final Header EVENT_HEADER = new RecordHeader(HEADER_KIND, "event".getBytes(StandardCharsets.UTF_8));
    static final Header SAMPLE_HEADER = new RecordHeader(HEADER_KIND, "sample".getBytes(StandardCharsets.UTF_8));

    private final String eventsTopic;
    private final String samplesTopic;
    private final String deadLettersTopic;
    private final Producer<byte[], byte[]> producer;
    private final Admin admin;
    private final ScheduledExecutorService probe;
    private volatile Health.Check reachable = Health.Check.fail("not probed yet");

    public KafkaSink(Config c) {
        String prefix = c.get(GatewayConfig.TOPIC_PREFIX);
        this.eventsTopic = Topics.events(prefix);
        this.samplesTopic = Topics.samples(prefix);
        this.deadLettersTopic = Topics.deadLetters(prefix);
        String bootstrap = c.get(GatewayConfig.BOOTSTRAP);
        this.admin = Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000,
                org.apache.kafka.clients.CommonClientConfigs.METADATA_RECOVERY_STRATEGY_CONFIG, "none"));
        createTopics(c.get(GatewayConfig.PARTITIONS), c.get(GatewayConfig.REPLICATION).shortValue());
        this.producer = new KafkaProducer<>(producerProps(c), new ByteArraySerializer(), new ByteArraySerializer());
        this.probe = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("kafka-probe").factory());
        probeOnce();
        probe.scheduleWithFixedDelay(this::probeOnce, 2, 2, TimeUnit.SECONDS);
    }

    static Map<String, Object> producerProps(Config c) {
        long ackTimeout = c.get(GatewayConfig.ACK_TIMEOUT).toMillis();
        int linger = c.get(GatewayConfig.LINGER_MS);
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, c.get(GatewayConfig.BOOTSTRAP));
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "vigil-gateway");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
        p.put(ProducerConfig.LINGER_MS_CONFIG, linger);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, c.get(GatewayConfig.BATCH_SIZE).intValue());
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, c.get(GatewayConfig.BUFFER_MEMORY));
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, c.get(GatewayConfig.COMPRESSION));
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, c.get(GatewayConfig.MAX_BLOCK).toMillis());
        // A single broker: do not "rebootstrap" into nothing; keep trying the one we know.
        p.put(org.apache.kafka.clients.CommonClientConfigs.METADATA_RECOVERY_STRATEGY_CONFIG, "none");
        // Records the gateway stopped waiting for may still be delivered until this expires; the
        // client got a 503 and retries with the same ids, and the aggregator drops the repeat.
        int requestTimeout = (int) Math.max(1000, Math.min(30_000, ackTimeout));
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, requestTimeout);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) Math.max(ackTimeout, linger + requestTimeout));
        p.put(ProducerConfig.RECONNECT_BACKOFF_MS_CONFIG, 50);
        p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000);
        p.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, 50);
        p.put(ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, 500);
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 8 * 1024 * 1024);
        return p;
    }

    private void createTopics(int partitions, short rf) {
        List<NewTopic> wanted = new ArrayList<>();
        for (String t : List.of(eventsTopic, samplesTopic, deadLettersTopic)) {
            wanted.add(new NewTopic(t, partitions, rf));
        }
        try {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> missing = wanted.stream().filter(t -> !existing.contains(t.name())).toList();
            if (missing.isEmpty()) {
                log.info("kafka topics present topics={},{},{}", eventsTopic, samplesTopic, deadLettersTopic);
                return;
            }
            var result = admin.createTopics(missing);
            for (NewTopic t : missing) {
                try {
                    result.values().get(t.name()).get(30, TimeUnit.SECONDS);
                    log.info("kafka topic created topic={} partitions={} replication={}", t.name(), partitions, rf);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot create Kafka topics at " + eventsTopic + "...: " + e, e);
        }
    }

    private void probeOnce() {
        try {
            int n = admin.describeCluster().nodes().get(2, TimeUnit.SECONDS).size();
            reachable = n > 0 ? Health.Check.ok(n + " broker(s)") : Health.Check.fail("no brokers");
        } catch (Exception e) {
            Throwable c = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            if (reachable.ok()) {
                log.warn("kafka unreachable error={}", c.toString());
            }
            reachable = Health.Check.fail("kafka unreachable: " + c.getClass().getSimpleName());
            return;
        }
    }

    public Health.Check health() {
        return reachable;
    }

    public boolean kafkaReachable() {
        return reachable.ok();
    }

    /** Sends one event (key = series key, so a series keeps its order and a retry its partition). */
    public void send(Event e, byte[] value, Callback cb) {
        byte[] key = e.seriesKey().getBytes(StandardCharsets.UTF_8);
        producer.send(new ProducerRecord<>(eventsTopic, null, null, key, value, List.of(EVENT_HEADER)), cb);
    }

    /** Sends one event already encoded (key = its series key as UTF-8, value = its RecordCodec bytes). */
    public void sendEvent(byte[] key, byte[] value, Callback cb) {
        producer.send(new ProducerRecord<>(eventsTopic, null, null, key, value, EVENT_HEADERS), cb);
    }

    private static final List<Header> EVENT_HEADERS = List.of(EVENT_HEADER);

    public void send(Sample s, byte[] value, Callback cb) {
        byte[] key = s.seriesKey().getBytes(StandardCharsets.UTF_8);
        producer.send(new ProducerRecord<>(samplesTopic, null, null, key, value, List.of(SAMPLE_HEADER)), cb);
    }

    public static byte[] encode(Event e) {
        return RecordCodec.encode(e);
    }

    public String eventsTopic() {
        return eventsTopic;
    }

    public String samplesTopic() {
        return samplesTopic;
    }

    public void flush() {
        producer.flush();
    }

    @Override
    public void close() {
        probe.shutdownNow();
        producer.close(java.time.Duration.ofSeconds(10));
        admin.close(java.time.Duration.ofSeconds(2));
    }
}
