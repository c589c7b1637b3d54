package dev.vigil.aggregator;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.config.Config;
import dev.vigil.common.config.ConfigDef;
import dev.vigil.common.config.ConfigKey;
import dev.vigil.common.http.SimpleHttpServer;
import dev.vigil.common.model.Topics;
import dev.vigil.common.service.Health;
import dev.vigil.common.service.ObservabilityRoutes;
import dev.vigil.common.service.ServiceRunner;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The aggregator service: applies the ClickHouse migrations, reconciles the stored jobs into
 * running consumer-group workers, and serves the admin API, /metrics and /health/*. SIGTERM
 * flushes, commits and closes every job (ServiceRunner's shutdown hook).
 */
public final class AggregatorMain {
    private static final Logger log = LoggerFactory.getLogger(AggregatorMain.class);

    public static final ConfigKey<String> HOST = ConfigKey.stringKey("aggregator.host", "127.0.0.1", "admin API bind address");
    public static final ConfigKey<Integer> PORT = ConfigKey.intKey("aggregator.port", 8082, 0, 65535, "admin API port (0 = any free port)");
    public static final ConfigKey<List<String>> API_KEYS = ConfigKey.listKey("api-keys", "",
            "API keys: comma-separated tenant:key or tenant:sha256:<hex> (env VIGIL_API_KEYS), as the gateway's and the query API's;"
                    + " the admin API accepts changes (PUT, DELETE) only with the key of an aggregator.admin-tenants tenant.");
    public static final ConfigKey<List<String>> ADMIN_TENANTS = ConfigKey.listKey("aggregator.admin-tenants", "system",
            "Tenants whose API key may change jobs and tenant limits through the admin API (its GETs need no key, like /metrics).");
    public static final ConfigKey<String> BOOTSTRAP = ConfigKey.stringKey("kafka.bootstrap-servers", "127.0.0.1:9092", "Kafka bootstrap servers");
    public static final ConfigKey<String> TOPIC_PREFIX = ConfigKey.stringKey("kafka.topic-prefix", Topics.DEFAULT_PREFIX, "prefix of the Vigil topics");
    public static final ConfigKey<String> CH_URL = ConfigKey.stringKey("clickhouse.url", "jdbc:clickhouse:http://127.0.0.1:8123/default", "ClickHouse JDBC URL");
    public static final ConfigKey<String> CH_USER = ConfigKey.stringKey("clickhouse.user", "default", "ClickHouse user");
    public static final ConfigKey<String> CH_PASSWORD = ConfigKey.stringKey("clickhouse.password", "", "ClickHouse password");
    public static final ConfigKey<String> INSTANCE = ConfigKey.stringKey("aggregator.instance-id", "", "instance name in the flush log (default pid@host, the JVM's name)");
    public static final ConfigKey<String> GROUP_PREFIX = ConfigKey.stringKey("aggregator.group-prefix", "vigil-aggregator-", "consumer group = prefix + job name");
    public static final ConfigKey<List<String>> DEFAULT_JOBS = ConfigKey.listKey("aggregator.default-jobs", "events,experiments,samples",
            "jobs seeded into an empty goal state: events and experiments (both read topic <prefix>events), samples (topic <prefix>samples)");
    public static final ConfigKey<List<String>> DEFAULT_EVENT_ROLLUPS = ConfigKey.listKey("aggregator.default-event-rollups", "series",
            "rollups of the seeded events job, among " + JobSpec.EVENT_ROLLUPS + " (none of the experiments job's)");
    public static final ConfigKey<List<String>> DEFAULT_EXPERIMENT_ROLLUPS = ConfigKey.listKey("aggregator.default-experiment-rollups",
            "experiments,exposures", "rollups of the seeded experiments job, among " + JobSpec.EVENT_ROLLUPS
                    + " (add unit_daily for CUPED's pre-period: up to a row per event and measure with many units)");
    public static final ConfigKey<Duration> EXPERIMENTS_FLUSH_INTERVAL = ConfigKey.durationKey("aggregator.experiments-flush-interval", "10s",
            Duration.ofMillis(50), Duration.ofMinutes(10), "the seeded experiments job flushes each partition at least this often "
                    + "(per-unit rows barely aggregate in 2 s; larger blocks cost ClickHouse less per row)");
    public static final ConfigKey<Integer> DEFAULT_CONSUMERS = ConfigKey.intKey("aggregator.default-consumers", 1, 1, 64,
            "consumer threads of each seeded job per instance (Kafka spreads a topic's partitions over them; more than the partition count leaves some idle)");
    public static final ConfigKey<Integer> BUCKET_SECONDS = ConfigKey.intKey("aggregator.bucket-seconds", 10, 1, 60, "base bucket of seeded jobs (divisor of 60)");
    public static final ConfigKey<Duration> FLUSH_INTERVAL = ConfigKey.durationKey("aggregator.flush-interval", JobSpec.DEFAULT_FLUSH_INTERVAL, Duration.ofMillis(50), Duration.ofMinutes(10),
            "seeded jobs flush each partition at least this often");
    public static final ConfigKey<Integer> MAX_RECORDS_PER_FLUSH = ConfigKey.intKey("aggregator.max-records-per-flush", JobSpec.DEFAULT_MAX_RECORDS_PER_FLUSH, 1,
            JobSpec.MAX_MAX_RECORDS_PER_FLUSH,
            "seeded jobs flush a partition after this many records (or at their flush interval, whichever comes first)");
    public static final ConfigKey<Long> CATCH_UP_LAG = ConfigKey.longKey("aggregator.catch-up.lag", 1_000_000, 0, Long.MAX_VALUE,
            "a partition at least this many records behind its end offset is catching up (0: never), and is flushed at "
                    + "aggregator.catch-up.flush-interval: fewer, larger flushes cost ClickHouse less per event, and its data is late anyway");
    public static final ConfigKey<Duration> CATCH_UP_FLUSH_INTERVAL = ConfigKey.durationKey("aggregator.catch-up.flush-interval", "10s",
            Duration.ofMillis(50), Duration.ofMinutes(10),
            "flush interval of a partition that is catching up, where it is longer than its job's flush_interval");
    public static final ConfigKey<Integer> MAX_KEYS_PER_FLUSH = ConfigKey.intKey("aggregator.max-keys-per-flush", 200_000, 100, 1_000_000,
            "pre-aggregated rows per partition held in memory before a flush is forced");
    public static final ConfigKey<Long> MAX_BYTES_PER_FLUSH = ConfigKey.bytesKey("aggregator.max-bytes-per-flush", "16MiB", 64L << 10, 1L << 30,
            "estimated heap of one partition's buffer (pre-aggregated rows, client ids, samples, dead letters) before a flush is forced");
    public static final ConfigKey<Long> MAX_QUEUED_BYTES = ConfigKey.bytesKey("aggregator.max-queued-bytes", "48MiB", 64L << 10, 8L << 30,
            "estimated heap of a job's cut flushes not yet stored before its partitions are paused (besides aggregator.queue-capacity); "
                    + "a job holds at most partitions x max-bytes-per-flush + this + one more flush per partition");
    public static final ConfigKey<Long> MEMORY_BUDGET = ConfigKey.bytesKey("aggregator.memory-budget", "0", 0, 1L << 40,
            "heap the jobs of this instance may hold by their estimates (flush buffers, client-retry stores, series caches, cut"
                    + " flushes; 0: 70% of the JVM's maximum heap): what the retry stores, caches and cut flushes leave of it is shared"
                    + " by the partitions held as their flush buffers' limit (at least 1 MiB, at most aggregator.max-bytes-per-flush);"
                    + " an estimate over it is logged (event=memory_over_budget) and published (vigil_aggregator_memory_estimated_bytes)");
    public static final ConfigKey<Long> DEAD_LETTER_MAX_BYTES = ConfigKey.bytesKey("aggregator.dead-letter-max-bytes", "512KiB", 1L << 10, 900L << 10,
            "a dead letter keeps at most this much of the poison record's key and value together, the key at most half (header"
                    + " vigil.dlq.truncated gives their sizes): with its headers it must fit the dead-letter producer's 1 MiB requests"
                    + " and the topic's message size");
    public static final ConfigKey<Long> SERIES_CACHE_BYTES = ConfigKey.bytesKey("aggregator.series-cache-bytes", "64MiB", 1L << 20, 16L << 30,
            "estimated heap of each consumer thread's series cache (what it worked out for each series seen: ~1 KB for a"
                    + " few labels) before it is cleared; a working set of series beyond it costs a full decode per event");
    public static final ConfigKey<Integer> FLUSH_PARALLELISM = ConfigKey.intKey("aggregator.flush-parallelism", 2, 1, 16,
            "flusher threads per job: flushes of different partitions are written to ClickHouse concurrently, each partition's in order");
    public static final ConfigKey<Integer> QUEUE_CAPACITY = ConfigKey.intKey("aggregator.queue-capacity", 4, 1, 1000,
            "flushes queued per job before its partitions are paused");
    public static final ConfigKey<Long> DEDUP_MAX_IDS = ConfigKey.longKey("aggregator.dedup.max-ids-per-partition", 500_000, 0, 100_000_000,
            "client-retry dedup window per partition, in records");
    public static final ConfigKey<Duration> DEDUP_WINDOW = ConfigKey.durationKey("aggregator.dedup.window", "24h", Duration.ZERO, Duration.ofDays(2),
            "client-retry dedup window, in Kafka record time");
    public static final ConfigKey<Duration> MAX_AGE = ConfigKey.durationKey("aggregator.max-age", "7d", Duration.ofMinutes(1), Duration.ofDays(3650),
            "seeded jobs dead-letter events older than this (vs their Kafka record time); keep <= the 10s table TTL");
    public static final ConfigKey<Duration> MAX_FUTURE = ConfigKey.durationKey("aggregator.max-future", "1h", Duration.ZERO, Duration.ofDays(7),
            "events further in the future than this (vs their Kafka record time) are dead-lettered");
    public static final ConfigKey<Integer> MAX_SERIES = ConfigKey.intKey("aggregator.limits.max-series-per-tenant", 100_000, 1, 100_000_000,
            "default per-tenant series limit per job");
    public static final ConfigKey<Integer> MAX_SERIES_PER_METRIC = ConfigKey.intKey("aggregator.limits.max-series-per-metric", 20_000, 1, 100_000_000,
            "default per-tenant-and-metric series limit per job");
    public static final ConfigKey<Duration> SERIES_WINDOW = ConfigKey.durationKey("aggregator.limits.window", "1h", Duration.ofSeconds(1), Duration.ofDays(1),
            "series limits count distinct series over this window");
    public static final ConfigKey<Integer> MAX_OVERFLOW_METRICS = ConfigKey.intKey("aggregator.limits.max-overflow-metrics", 100, 1, 100_000,
            "per tenant and job, the metric names series-limit overflow is stored (an overflow series each), counted"
                    + " (vigil_aggregator_series_overflow_total) and logged under; beyond them, under metric __other__ (this bounds"
                    + " the overflow series in the tables and the counters, which stay registered)");
    public static final ConfigKey<Integer> MAX_MEASURE_NAMES = ConfigKey.intKey("aggregator.limits.max-measure-names", 10_000, 1, 1_000_000,
            "per tenant and job, the distinct (metric, measure) names stored in the current series window; a measure beyond them is"
                    + " stored as measure __other__ of its series (counted in vigil_aggregator_measure_overflow_total)");
    public static final ConfigKey<Integer> MAX_TENANTS = ConfigKey.intKey("aggregator.limits.max-tenants", 10_000, 1, 10_000_000,
            "per job and series window, the tenants whose series and measure names are limited one by one; a tenant beyond them"
                    + " (only a writer other than the gateway sends ever new ones) is stored as its series __other__{__overflow__=\"true\"}"
                    + " with measure __other__ until the window ends, counted under tenant __other__ (this bounds the limiter's memory);"
                    + " tenants with limits of their own in the goal state are always tracked, beyond this number");
    public static final ConfigKey<Duration> RECONCILE = ConfigKey.durationKey("aggregator.reconcile-interval", "5s", Duration.ofMillis(100), Duration.ofMinutes(10),
            "how often the goal state is re-read");
    public static final ConfigKey<Boolean> CREATE_TOPICS = ConfigKey.boolKey("aggregator.create-topics", true, "create missing source and dead-letter topics");
    public static final ConfigKey<Integer> TOPIC_PARTITIONS = ConfigKey.intKey("aggregator.topic-partitions", 4, 1, 10_000, "partitions of topics it creates");

