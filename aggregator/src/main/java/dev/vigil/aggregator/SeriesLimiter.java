package dev.vigil.aggregator;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Per-tenant and per-metric series limits of one job, over a fixed window (an hour by default):
 * a series (name + labels) not yet seen in the window is admitted while the tenant has fewer
 * than {@code max_series} and the metric fewer than {@code max_series_per_metric}; otherwise its
 * values go to the tenant's overflow series of that metric (labels {@code __overflow__=true}), or,
 * for a metric beyond the tenant's first {@code maxReportedMetrics} to overflow, of the metric
 * {@value #OTHER_METRICS}, so totals per tenant stay exact while memory and the rows stored stay bounded
 * (at most max_series + maxReportedMetrics + 1 series of a tenant per bucket). Every overflowed value is counted in
 * {@code vigil_aggregator_series_overflow_total{job,tenant,metric}} and the first one per tenant,
 * metric and window is logged. Memory: at most the sum of the limits of active tenants: a metric
 * is remembered only once it has a series admitted (a tenant at its limit sending ever new metric
 * names, say with an id in them, adds nothing), and the overflow is counted and logged under at
 * most {@code maxReportedMetrics} metric names per tenant over the process' life, then under
 * {@value #OTHER_METRICS} (every counter stays registered, so they are bounded for good, not per window).
 * Shared by the job's consumer threads: {@link #admit} is synchronized (called once per series
 * and window by each thread), {@link #epoch} is a volatile read on the hot path.
 */
final class SeriesLimiter {
    private static final Logger log = LoggerFactory.getLogger(SeriesLimiter.class);

    private static final class TenantState {
        final Set<Long> series = new HashSet<>();
        final Map<String, int[]> perMetric = new HashMap<>();
        final Set<String> logged = new HashSet<>();
        /** The (metric, measure) names stored in the window, as metric + NUL + measure (at most maxMeasureNames). */
        final Set<String> measures = new HashSet<>();
        boolean measureLimitLogged;
    }

    private final String job;
    private final TenantLimits.Source limits;
    private final MeterRegistry registry;
    private final long windowMs;
    private final Map<String, TenantState> tenants = new HashMap<>();
    private final Map<String, Counter> counters = new HashMap<>();
    /** Per tenant, the metric names its overflow is counted and logged under (at most maxReportedMetrics). */
    private final Map<String, Set<String>> reported = new HashMap<>();
    private final int maxReportedMetrics;
    private final int maxMeasureNames;
    /** Tenants the window keeps state for; a tenant beyond them is stored without ({@link #untracked}). */
    private final int maxTenants;
    /** Tenants the window tracks that have no limits of their own (at most {@link #maxTenants}). */
    private int undeclaredTenants;
    /** Whether the window has logged a tenant beyond {@link #maxTenants}. */
    private boolean tenantLimitLogged;
    /** The tenant tag under which the values of tenants beyond {@link #maxTenants} are counted. */
    static final String OTHER_TENANTS = "__other__";
    private final Map<String, Counter> measureCounters = new HashMap<>();
    /** The metric tag and log name of a tenant's overflow beyond its first maxReportedMetrics metrics. */
    static final String OTHER_METRICS = "__other__";
    private volatile long windowStart = System.currentTimeMillis();
    private volatile long epoch;
    private volatile long overflowTotal;

    SeriesLimiter(String job, TenantLimits.Source limits, MeterRegistry registry, long windowMs, int maxReportedMetrics,
            int maxMeasureNames) {
        this(job, limits, registry, windowMs, maxReportedMetrics, maxMeasureNames, Integer.MAX_VALUE);
    }

    SeriesLimiter(String job, TenantLimits.Source limits, MeterRegistry registry, long windowMs, int maxReportedMetrics,
            int maxMeasureNames, int maxTenants) {
        this.maxTenants = maxTenants;
        this.maxReportedMetrics = maxReportedMetrics;
        this.maxMeasureNames = maxMeasureNames;
        this.job = job;
        this.limits = limits;
        this.registry = registry;
        this.windowMs = windowMs;
        // counters an earlier worker of this job registered (a restart, a new version): their metric names count as
        // reported, so a restart adds no counters and a metric keeps the name its overflow is stored under
        for (Counter c : registry.find("vigil_aggregator_series_overflow").tag("job", job).counters()) {
            String tenant = c.getId().getTag("tenant");
            String metric = c.getId().getTag("metric");
            counters.put(tenant + '\u0000' + metric, c);
            if (!OTHER_METRICS.equals(metric)) {
                reported.computeIfAbsent(tenant, k -> new HashSet<>()).add(metric);
            }
        }
    }

    /**
     * The current window's number (starting a new window when due). Within one window a series
     * once admitted stays admitted, so a caller may remember "admitted in epoch e" and skip
     * {@link #overflowMetric} while {@code epoch()} still returns e.
     */
    long epoch() {
        long now = System.currentTimeMillis();
        if (now - windowStart >= windowMs) {
            synchronized (this) {
                if (now - windowStart >= windowMs) {
                    tenants.clear();
                    undeclaredTenants = 0;
                    tenantLimitLogged = false;
                    // epoch before windowStart: a thread that sees the new window start also sees the new epoch
                    epoch++;
                    windowStart = now;
                }
            }
        }
        return epoch;
    }

    /**
     * Null if the series may be stored as itself; otherwise the metric whose overflow series takes its values:
     * {@code metric} itself, or {@value #OTHER_METRICS} once the tenant's overflow has {@code maxReportedMetrics} other
     * metric names (a metric keeps the answer it got first: the set of names only grows, for the process' life).
     */
    synchronized String overflowMetric(String tenant, String metric, long seriesId) {
        epoch();
        TenantState t = tenant(tenant);
        if (t == null) {
            untracked(tenant, metric, false);
            return OTHER_METRICS;
        }
        if (t.series.contains(seriesId)) {
            return null;
        }
        TenantLimits l = limits.apply(tenant);
        int[] perMetric = t.perMetric.get(metric);
        int ofMetric = perMetric == null ? 0 : perMetric[0];
        if (t.series.size() < l.maxSeries() && ofMetric < l.maxSeriesPerMetric()) {
            t.series.add(seriesId);
            if (perMetric == null) {
                t.perMetric.put(metric, new int[] {1});
            } else {
                perMetric[0]++;
            }
            return null;
        }
        overflowTotal++;
        String reportedAs = reportedAs(tenant, metric);
        seriesOverflowCounter(tenant, reportedAs).increment();
        if (t.logged.add(reportedAs)) {
            boolean tenantFull = t.series.size() >= l.maxSeries();
            log.warn("event=series_limit_reached job={} tenant={} metric={} limit={} value={} action=overflow_series{}",
                    job, tenant, reportedAs, tenantFull ? "max_series" : "max_series_per_metric",
                    tenantFull ? l.maxSeries() : l.maxSeriesPerMetric(), reportedAs.equals(OTHER_METRICS)
                            ? " (more than " + maxReportedMetrics + " of its metrics overflowed: the others are counted and logged together; e.g. "
                                    + metric + ")" : "");
        }
        return reportedAs;
    }

    /** The metric name a tenant's overflow of {@code metric} is stored, counted and logged under: its own, or {@link #OTHER_METRICS}. */
    private String reportedAs(String tenant, String metric) {
        Set<String> r = reported.computeIfAbsent(tenant, k -> new HashSet<>());
        if (r.contains(metric)) {
            return metric;
        }
        if (r.size() < maxReportedMetrics) {
            r.add(metric);
            return metric;
        }
        return OTHER_METRICS;
    }

    /**
     * The measure name {@code measure} of the tenant's {@code metric} is stored under ({@link FlushBuffer.MeasureGate}): its
     * own while the tenant has fewer than {@code maxMeasureNames} (metric, measure) names in the window, else
     * {@link FlushBuffer#OTHER_MEASURE}. Why: each name is a row per series and bucket in the tables, so a client that
     * puts an id in measure names would add rows without bound. Called when a flush buffer's group has no row of that
     * name, so every value of a refused measure comes here once: counted in
     * {@code vigil_aggregator_measure_overflow_total{job,tenant}}, logged once per tenant and window. {@link
     * FlushBuffer#OTHER_MEASURE} itself passes uncounted and takes no place in the limit: it is what a value refused for
     * another rollup of the same event is stored under (counted then), and at most one name more per metric of a tenant.
     */
    synchronized String measureName(String tenant, String metric, String measure) {
        if (FlushBuffer.OTHER_MEASURE.equals(measure)) {
            return measure;
        }
        epoch();
        TenantState t = tenant(tenant);
        if (t == null) {
            untracked(tenant, metric, true);
            return FlushBuffer.OTHER_MEASURE;
        }
        String key = metric + '\u0000' + measure;
        if (t.measures.contains(key)) {
            return measure;
        }
        if (t.measures.size() < maxMeasureNames) {
            t.measures.add(key);
            return measure;
        }
        measureOverflowCounter(tenant).increment();
        if (!t.measureLimitLogged) {
            t.measureLimitLogged = true;
            log.warn("event=measure_limit_reached job={} tenant={} metric={} measure={} limit={} action=other_measure", job, tenant, metric,
                    measure, maxMeasureNames);
        }
        return FlushBuffer.OTHER_MEASURE;
    }

    private Counter seriesOverflowCounter(String tenant, String metric) {
        return counters.computeIfAbsent(tenant + '\u0000' + metric, k -> Counter.builder("vigil_aggregator_series_overflow")
                .description("values folded into an overflow series because a series limit was reached (metric " + OTHER_METRICS
                        + ": a tenant's metrics beyond aggregator.limits.max-overflow-metrics, stored under that name; tenant "
                        + OTHER_TENANTS + ": tenants beyond aggregator.limits.max-tenants)")
                .tag("job", job).tag("tenant", tenant).tag("metric", metric).register(registry));
    }

    private Counter measureOverflowCounter(String tenant) {
        return measureCounters.computeIfAbsent(tenant, k -> Counter.builder("vigil_aggregator_measure_overflow")
                .description("measure values stored as measure " + FlushBuffer.OTHER_MEASURE + " of their series because the tenant had"
                        + " aggregator.limits.max-measure-names (metric, measure) names in the window (tenant " + OTHER_TENANTS
                        + ": tenants beyond aggregator.limits.max-tenants)")
                .tag("job", job).tag("tenant", tenant).register(registry));
    }

    /**
     * The window's state of {@code tenant}, created while the window tracks fewer than {@link #maxTenants} tenants
     * without limits of their own, or whatever their number if the tenant has limits of its own in the goal state
     * ({@link TenantLimits.Source#declared}: those take no place among the {@code maxTenants}); else null.
     */
    private TenantState tenant(String tenant) {
        TenantState t = tenants.get(tenant);
        if (t == null) {
            boolean declared = limits.declared(tenant);
            if (declared || undeclaredTenants < maxTenants) {
                t = new TenantState();
                tenants.put(tenant, t);
                if (!declared) {
                    undeclaredTenants++;
                }
            }
        }
        return t;
    }

    /**
     * A value of a tenant beyond the window's {@link #maxTenants}: stored as that tenant's series {@value #OTHER_METRICS}
     * (measure {@link FlushBuffer#OTHER_MEASURE}), so its totals stay exact, with no state kept for it. Counted under
     * tenant {@value #OTHER_TENANTS} (one counter whatever the tenants), logged once per window with an example. Only a
     * writer other than the gateway (whose tenants are its API keys) can send ever new tenants: without this, each one
     * added state to the window and the limiter's memory had no bound.
     */
    private void untracked(String tenant, String metric, boolean measure) {
        if (measure) {
            measureOverflowCounter(OTHER_TENANTS).increment();
        } else {
            overflowTotal++;
            seriesOverflowCounter(OTHER_TENANTS, OTHER_METRICS).increment();
        }
        if (!tenantLimitLogged) {
            tenantLimitLogged = true;
            log.warn("event=tenant_limit_reached job={} tenant={} metric={} limit={} action=other_series (tenants beyond the limit are"
                    + " stored as their series {} and counted under tenant {} until the window ends)", job, tenant, metric, maxTenants,
                    OTHER_METRICS, OTHER_TENANTS);
        }
    }

    /** How many metrics of {@code tenant} the current window remembers (those with a series admitted). */
    synchronized int metricsRemembered(String tenant) {
        TenantState t = tenants.get(tenant);
        return t == null ? 0 : t.perMetric.size();
    }

    long overflowTotal() {
        return overflowTotal;
    }
}
