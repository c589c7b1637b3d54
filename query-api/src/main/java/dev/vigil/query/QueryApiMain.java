package dev.vigil.query;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.auth.ApiKeys;
import dev.vigil.common.config.Config;
import dev.vigil.common.config.ConfigDef;
import dev.vigil.common.config.ConfigKey;
import dev.vigil.common.service.ServiceRunner;
import dev.vigil.query.api.QueryModule;
import dev.vigil.query.http.PrometheusApi;
import dev.vigil.query.storage.ClickHouseStorage;

/** The query API service: {@code java -cp query-api/target/classes:query-api/target/lib/* dev.vigil.query.QueryApiMain}. */
public final class QueryApiMain {
    private static final Logger log = LoggerFactory.getLogger(QueryApiMain.class);

    public static final ConfigKey<String> HOST = ConfigKey.stringKey("query.host", "127.0.0.1", "Address the query API listens on.");
    public static final ConfigKey<Integer> PORT = ConfigKey.intKey("query.port", 9090, 0, 65535, "Port of the query API (0 = ephemeral).");
    public static final ConfigKey<String> CLICKHOUSE_URL = ConfigKey.stringKey("clickhouse.url", "jdbc:clickhouse:http://127.0.0.1:8123/default",
            "JDBC URL of ClickHouse (the database holding the aggregator's tables).");
    public static final ConfigKey<String> CLICKHOUSE_USER = ConfigKey.stringKey("clickhouse.user", "default", "ClickHouse user.");
    public static final ConfigKey<String> CLICKHOUSE_PASSWORD = ConfigKey.stringKey("clickhouse.password", "", "ClickHouse password.");
    public static final ConfigKey<List<String>> API_KEYS = ConfigKey.listKey("api-keys", "",
            "API keys: comma-separated tenant:key or tenant:sha256:<hex> (env VIGIL_API_KEYS). A request's key decides its tenant.");
    public static final ConfigKey<Integer> MAX_POINTS = ConfigKey.intKey("query.max-points-per-series", 11_000, 10, 1_000_000,
            "Maximum points per series of a range query ((end-start)/step+1), as Prometheus' 11,000.");
    public static final ConfigKey<Long> MAX_SERIES = ConfigKey.longKey("query.max-series", 100_000, 1, 100_000_000,
            "Maximum series one query may select from storage.");
    public static final ConfigKey<Long> MAX_SAMPLES = ConfigKey.longKey("query.max-samples", 50_000_000, 1000, 2_000_000_000,
            "Maximum samples one query may hold in memory (Prometheus --query.max-samples).");
    public static final ConfigKey<Duration> TIMEOUT = ConfigKey.durationKey("query.timeout", "2m", Duration.ofMillis(100), Duration.ofHours(1),
            "Default time limit of one query (the timeout parameter may lower it).");
    public static final ConfigKey<Duration> MAX_TIMEOUT = ConfigKey.durationKey("query.max-timeout", "10m", Duration.ofMillis(100), Duration.ofHours(1),
            "Largest timeout a request may ask for.");
    public static final ConfigKey<Duration> MAX_RANGE = ConfigKey.durationKey("query.max-range", "400d", Duration.ofMinutes(1), Duration.ofDays(3650),
            "Longest end-start of a range query.");
    public static final ConfigKey<Duration> LOOKBACK = ConfigKey.durationKey("query.lookback-delta", "5m", Duration.ofSeconds(1), Duration.ofDays(1),
            "How far back an instant selector looks for a sample (Prometheus --query.lookback-delta).");
    public static final ConfigKey<Integer> BASE_BUCKET = ConfigKey.intKey("query.base-bucket-seconds", 10, 1, 60,
            "Bucket width of vigil_rollup_10s (the aggregator's bucket_seconds).");
    public static final ConfigKey<Duration> CATALOGUE_TTL = ConfigKey.durationKey("query.catalogue-ttl", "10s", Duration.ZERO, Duration.ofHours(1),
            "How long the per-tenant list of metric names is cached.");
    public static final ConfigKey<Boolean> PUSHDOWN = ConfigKey.boolKey("query.aggregation-pushdown", true,
            "Sum `sum by (...) (rate|increase(event counter))` in ClickHouse instead of in the engine.");
    public static final ConfigKey<Integer> WORKERS = ConfigKey.intKey("query.worker-threads", 8, 1, 512, "Threads running API requests.");
    public static final ConfigKey<List<String>> SELFMON_TARGETS = ConfigKey.listKey("self-monitoring.targets", "",
            "Services to scrape for Vigil's own metrics: comma-separated job=url, e.g. gateway=http://127.0.0.1:8080/metrics,query-api=self (empty = off).");
    public static final ConfigKey<String> SELFMON_KAFKA = ConfigKey.stringKey("self-monitoring.kafka-bootstrap", "127.0.0.1:9092",
            "Kafka bootstrap servers the scraped samples are produced to (topic <prefix>samples, as the gateway does).");
    public static final ConfigKey<String> SELFMON_TOPIC_PREFIX = ConfigKey.stringKey("self-monitoring.topic-prefix", "vigil.",
            "Topic prefix of the samples topic.");
    public static final ConfigKey<String> SELFMON_TENANT = ConfigKey.stringKey("self-monitoring.tenant", "system",
            "Tenant the services' own metrics are stored under; query them with an API key of this tenant.");
    public static final ConfigKey<Duration> SELFMON_INTERVAL = ConfigKey.durationKey("self-monitoring.interval", "15s", Duration.ofSeconds(1), Duration.ofHours(1),
            "Scrape interval of self-monitoring.");
    public static final ConfigKey<Boolean> MODULES_EXPERIMENTS = ConfigKey.boolKey("query.modules.experiments", true,
            "Mount the experiments module (guardrail reports) when it is on the class path.");
    public static final ConfigKey<Boolean> MODULES_HEALTH = ConfigKey.boolKey("query.modules.health", true,
            "Mount the ML-health module when it is on the class path.");