    public static final ConfigKey<List<String>> CONSUMER_PROPS = ConfigKey.listKey("kafka.consumer-properties", "",
            "extra Kafka consumer properties for every job, as k=v pairs (e.g. session.timeout.ms=10000); group.id, enable.auto.commit,"
                    + " auto.offset.reset, isolation.level and the deserializers are fixed (refused here)");

    public static final ConfigDef DEF = new ConfigDef().define(HOST, PORT, API_KEYS, ADMIN_TENANTS, BOOTSTRAP, TOPIC_PREFIX, CH_URL, CH_USER, CH_PASSWORD, INSTANCE,
            GROUP_PREFIX, DEFAULT_JOBS, DEFAULT_EVENT_ROLLUPS, DEFAULT_EXPERIMENT_ROLLUPS, EXPERIMENTS_FLUSH_INTERVAL, DEFAULT_CONSUMERS, BUCKET_SECONDS, FLUSH_INTERVAL, MAX_RECORDS_PER_FLUSH, CATCH_UP_LAG, CATCH_UP_FLUSH_INTERVAL, MAX_KEYS_PER_FLUSH, MAX_BYTES_PER_FLUSH, MAX_QUEUED_BYTES, MEMORY_BUDGET, SERIES_CACHE_BYTES, DEAD_LETTER_MAX_BYTES, QUEUE_CAPACITY, FLUSH_PARALLELISM,
            DEDUP_MAX_IDS, DEDUP_WINDOW, MAX_AGE, MAX_FUTURE, MAX_SERIES, MAX_SERIES_PER_METRIC, SERIES_WINDOW, MAX_OVERFLOW_METRICS, MAX_MEASURE_NAMES, MAX_TENANTS, RECONCILE,
            CREATE_TOPICS, TOPIC_PARTITIONS, CONSUMER_PROPS)
            .define(Retention.KEYS.toArray(ConfigKey<?>[]::new));

