package dev.vigil.query;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.auth.ApiKeys;
import dev.vigil.common.http.Responses;
import dev.vigil.common.service.Health;
import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.engine.EngineOptions;
import dev.vigil.query.api.DerivedSeriesProvider;
import dev.vigil.query.api.QueryModule;
import dev.vigil.query.api.TenantRoute;
import dev.vigil.query.http.PrometheusApi;
import dev.vigil.query.http.QueryHttpServer;
import dev.vigil.query.storage.ChReader;
import dev.vigil.query.storage.ClickHouseStorage;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The query API server, startable in-process (tests, benchmark) and by {@link QueryApiMain}: the
 * PromQL engine over the ClickHouse storage, every {@link QueryModule}'s routes behind Bearer
 * authentication, {@code /metrics}, {@code /health/live}, {@code /health/ready}.
 */
public final class QueryApi implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QueryApi.class);
    public static final String VERSION = "0.1.0";

    /** Everything the server needs. */
    public record Settings(String host, int port, String clickhouseUrl, String clickhouseUser, String clickhousePassword,
                           ApiKeys apiKeys, PrometheusApi.Limits limits, ClickHouseStorage.Settings storage, boolean pushdown,
                           int workerThreads, int maxBodyBytes) {
    }

    /** Builds extra modules once the shared pieces exist (registration point for health, experiments, alerting). */
    @FunctionalInterface
    public interface ModuleFactory {
        List<QueryModule> create(Shared shared) throws Exception;
    }

    /** What other modules may use: the engine, the tenant-confined storage, the ClickHouse reader, metrics. */
    public record Shared(Settings settings, Engine engine, ClickHouseStorage storage, ChReader clickhouse, PrometheusMeterRegistry registry) {
    }

    private final Settings settings;
    private final PrometheusMeterRegistry registry;
    private final ChReader ch;
    private final ClickHouseStorage storage;
    private final Engine engine;
    private final List<QueryModule> modules = new ArrayList<>();
    private final List<DerivedSeriesProvider> providers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Health health = new Health();
    private final QueryHttpServer server;
    private final List<AutoCloseable> extras = new ArrayList<>();

    private QueryApi(Settings settings, ModuleFactory factory) throws Exception {
        this.settings = settings;
        this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        this.ch = new ChReader(settings.clickhouseUrl(), settings.clickhouseUser(), settings.clickhousePassword());
        this.storage = new ClickHouseStorage(ch, settings.storage(), providersView());
        this.engine = new Engine(new EngineOptions(settings.storage().lookbackMs(), settings.limits().maxSamples(), 60_000L,
                settings.limits().maxTimeoutMs()));
        modules.add(new PrometheusApi(storage, engine, settings.limits(), settings.pushdown(), registry, VERSION));
        if (factory != null) {
            modules.addAll(factory.create(new Shared(settings, engine, storage, ch, registry)));
        }
        for (QueryModule m : modules) {
            providers.addAll(m.seriesProviders());
        }
        health.register("clickhouse", () -> ch.ping(2000) ? Health.Check.ok("reachable") : Health.Check.fail("unreachable: " + settings.clickhouseUrl()));
        server = new QueryHttpServer(settings.maxBodyBytes(), settings.workerThreads(), 256);
        Map<String, String> owners = new LinkedHashMap<>();
        for (QueryModule m : modules) {
            for (Map.Entry<String, TenantRoute> r : m.routes().entrySet()) {
                String prev = owners.putIfAbsent(r.getKey(), m.name());
                if (prev != null) {
                    log.warn("route {} of module {} already mounted by {}; ignored", r.getKey(), m.name(), prev);
                    continue;
                }
                TenantRoute route = r.getValue();
                if (r.getKey().endsWith("/")) {
                    server.prefix(r.getKey(), (req, path) -> authenticated(req, path, route));
                } else {
                    server.route(r.getKey(), (req, path) -> authenticated(req, path, route));
                }
            }
        }
        server.route("/metrics", (req, path) -> Responses.bytes(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                registry.scrape().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        server.route("/health/live", (req, path) -> Responses.json(HttpResponseStatus.OK, Map.of("status", "live", "service", "query-api")));
        server.route("/health/ready", (req, path) -> {
            Map<String, Health.Check> checks = health.evaluate();
            boolean ok = checks.values().stream().allMatch(Health.Check::ok);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("status", ok ? "ready" : "not ready");
            body.put("service", "query-api");
            body.put("checks", checks);
            return Responses.json(ok ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, body);
        });
        server.start(settings.host(), settings.port());
        log.info("query-api listening port={} modules={}", server.port(), modules.stream().map(QueryModule::name).toList());
    }

    private List<DerivedSeriesProvider> providersView() {
        return new java.util.AbstractList<>() {
            @Override
            public DerivedSeriesProvider get(int i) {
                return providers.get(i);
            }

            @Override
            public int size() {
                return providers.size();
            }
        };
    }

    public static QueryApi start(Settings settings) throws Exception {
        return new QueryApi(settings, null);
    }

    public static QueryApi start(Settings settings, ModuleFactory factory) throws Exception {
        return new QueryApi(settings, factory);
    }

    private FullHttpResponse authenticated(io.netty.handler.codec.http.FullHttpRequest req, String path, TenantRoute route) throws Exception {
        Optional<String> tenant = settings.apiKeys().tenantOfAuthorization(req.headers().get("Authorization"));
        if (tenant.isEmpty()) {
            registry.counter("vigil_query_unauthorized_total").increment();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("status", "error");
            m.put("errorType", "unauthorized");
            m.put("error", "missing or invalid API key: send Authorization: Bearer <api key>");
            FullHttpResponse r = Responses.json(HttpResponseStatus.UNAUTHORIZED, m);
            r.headers().set("WWW-Authenticate", "Bearer realm=\"vigil\"");
            return r;
        }
        return route.handle(req, path, tenant.get());
    }

    /** Keeps {@code c} open while the server runs and closes it on {@link #close()}. */
    public void closeWith(AutoCloseable c) {
        extras.add(c);
    }

    public int port() {
        return server.port();
    }

    public String baseUrl() {
        return "http://" + settings.host() + ":" + server.port();
    }

    public Health health() {
        return health;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public ClickHouseStorage storage() {
        return storage;
    }

    public Engine engine() {
        return engine;
    }

    public List<QueryModule> modules() {
        return List.copyOf(modules);
    }

    @Override
    public void close() {
        health.markShuttingDown();
        server.close();
        for (AutoCloseable c : extras) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("close failed: {}", e.toString());
            }
        }
        for (QueryModule m : modules) {
            try {
                m.close();
            } catch (RuntimeException e) {
                log.warn("module {} close failed: {}", m.name(), e.toString());
            }
        }
        ch.close();
    }
}
