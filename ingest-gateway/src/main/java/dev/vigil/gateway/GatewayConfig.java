package dev.vigil.gateway;

import java.time.Duration;
import java.util.List;

import dev.vigil.common.config.Config;
import dev.vigil.common.config.ConfigDef;
import dev.vigil.common.config.ConfigKey;

/** Every configuration key of the ingest gateway (docs/gateway.md renders {@link #DEF} as a table). */
public final class GatewayConfig {
    private GatewayConfig() {
    }

    public static final ConfigKey<String> HOST = ConfigKey.stringKey("gateway.host", "127.0.0.1",
            "Address the ingest port binds to.");
    public static final ConfigKey<Integer> PORT = ConfigKey.intKey("gateway.port", 8080, 0, 65535,
            "Ingest port (also serves /metrics, /health/live, /health/ready). 0 picks a free port.");
    public static final ConfigKey<String> BOOTSTRAP = ConfigKey.stringKey("kafka.bootstrap-servers", "127.0.0.1:9092",
            "Kafka bootstrap servers.");
    public static final ConfigKey<String> TOPIC_PREFIX = ConfigKey.stringKey("kafka.topic-prefix", "vigil.",
            "Prefix of the topic names (<prefix>events, <prefix>samples, <prefix>dead-letters).");
    public static final ConfigKey<Integer> PARTITIONS = ConfigKey.intKey("kafka.partitions", 4, 1, 10_000,
            "Partition count of topics the gateway creates at startup (existing topics are left as they are).");
    public static final ConfigKey<Integer> REPLICATION = ConfigKey.intKey("kafka.replication-factor", 1, 1, 16,
            "Replication factor of topics the gateway creates.");
    public static final ConfigKey<List<String>> API_KEYS = ConfigKey.listKey("api-keys", "",
            "Comma-separated tenant:key or tenant:sha256:<hex>. Requests without a matching Bearer key get 401.");

    // Kafka producer tuning.
    public static final ConfigKey<Duration> ACK_TIMEOUT = ConfigKey.durationKey("gateway.kafka-ack-timeout", "5s",
            Duration.ofMillis(100), Duration.ofMinutes(5),
            "How long a request waits for Kafka to confirm all its records before answering 503 with Retry-After.");
    public static final ConfigKey<Duration> MAX_BLOCK = ConfigKey.durationKey("kafka.max-block", "250ms",
            Duration.ofMillis(10), Duration.ofSeconds(60),
            "Producer max.block.ms: longest a send may block (metadata or buffer). Sends never run on event-loop threads.");
    public static final ConfigKey<Integer> LINGER_MS = ConfigKey.intKey("kafka.linger-ms", 5, 0, 1000,
            "Producer linger.ms.");
    public static final ConfigKey<Long> BATCH_SIZE = ConfigKey.bytesKey("kafka.batch-size", "256KiB", 1024, 16L << 20,
            "Producer batch.size.");
    public static final ConfigKey<Long> BUFFER_MEMORY = ConfigKey.bytesKey("kafka.buffer-memory", "128MiB", 1L << 20, 4L << 30,
            "Producer buffer.memory.");
    public static final ConfigKey<String> COMPRESSION = ConfigKey.enumKey("kafka.compression", "lz4",
            List.of("none", "gzip", "snappy", "lz4", "zstd"), "Producer compression.type.");

    // Overload protection.
    public static final ConfigKey<Long> MAX_INFLIGHT_BYTES = ConfigKey.bytesKey("gateway.max-inflight-bytes", "128MiB",
            1L << 20, 16L << 30,
            "Global bound on request bytes held (bodies being received, decoded and awaiting Kafka). Beyond it: 429.");
    public static final ConfigKey<Integer> WORKER_THREADS = ConfigKey.intKey("gateway.worker-threads",
            Math.max(2, Runtime.getRuntime().availableProcessors()), 1, 256,
            "Threads that decode, validate and hand records to the Kafka producer (never the event loop).");
    public static final ConfigKey<Integer> WORKER_QUEUE = ConfigKey.intKey("gateway.worker-queue", 1024, 1, 100_000,
            "Bounded queue of complete requests waiting for a worker; beyond it: 429.");
    public static final ConfigKey<Integer> IO_THREADS = ConfigKey.intKey("gateway.io-threads",
            Math.max(1, Runtime.getRuntime().availableProcessors()), 1, 256, "Netty event-loop threads.");
    public static final ConfigKey<Double> TENANT_RATE = ConfigKey.doubleKey("gateway.tenant-rate", 0, 0, 1e12,
            "Per-tenant limit in items (events + samples) per second, token bucket; 0 means unlimited. Beyond it: 429.");
    public static final ConfigKey<Double> TENANT_BURST = ConfigKey.doubleKey("gateway.tenant-burst-seconds", 2, 0.001, 3600,
            "Token-bucket depth of the tenant rate limit, in seconds of the rate.");

    // HTTP hardening.
    public static final ConfigKey<Duration> READ_TIMEOUT = ConfigKey.durationKey("gateway.request-read-timeout", "10s",
            Duration.ofMillis(100), Duration.ofMinutes(10),
            "A request must arrive completely (headers and body) within this time of its first byte; else 408 and close.");
    public static final ConfigKey<Duration> IDLE_TIMEOUT = ConfigKey.durationKey("gateway.idle-timeout", "60s",
            Duration.ofMillis(100), Duration.ofHours(1), "A keep-alive connection without traffic is closed after this.");
    public static final ConfigKey<Integer> MAX_INITIAL_LINE = ConfigKey.intKey("gateway.max-uri-length", 4096, 256, 65536,
            "Longest request line (method, URI, version); beyond it: 414.");
    public static final ConfigKey<Integer> MAX_HEADER_SIZE = ConfigKey.intKey("gateway.max-header-bytes", 16384, 1024, 1 << 20,
            "Largest total header block; beyond it: 431.");
    public static final ConfigKey<String> TLS_CERT = ConfigKey.stringKey("gateway.tls.cert-file", "",
            "PEM certificate chain; with gateway.tls.key-file enables TLS on the ingest port. Empty: plain HTTP.");
    public static final ConfigKey<String> TLS_KEY = ConfigKey.stringKey("gateway.tls.key-file", "",
            "PEM PKCS#8 private key for TLS.");
    public static final ConfigKey<Duration> SHUTDOWN_GRACE = ConfigKey.durationKey("gateway.shutdown-grace", "15s",
            Duration.ZERO, Duration.ofMinutes(5), "On SIGTERM, how long in-flight requests may take to finish.");

