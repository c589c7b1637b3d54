package dev.vigil.gateway;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/** The gateway's own metrics (Prometheus text at /metrics). Tag values are bounded sets. */
public final class GatewayMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Timer> timers = new ConcurrentHashMap<>();
    private final Timer produce;

    public GatewayMetrics(InflightBudget budget, java.util.function.IntSupplier inflightRequests) {
        Gauge.builder("vigil.gateway.inflight.bytes", budget, InflightBudget::used)
                .description("Request bytes held by the gateway (bodies, decoded records awaiting Kafka)").register(registry);
        Gauge.builder("vigil.gateway.inflight.bytes.limit", budget, InflightBudget::capacity).register(registry);
        Gauge.builder("vigil.gateway.inflight.requests", inflightRequests, s -> s.getAsInt()).register(registry);
        produce = Timer.builder("vigil.gateway.kafka.produce.duration")
                .description("From handing a request's records to the producer to Kafka acknowledging all of them")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    private Counter counter(String name, String... tags) {
        StringBuilder k = new StringBuilder(name);
        for (String t : tags) {
            k.append('\u0000').append(t);
        }
        return counters.computeIfAbsent(k.toString(), x -> Counter.builder(name).tags(tags).register(registry));
    }

    public void request(String endpoint, String tenant, int status) {
        counter("vigil.gateway.requests", "endpoint", endpoint, "tenant", tenant, "status", Integer.toString(status)).increment();
    }

    public void requestRejected(String tenant, String reason) {
        counter("vigil.gateway.requests.rejected", "tenant", tenant, "reason", reason).increment();
    }

    public void bytesReceived(String endpoint, String tenant, long n) {
        counter("vigil.gateway.bytes.received", "endpoint", endpoint, "tenant", tenant).increment(n);
    }

    public void bytesAccepted(String endpoint, String tenant, long n) {
        counter("vigil.gateway.bytes.accepted", "endpoint", endpoint, "tenant", tenant).increment(n);
    }

    public void bytesRejected(String tenant, String reason, long n) {
        counter("vigil.gateway.bytes.rejected", "tenant", tenant, "reason", reason).increment(n);
    }

    public void itemsAccepted(String tenant, String kind, long n) {
        counter("vigil.gateway.items.accepted", "tenant", tenant, "kind", kind).increment(n);
    }

    public void itemRejected(String tenant, String kind, String reason) {
        counter("vigil.gateway.items.rejected", "tenant", tenant, "kind", kind, "reason", reason).increment();
    }

    public void itemsRejected(String tenant, String kind, String reason, long n) {
        counter("vigil.gateway.items.rejected", "tenant", tenant, "kind", kind, "reason", reason).increment(n);
    }

    public void latency(String endpoint, long nanos) {
        timers.computeIfAbsent(endpoint, e -> Timer.builder("vigil.gateway.request.duration").tag("endpoint", e)
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry)).record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    public void produce(long nanos) {
        produce.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    /** Sum of a counter over all tag combinations matching the given tag pairs (for tests and logs). */
    public double sum(String name, String... tags) {
        double s = 0;
        for (Counter c : registry.find(name).tags(tags).counters()) {
            s += c.count();
        }
        return s;
    }
}