    private AggregatorMain() {
    }

    public static void main(String[] args) {
        ServiceRunner.run("aggregator", DEF, AggregatorMain::start);
    }

    /** A started aggregator (also used in-process by tests). */
    public static final class Running implements ServiceRunner.Running {
        public final Aggregator aggregator;
        public final ClickHouse ch;
        public final PrometheusMeterRegistry registry;
        private final SimpleHttpServer http;
        private final Health health;
        private final String address;

        Running(Aggregator aggregator, ClickHouse ch, PrometheusMeterRegistry registry, SimpleHttpServer http,
                Health health, String address) {
            this.aggregator = aggregator;
            this.ch = ch;
            this.registry = registry;
            this.http = http;
            this.health = health;
            this.address = address;
        }

        @Override
        public String address() {
            return address;
        }

        public int port() {
            return http.port();
        }

        @Override
        public void close() {
            health.markShuttingDown();
            aggregator.close();
            http.close();
            ch.close();
        }
    }

    /**
     * Consumer settings the exactly-once argument rests on (docs/exactly-once.md), so kafka.consumer-properties may not
     * change them: offsets are committed by the job only after ClickHouse has the rows (auto-commit would commit them
     * before), a job's group is its identity in the flush log, a new group reads from the start of the topic (latest
     * would skip what is already there), only committed records count, and the hot path reads the values in place.
     */
    static final java.util.Set<String> FIXED_CONSUMER_PROPS = java.util.Set.of("group.id", "enable.auto.commit", "auto.offset.reset",
            "isolation.level", "key.deserializer", "value.deserializer");