    public static final ConfigDef DEF = new ConfigDef().define(HOST, PORT, CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, API_KEYS,
            MAX_POINTS, MAX_SERIES, MAX_SAMPLES, TIMEOUT, MAX_TIMEOUT, MAX_RANGE, LOOKBACK, BASE_BUCKET, CATALOGUE_TTL, PUSHDOWN, WORKERS,
            SELFMON_TARGETS, SELFMON_KAFKA, SELFMON_TOPIC_PREFIX, SELFMON_TENANT, SELFMON_INTERVAL, MODULES_EXPERIMENTS, MODULES_HEALTH);

    private QueryApiMain() {
    }

    public static void main(String[] args) {
        ServiceRunner.run("query-api", DEF, QueryApiMain::start);
    }

    public static QueryApi.Settings settings(Config c) {
        PrometheusApi.Limits limits = new PrometheusApi.Limits(c.get(MAX_POINTS), c.get(MAX_SERIES), c.get(MAX_SAMPLES),
                c.get(TIMEOUT).toMillis(), c.get(MAX_TIMEOUT).toMillis(), c.get(MAX_RANGE).toMillis(), 100_000);
        ClickHouseStorage.Settings st = new ClickHouseStorage.Settings(c.get(BASE_BUCKET), c.get(LOOKBACK).toMillis(),
                c.get(CATALOGUE_TTL).toMillis(), System::currentTimeMillis);
        return new QueryApi.Settings(c.get(HOST), c.get(PORT), c.get(CLICKHOUSE_URL), c.get(CLICKHOUSE_USER), c.get(CLICKHOUSE_PASSWORD),
                ApiKeys.parse(c.get(API_KEYS)), limits, st, c.get(PUSHDOWN), c.get(WORKERS), 4 * 1024 * 1024);
    }

    static ServiceRunner.Running start(Config c) throws Exception {
        QueryApi.Settings s = settings(c);
        if (s.apiKeys().isEmpty()) {
            log.warn("no api-keys configured (VIGIL_API_KEYS): every API request will be answered 401");
        }
        QueryApi api = QueryApi.start(s, shared -> otherModules(c, shared));
        SelfMonitor mon = SelfMonitor.fromConfig(c, api);
        if (mon != null) {
            api.closeWith(mon);
        }
        return new ServiceRunner.Running() {
            @Override
            public String address() {
                return api.baseUrl();
            }

            @Override
            public void close() {
                api.close();
            }
        };
    }

    /**
     * REGISTRATION POINT for the modules other engineers write in this artifact. They are looked up
     * by class name so that this service keeps building while they are being written:
     * <ul>
     *   <li>experiments: {@code dev.vigil.query.experiments.ExperimentsModule.forJdbc(url, user, password, Clock)}</li>
     *   <li>ML health: {@code dev.vigil.query.health.HealthModule.forJdbc(url, user, password, Clock)} (when it exists)</li>
     *   <li>alerting: rule evaluation and /api/v1/rules, /api/v1/alerts from {@code dev.vigil.alerting} (see docs/query-api.md, "Modules")</li>
     * </ul>
     */
    static List<QueryModule> otherModules(Config c, QueryApi.Shared shared) {
        List<QueryModule> out = new ArrayList<>();
        if (c.get(MODULES_EXPERIMENTS)) {
            addByFactory(out, "dev.vigil.query.experiments.ExperimentsModule", c);
        }
        if (c.get(MODULES_HEALTH)) {
            addByFactory(out, "dev.vigil.query.health.HealthModule", c);
        }
        return out;
    }

    private static void addByFactory(List<QueryModule> out, String className, Config c) {
        try {
            Class<?> k = Class.forName(className);
            Object m = k.getMethod("forJdbc", String.class, String.class, String.class, java.time.Clock.class)
                    .invoke(null, c.get(CLICKHOUSE_URL), c.get(CLICKHOUSE_USER), c.get(CLICKHOUSE_PASSWORD), java.time.Clock.systemUTC());
            out.add((QueryModule) m);
            log.info("module mounted class={}", className);
        } catch (ClassNotFoundException | NoSuchMethodException e) {
            log.info("module not available class={} ({})", className, e.toString());
        } catch (Exception e) {
            log.warn("module failed to start class={} error={}", className, e.toString());
        }
    }
}
