package dev.vigil.query;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.alerting.AlertingConfig;
import dev.vigil.alerting.AlertingService;
import dev.vigil.alerting.PromqlQueryEngine;
import dev.vigil.alerting.rules.RuleFileException;
import dev.vigil.common.auth.ApiKeys;
import dev.vigil.common.config.Config;
import dev.vigil.common.config.ConfigDef;
import dev.vigil.common.config.ConfigException;
import dev.vigil.common.config.ConfigKey;
import dev.vigil.common.service.ServiceRunner;
import dev.vigil.query.api.QueryModule;
import dev.vigil.query.api.TenantRoute;
import dev.vigil.query.experiments.ExperimentsModule;
import dev.vigil.query.experiments.JdbcDataSource;
import dev.vigil.query.health.ModelHealthModule;
import dev.vigil.query.http.PrometheusApi;
import dev.vigil.query.storage.ClickHouseStorage;
import dev.vigil.query.storage.QueryGuard;

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
    public static final ConfigKey<Integer> MAX_SERIES_LISTED = ConfigKey.intKey("query.max-series-listed", 100_000, 1, 10_000_000,
            "Most series /api/v1/series, /labels and /label/<name>/values read; beyond it their answer is cut, with a warning.");
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
    public static final ConfigKey<String> KAFKA_BOOTSTRAP = ConfigKey.stringKey("kafka.bootstrap-servers", "127.0.0.1:9092",
            "Kafka bootstrap servers the query API produces to (self-monitoring samples, recording-rule and ALERTS series; topic <prefix>samples).");
    public static final ConfigKey<String> SELFMON_KAFKA = ConfigKey.stringKey("self-monitoring.kafka-bootstrap", "",
            "Kafka bootstrap servers for self-monitoring samples if different from kafka.bootstrap-servers (empty = the same).");
    public static final ConfigKey<String> SELFMON_TOPIC_PREFIX = ConfigKey.stringKey("self-monitoring.topic-prefix", "vigil.",
            "Topic prefix of the samples topic.");
    public static final ConfigKey<String> SELFMON_TENANT = ConfigKey.stringKey("self-monitoring.tenant", "system",
            "Tenant the services' own metrics are stored under; query them with an API key of this tenant.");
    public static final ConfigKey<Duration> SELFMON_INTERVAL = ConfigKey.durationKey("self-monitoring.interval", "15s", Duration.ofSeconds(1), Duration.ofHours(1),
            "Scrape interval of self-monitoring.");
    public static final ConfigKey<Boolean> MODULES_EXPERIMENTS = ConfigKey.boolKey("query.modules.experiments", true,
            "Mount the experiments module (registry and guardrail reports).");
    public static final ConfigKey<Boolean> MODULES_HEALTH = ConfigKey.boolKey("query.modules.health", true,
            "Mount the ML-health module.");
    public static final ConfigKey<List<String>> EXPERIMENTS_IMPORT = ConfigKey.listKey("query.experiments.import", "",
            "Experiment definition files imported at startup as tenant=path (JSON array of definitions with id; an unchanged definition stores no new version).");

    public static final ConfigDef DEF = new ConfigDef().define(HOST, PORT, CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, API_KEYS,
            MAX_POINTS, MAX_SERIES, MAX_SERIES_LISTED, MAX_SAMPLES, TIMEOUT, MAX_TIMEOUT, MAX_RANGE, LOOKBACK, BASE_BUCKET, CATALOGUE_TTL, PUSHDOWN, WORKERS,
            KAFKA_BOOTSTRAP, SELFMON_TARGETS, SELFMON_KAFKA, SELFMON_TOPIC_PREFIX, SELFMON_TENANT, SELFMON_INTERVAL, MODULES_EXPERIMENTS,
            MODULES_HEALTH, EXPERIMENTS_IMPORT).include(AlertingConfig.DEF);

    private QueryApiMain() {
    }

    public static void main(String[] args) {
        ServiceRunner.run("query-api", DEF, QueryApiMain::start);
    }

    public static QueryApi.Settings settings(Config c) {
        PrometheusApi.Limits limits = new PrometheusApi.Limits(c.get(MAX_POINTS), c.get(MAX_SERIES), c.get(MAX_SAMPLES),
                c.get(TIMEOUT).toMillis(), c.get(MAX_TIMEOUT).toMillis(), c.get(MAX_RANGE).toMillis(), c.get(MAX_SERIES_LISTED));
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
        Wiring w = new Wiring(c);
        QueryApi api = QueryApi.start(s, w::modules);
        try {
            w.afterStart(api);
        } catch (RuntimeException e) {
            api.close();
            throw e;
        }
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

    /** Tenants named by the api-keys specs ({@code tenant:key} or {@code tenant:sha256:<hex>}). */
    static Set<String> tenantsOf(List<String> apiKeySpecs) {
        Set<String> out = new TreeSet<>();
        for (String spec : apiKeySpecs) {
            int i = spec.indexOf(':');
            if (i > 0) {
                out.add(spec.substring(0, i).trim());
            }
        }
        return out;
    }

    /** Kafka bootstrap servers for what the query API produces (self-monitoring, rule outputs). */
    static String kafkaBootstrap(Config c) {
        String sm = c.get(SELFMON_KAFKA);
        return sm == null || sm.isBlank() ? c.get(KAFKA_BOOTSTRAP) : sm;
    }

    /**
     * The modules mounted beside the Prometheus API: ML health, experiments (both over one pooled
     * {@link JdbcDataSource}) and alerting (rules evaluated by the same PromQL engine over the same
     * tenant-confined ClickHouse storage, recording-rule results written back through Kafka).
     * Usable from tests: {@code QueryApi.start(settings, new Wiring(config)::modules)} then
     * {@link #afterStart}.
     */
    public static final class Wiring {
        private final Config c;
        private final Clock clock = Clock.systemUTC();
        private ExperimentsModule experiments;
        private AlertingService alerting;

        public Wiring(Config c) {
            this.c = c;
        }

        public List<QueryModule> modules(QueryApi.Shared shared) {
            List<QueryModule> out = new ArrayList<>();
            JdbcDataSource ds = new JdbcDataSource(c.get(CLICKHOUSE_URL), c.get(CLICKHOUSE_USER), c.get(CLICKHOUSE_PASSWORD));
            if (c.get(MODULES_HEALTH)) {
                out.add(new ModelHealthModule(ds, clock));
            }
            if (c.get(MODULES_EXPERIMENTS)) {
                experiments = new ExperimentsModule(ds, clock);
                out.add(experiments);
            }
            if (c.get(AlertingConfig.ENABLED)) {
                long timeoutMs = shared.settings().limits().defaultTimeoutMs();
                PrometheusApi.Limits lim = shared.settings().limits();
                PromqlQueryEngine qe = new PromqlQueryEngine(shared.engine(),
                        tenant -> shared.storage().forTenant(tenant, new QueryGuard(timeoutMs, lim.maxSamples(), lim.maxSeries())), timeoutMs);
                KafkaSeriesWriter writer = new KafkaSeriesWriter(kafkaBootstrap(c), c.get(SELFMON_TOPIC_PREFIX), shared.registry());
                Set<String> tenants = tenantsOf(c.get(API_KEYS));
                try {
                    alerting = AlertingService.create(c, qe, writer, () -> tenants, clock, shared.registry());
                } catch (RuntimeException e) {
                    writer.close();
                    throw e;
                }
                AlertingService svc = alerting;
                out.add(new QueryModule() {
                    @Override
                    public String name() {
                        return "alerting";
                    }

                    @Override
                    public Map<String, TenantRoute> routes() {
                        Map<String, TenantRoute> r = new LinkedHashMap<>();
                        svc.routes().forEach((path, route) -> r.put(path, route::handle));
                        return r;
                    }

                    @Override
                    public void close() {
                        svc.close();
                        writer.close();
                    }
                });
            }
            return out;
        }

        /** Imports experiment definition files, then loads the rule files and starts evaluating. */
        public void afterStart(QueryApi api) {
            if (experiments != null) {
                for (String spec : c.get(EXPERIMENTS_IMPORT)) {
                    int eq = spec.indexOf('=');
                    if (eq <= 0 || eq == spec.length() - 1) {
                        throw new ConfigException("config key " + EXPERIMENTS_IMPORT.name() + " has invalid entry '" + spec
                                + "'; accepted values: tenant=path of a JSON array of experiment definitions");
                    }
                    String tenant = spec.substring(0, eq).trim();
                    Path file = Path.of(spec.substring(eq + 1).trim());
                    try {
                        List<String> changed = experiments.importFile(tenant, file);
                        log.info("experiments imported tenant={} file={} changed={}", tenant, file, changed);
                    } catch (IOException | java.sql.SQLException | RuntimeException e) {
                        throw new ConfigException("config key " + EXPERIMENTS_IMPORT.name() + ": cannot import " + file + ": " + e.getMessage());
                    }
                }
            }
            if (alerting != null) {
                try {
                    alerting.start();
                } catch (RuleFileException e) {
                    throw new ConfigException("config key " + AlertingConfig.RULE_FILES.name() + ": " + e.getMessage());
                }
                log.info("alerting started rule_files={}", c.get(AlertingConfig.RULE_FILES));
            }
        }

        public AlertingService alerting() {
            return alerting;
        }

        public ExperimentsModule experiments() {
            return experiments;
        }
    }
}
