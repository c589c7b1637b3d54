package dev.vigil.gateway;

import java.util.LinkedHashMap;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.auth.ApiKeys;
import dev.vigil.common.config.Config;
import dev.vigil.common.config.ConfigException;
import dev.vigil.common.service.Health;
import dev.vigil.common.service.ServiceRunner;

/** The assembled gateway: Kafka sink, endpoints, HTTP server. {@link #close()} drains gracefully. */
public final class Gateway implements ServiceRunner.Running {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);

    private final KafkaSink sink;
    private final IngestServer server;
    private final GatewayMetrics metrics;
    private final Health health;
    private final InflightBudget budget;
    private final long graceMillis;
    private volatile boolean closed;

    private Gateway(KafkaSink sink, IngestServer server, GatewayMetrics metrics, Health health, InflightBudget budget, long graceMillis) {
        this.sink = sink;
        this.server = server;
        this.metrics = metrics;
        this.health = health;
        this.budget = budget;
        this.graceMillis = graceMillis;
    }

    public static Gateway start(Config c) throws InterruptedException {
        ApiKeys keys = ApiKeys.parse(c.get(GatewayConfig.API_KEYS));
        if (keys.isEmpty()) {
            throw new ConfigException("config key api-keys is empty: set VIGIL_API_KEYS to tenant:key[,tenant:key...]; "
                    + "accepted values: tenant:key or tenant:sha256:<64 hex digits>");
        }
        GatewayConfig.Limits limits = GatewayConfig.Limits.of(c);
        InflightBudget budget = new InflightBudget(c.get(GatewayConfig.MAX_INFLIGHT_BYTES));
        long buffer = c.get(GatewayConfig.BUFFER_MEMORY);
        KafkaSink sink = new KafkaSink(c);
        int[] active = new int[1];
        IngestServer[] holder = new IngestServer[1];
        GatewayMetrics metrics = new GatewayMetrics(budget, () -> holder[0] == null ? 0 : holder[0].activeRequests());
        Health health = new Health().register("kafka", sink::health);
        TenantRateLimiter limiter = new TenantRateLimiter(c.get(GatewayConfig.TENANT_RATE), c.get(GatewayConfig.TENANT_BURST));
        RequestProcessor processor = new RequestProcessor(sink, metrics, budget, limiter, c.get(GatewayConfig.ACK_TIMEOUT));
        Map<String, Endpoint> endpoints = new LinkedHashMap<>();
        endpoints.put("/v1/events", new EventsEndpoint(limits));
        endpoints.put("/v1/metrics", new OtlpEndpoints.Metrics(limits));
        endpoints.put("/v1/logs", new OtlpEndpoints.Logs(limits));
        endpoints.put("/api/v1/write", new RemoteWriteEndpoint(limits));
        IngestServer server = new IngestServer(c, keys, metrics, budget, processor, health, endpoints);
        holder[0] = server;
        server.start(c.get(GatewayConfig.HOST), c.get(GatewayConfig.PORT));
        log.info("gateway started address={} events_topic={} samples_topic={} inflight_limit={} producer_buffer={}",
                server.address(), sink.eventsTopic(), sink.samplesTopic(), budget.capacity(), buffer);
        return new Gateway(sink, server, metrics, health, budget, c.get(GatewayConfig.SHUTDOWN_GRACE).toMillis());
    }

    @Override
    public String address() {
        return server.address();
    }

    public int port() {
        return server.port();
    }

    public GatewayMetrics metrics() {
        return metrics;
    }

    public InflightBudget budget() {
        return budget;
    }

    public Health health() {
        return health;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        long t0 = System.nanoTime();
        health.markShuttingDown();
        log.info("gateway draining active_requests={}", server.activeRequests());
        server.shutdown(graceMillis);
        sink.close();
        log.info("gateway stopped drain_ms={}", (System.nanoTime() - t0) / 1_000_000);
    }
}
