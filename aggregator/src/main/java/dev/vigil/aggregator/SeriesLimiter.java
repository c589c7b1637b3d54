package dev.vigil.aggregator;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Per-tenant and per-metric series limits of one job, over a fixed window (an hour by default):
 * a series (name + labels) not yet seen in the window is admitted while the tenant has fewer
 * than {@code max_series} and the metric fewer than {@code max_series_per_metric}; otherwise its
 * values go to the tenant's overflow series of that metric (labels {@code __overflow__=true}),
 * so totals stay exact while memory and rows stay bounded. Every overflowed value is counted in
 * {@code vigil_aggregator_series_overflow_total{job,tenant,metric}} and the first one per tenant,
 * metric and window is logged. Memory: at most the sum of the limits of active tenants.
 * Shared by the job's consumer threads: {@link #admit} is synchronized (called once per series
 * and window by each thread), {@link #epoch} is a volatile read on the hot path.
 */
final class SeriesLimiter {
    private static final Logger log = LoggerFactory.getLogger(SeriesLimiter.class);

    private static final class TenantState {
        final Set<Long> series = new HashSet<>();
        final Map<String, int[]> perMetric = new HashMap<>();
        final Set<String> logged = new HashSet<>();
    }

    private final String job;
    private final Function<String, TenantLimits> limits;
    private final MeterRegistry registry;
    private final long windowMs;
    private final Map<String, TenantState> tenants = new HashMap<>();
    private final Map<String, Counter> counters = new HashMap<>();
    private volatile long windowStart = System.currentTimeMillis();
    private volatile long epoch;
    private volatile long overflowTotal;

    SeriesLimiter(String job, Function<String, TenantLimits> limits, MeterRegistry registry, long windowMs) {
        this.job = job;
        this.limits = limits;
        this.registry = registry;
        this.windowMs = windowMs;
    }

    /**
     * The current window's number (starting a new window when due). Within one window a series
     * once admitted stays admitted, so a caller may remember "admitted in epoch e" and skip
     * {@link #admit} while {@code epoch()} still returns e.
     */
    long epoch() {
        long now = System.currentTimeMillis();
        if (now - windowStart >= windowMs) {
            synchronized (this) {
                if (now - windowStart >= windowMs) {
                    tenants.clear();
                    // epoch before windowStart: a thread that sees the new window start also sees the new epoch
                    epoch++;
                    windowStart = now;
                }
            }
        }
        return epoch;
    }

    /** True if the series may be stored as itself; false if its value goes to the overflow series. */
    synchronized boolean admit(String tenant, String metric, long seriesId) {
        epoch();
        TenantState t = tenants.computeIfAbsent(tenant, k -> new TenantState());
        if (t.series.contains(seriesId)) {
            return true;
        }
        TenantLimits l = limits.apply(tenant);
        int[] perMetric = t.perMetric.computeIfAbsent(metric, k -> new int[1]);
        if (t.series.size() < l.maxSeries() && perMetric[0] < l.maxSeriesPerMetric()) {
            t.series.add(seriesId);
            perMetric[0]++;
            return true;
        }
        overflowTotal++;
        counters.computeIfAbsent(tenant + '\u0000' + metric, k -> Counter.builder("vigil_aggregator_series_overflow")
                .description("values folded into the overflow series because a series limit was reached")
                .tag("job", job).tag("tenant", tenant).tag("metric", metric).register(registry)).increment();
        if (t.logged.add(metric)) {
            boolean tenantFull = t.series.size() >= l.maxSeries();
            log.warn("event=series_limit_reached job={} tenant={} metric={} limit={} value={} action=overflow_series",
                    job, tenant, metric, tenantFull ? "max_series" : "max_series_per_metric",
                    tenantFull ? l.maxSeries() : l.maxSeriesPerMetric());
        }
        return false;
    }

    long overflowTotal() {
        return overflowTotal;
    }
}