    // Validation limits.
    public static final ConfigKey<Long> MAX_BODY = ConfigKey.bytesKey("gateway.max-body-bytes", "8MiB", 1024, 1L << 30,
            "Largest request body as sent (compressed); beyond it: 413 (refused from Content-Length before reading).");
    public static final ConfigKey<Long> MAX_DECOMPRESSED = ConfigKey.bytesKey("gateway.max-decompressed-bytes", "32MiB", 1024, 1L << 31,
            "Largest body after decompression; decompression streams and stops at this cap (413), so a bomb is refused early.");
    public static final ConfigKey<Integer> MAX_EVENTS = ConfigKey.intKey("gateway.max-events-per-batch", 10_000, 1, 1_000_000,
            "Most events (or OTLP log records, data points, remote-write samples) in one request; beyond it: 413.");
    public static final ConfigKey<Integer> MAX_EVENT_BYTES = ConfigKey.intKey("gateway.max-event-bytes", 16384, 64, 1 << 24,
            "Largest single event as JSON text (or encoded record); beyond it the event is rejected.");
    public static final ConfigKey<Integer> MAX_DIMS = ConfigKey.intKey("gateway.max-dims-per-event", 32, 0, 1024,
            "Most dims of an event / labels of a sample.");
    public static final ConfigKey<Integer> MAX_MEASURES = ConfigKey.intKey("gateway.max-measures-per-event", 64, 0, 1024,
            "Most measures of an event.");
    public static final ConfigKey<Integer> MAX_EXPERIMENTS = ConfigKey.intKey("gateway.max-experiments-per-event", 32, 0, 1024,
            "Most experiment assignments of an event.");
    public static final ConfigKey<Integer> MAX_NAME_LENGTH = ConfigKey.intKey("gateway.max-name-length", 128, 1, 4096,
            "Longest event type, dim/measure/label name, metric name, experiment id.");
    public static final ConfigKey<Integer> MAX_VALUE_LENGTH = ConfigKey.intKey("gateway.max-value-length", 256, 1, 65536,
            "Longest dim/label value, variant, unit_id, event_id and batch_id.");
    public static final ConfigKey<Duration> MAX_FUTURE = ConfigKey.durationKey("gateway.max-future-skew", "10m",
            Duration.ZERO, Duration.ofDays(365), "Timestamps later than now plus this are rejected (out_of_window).");
    public static final ConfigKey<Duration> MAX_AGE = ConfigKey.durationKey("gateway.max-age", "24h",
            Duration.ofSeconds(1), Duration.ofDays(3650),
            "Timestamps older than now minus this are rejected (out_of_window). Matches the 24 h deduplication window.");
    public static final ConfigKey<Integer> MAX_JSON_DEPTH = ConfigKey.intKey("gateway.max-json-depth", 16, 4, 1000,
            "Deepest JSON nesting accepted; deeper bodies get 400 (OTLP/JSON is allowed 64).");

    public static final ConfigDef DEF = new ConfigDef().define(
            HOST, PORT, BOOTSTRAP, TOPIC_PREFIX, PARTITIONS, REPLICATION, API_KEYS,
            ACK_TIMEOUT, MAX_BLOCK, LINGER_MS, BATCH_SIZE, BUFFER_MEMORY, COMPRESSION,
            MAX_INFLIGHT_BYTES, WORKER_THREADS, WORKER_QUEUE, IO_THREADS, TENANT_RATE, TENANT_BURST,
            READ_TIMEOUT, IDLE_TIMEOUT, MAX_INITIAL_LINE, MAX_HEADER_SIZE, TLS_CERT, TLS_KEY, SHUTDOWN_GRACE,
            MAX_BODY, MAX_DECOMPRESSED, MAX_EVENTS, MAX_EVENT_BYTES, MAX_DIMS, MAX_MEASURES, MAX_EXPERIMENTS,
            MAX_NAME_LENGTH, MAX_VALUE_LENGTH, MAX_FUTURE, MAX_AGE, MAX_JSON_DEPTH);

    /** The validation limits, read once from the config. */
    public record Limits(long maxBody, long maxDecompressed, int maxEvents, int maxEventBytes, int maxDims,
                         int maxMeasures, int maxExperiments, int maxNameLength, int maxValueLength,
                         long maxFutureMillis, long maxAgeMillis, int maxJsonDepth) {
        public static Limits of(Config c) {
            return new Limits(c.get(MAX_BODY), c.get(MAX_DECOMPRESSED), c.get(MAX_EVENTS), c.get(MAX_EVENT_BYTES),
                    c.get(MAX_DIMS), c.get(MAX_MEASURES), c.get(MAX_EXPERIMENTS), c.get(MAX_NAME_LENGTH),
                    c.get(MAX_VALUE_LENGTH), c.get(MAX_FUTURE).toMillis(), c.get(MAX_AGE).toMillis(), c.get(MAX_JSON_DEPTH));
        }
    }
}