    static Map<String, Object> consumerProps(List<String> kvs) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        for (String kv : kvs) {
            int i = kv.indexOf('=');
            if (i <= 0) {
                throw new dev.vigil.common.config.ConfigException("config key kafka.consumer-properties has invalid entry '" + kv
                        + "'; accepted values: comma-separated key=value pairs");
            }
            String key = kv.substring(0, i).trim();
            if (FIXED_CONSUMER_PROPS.contains(key)) {
                throw new dev.vigil.common.config.ConfigException("config key kafka.consumer-properties may not set '" + key
                        + "': the aggregator sets it itself, and its exactly-once effect depends on it (fixed: "
                        + new java.util.TreeSet<>(FIXED_CONSUMER_PROPS) + "; docs/exactly-once.md)");
            }
            m.put(key, kv.substring(i + 1).trim());
        }
        return m;
    }

    public static Running start(Config c) throws Exception {
        String prefix = c.get(TOPIC_PREFIX);
        String instance = c.get(INSTANCE).isEmpty() ? ManagementFactory.getRuntimeMXBean().getName() : c.get(INSTANCE);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Map<String, Duration> retention = Retention.fromConfig(c);
        ClickHouse ch = new ClickHouse(c.get(CH_URL), c.get(CH_USER), c.get(CH_PASSWORD));
        long t0 = System.nanoTime();
        Exception last = null;
        for (int attempt = 0; attempt < 60; attempt++) {
            try {
                List<Integer> applied = Migrations.apply(ch);
                log.info("event=migrations_checked applied_now={} took_ms={}", applied, (System.nanoTime() - t0) / 1_000_000);
                last = null;
                break;
            } catch (Exception e) {
                last = e;
                log.warn("event=clickhouse_not_ready url={} attempt={} error=\"{}\"", c.get(CH_URL), attempt, e.toString());
                Thread.sleep(1000);
            }
        }
        if (last != null) {
            throw last;
        }
        try {
            Retention.apply(ch, retention);
        } catch (Exception e) { // ClickHouse answered the migrations: this is the ALTER itself (a grant, a refusal)
            throw new IllegalStateException("could not set the tables' retention (aggregator.retention.*): " + e.getMessage(), e);
        }
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, c.get(BOOTSTRAP));
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        // a job's own buffer (one producer per job, created with its first dead letter): a dead letter is at most
        // dead-letter-max-bytes plus headers, well under this; a flood waits for Kafka, which its flush does anyway
        pp.put(ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(8L << 20));
        java.util.function.Function<String, Producer<byte[], byte[]>> deadLetterProducers = job -> {
            Properties p = new Properties();
            p.putAll(pp);
            p.put(ProducerConfig.CLIENT_ID_CONFIG, "vigil-aggregator-dlq-" + instance + "-" + job);
            return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        };
        // built once now, so that a setting Kafka refuses stops the start instead of a job's first dead letter
        deadLetterProducers.apply("startup-check").close(Duration.ZERO);
        MemoryBudget memory = new MemoryBudget(c.get(MEMORY_BUDGET));
        io.micrometer.core.instrument.Gauge.builder("vigil_aggregator_memory_budget_bytes", memory, MemoryBudget::budget)
                .description("aggregator.memory-budget: what the jobs' estimated heap (vigil_aggregator_memory_estimated_bytes) should stay within")
                .register(registry);
        WorkerSettings ws = new WorkerSettings(ch, deadLetterProducers, registry, t -> null, c.get(BOOTSTRAP), c.get(GROUP_PREFIX),
                Topics.deadLetters(prefix), (int) (long) c.get(DEAD_LETTER_MAX_BYTES), c.get(QUEUE_CAPACITY), c.get(FLUSH_PARALLELISM), c.get(MAX_KEYS_PER_FLUSH), c.get(MAX_BYTES_PER_FLUSH), c.get(MAX_QUEUED_BYTES), c.get(SERIES_CACHE_BYTES), c.get(DEDUP_MAX_IDS),
                c.get(DEDUP_WINDOW).toMillis(), c.get(MAX_FUTURE).toMillis(), c.get(SERIES_WINDOW).toMillis(), c.get(MAX_OVERFLOW_METRICS), c.get(MAX_MEASURE_NAMES), c.get(MAX_TENANTS), c.get(CATCH_UP_LAG), c.get(CATCH_UP_FLUSH_INTERVAL).toMillis(), instance,
                consumerProps(c.get(CONSUMER_PROPS)), memory);
        Aggregator agg = new Aggregator(new GoalStore(ch), ws, new TenantLimits(c.get(MAX_SERIES), c.get(MAX_SERIES_PER_METRIC)),
                c.get(CREATE_TOPICS), c.get(TOPIC_PARTITIONS));
        List<JobSpec> seed = new ArrayList<>();
        for (String j : c.get(DEFAULT_JOBS)) {
            List<String> rollups = switch (j) {
                case "events" -> c.get(DEFAULT_EVENT_ROLLUPS);
                case "experiments" -> c.get(DEFAULT_EXPERIMENT_ROLLUPS);
                case "samples" -> null;
                default -> throw new dev.vigil.common.config.ConfigException("config key aggregator.default-jobs has unknown job '" + j
                        + "'; accepted values: events, experiments, samples");
            };
            boolean samples = "samples".equals(j);
            Duration flush = "experiments".equals(j) ? c.get(EXPERIMENTS_FLUSH_INTERVAL) : c.get(FLUSH_INTERVAL);
            try {
                seed.add(new JobSpec(j, samples ? Topics.samples(prefix) : Topics.events(prefix), samples ? "samples" : "events", rollups,
                        c.get(BUCKET_SECONDS), dev.vigil.common.config.Sizes.formatDuration(c.get(MAX_AGE)), null,
                        dev.vigil.common.config.Sizes.formatDuration(flush), c.get(MAX_RECORDS_PER_FLUSH), c.get(DEFAULT_CONSUMERS)).normalized());
            } catch (IllegalArgumentException e) {
                throw new dev.vigil.common.config.ConfigException("seeded job '" + j + "' is invalid: " + e.getMessage()
                        + " (config keys aggregator.default-event-rollups, aggregator.default-experiment-rollups, aggregator.bucket-seconds, ...)");
            }
        }
        Health health = new Health();
        health.register("clickhouse", () -> {
            try {
                ch.queryLong("SELECT 1");
                return Health.Check.ok(c.get(CH_URL));
            } catch (Exception e) {
                return Health.Check.fail(e.toString());
            }
        });
        health.register("jobs", () -> {
            List<String> bad = new ArrayList<>();
            agg.workers().forEach((n, w) -> {
                if (w.state() == JobWorker.State.FAILED) {
                    bad.add(n);
                }
            });
            return bad.isEmpty() ? Health.Check.ok(agg.workers().size() + " jobs") : Health.Check.fail("failed jobs: " + bad);
        });
        try {
            agg.start(seed, c.get(RECONCILE).toMillis());
        } catch (IllegalArgumentException e) {
            throw new dev.vigil.common.config.ConfigException(e.getMessage() + " (config keys aggregator.default-jobs, "
                    + "aggregator.default-event-rollups, aggregator.default-experiment-rollups)");
        }
        SimpleHttpServer http = new SimpleHttpServer(1 << 20, 4);
        ObservabilityRoutes.mount(http, "aggregator", registry, health);
        dev.vigil.common.auth.ApiKeys adminKeys = dev.vigil.common.auth.ApiKeys.parse(c.get(API_KEYS));
        if (adminKeys.isEmpty()) {
            log.warn("event=admin_api_read_only reason=\"no api-keys configured: the admin API refuses every change (PUT, DELETE);"
                    + " set VIGIL_API_KEYS with a key of an aggregator.admin-tenants tenant\"");
        }
        new AdminApi(agg, adminKeys, java.util.Set.copyOf(c.get(ADMIN_TENANTS))).mount(http);
        http.start(c.get(HOST), c.get(PORT));
        String address = "http://" + c.get(HOST) + ":" + http.port();
        return new Running(agg, ch, registry, http, health, address);
    }
}
