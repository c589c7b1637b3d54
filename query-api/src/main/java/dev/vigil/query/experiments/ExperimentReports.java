package dev.vigil.query.experiments;

import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.vigil.guardrails.ExperimentAnalyzer;
import dev.vigil.guardrails.ExperimentReport;

/**
 * Reports of experiments: current definition from the {@link ExperimentRegistry}, sufficient
 * statistics from {@link ExperimentStats}, verdicts from {@link ExperimentAnalyzer}. Reports are
 * cached per (tenant, experiment, definition version) for {@code ttl} (default 15 s) so dashboards
 * and alert rules reading the derived series do not recompute them for every panel.
 */
public final class ExperimentReports {
    /** What the report endpoint returns. */
    public record ReportView(String experimentId, long definitionVersion, Instant asOf, long computeMillis,
                             ExperimentReport report, List<ExperimentStats.Unavailable> unavailable,
                             Map<String, MetricSource> sources) {
    }

    private record Entry(long computedAtNanos, ReportView view) {
    }

    private final ExperimentRegistry registry;
    private final ExperimentStats stats;
    private final Clock clock;
    private final Duration ttl;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();

    public ExperimentReports(ExperimentRegistry registry, ExperimentStats stats, Clock clock, Duration ttl) {
        this.registry = registry;
        this.stats = stats;
        this.clock = clock;
        this.ttl = ttl;
    }

    private static String key(String tenant, String id) {
        return tenant + '\u0000' + id;
    }

    private ReportView fresh(String tenant, ExperimentSpec spec) {
        Entry e = cache.get(key(tenant, spec.definition().id()));
        return e != null && e.view.definitionVersion() == spec.definition().version()
                && System.nanoTime() - e.computedAtNanos < ttl.toNanos() ? e.view : null;
    }

    /** The report of one experiment, or null when it does not exist. */
    public ReportView report(String tenant, String id, boolean useCache) throws SQLException {
        ExperimentSpec spec = registry.get(tenant, id);
        if (spec == null) return null;
        if (useCache) {
            ReportView v = fresh(tenant, spec);
            if (v != null) return v;
        }
        long t0 = System.nanoTime();
        Instant asOf = clock.instant();
        ExperimentStats.Result r = stats.compute(tenant, spec, asOf);
        return store(tenant, spec, r, t0);
    }

    /** Reports of every current experiment of the tenant (cached ones reused; the rest computed in batches). */
    public List<ReportView> reports(String tenant) throws SQLException {
        Map<String, ExperimentSpec> all = registry.current(tenant);
        Map<String, ReportView> out = new LinkedHashMap<>();
        List<ExperimentSpec> missing = new ArrayList<>();
        for (ExperimentSpec s : all.values()) {
            ReportView v = fresh(tenant, s);
            out.put(s.definition().id(), v);
            if (v == null) missing.add(s);
        }
        if (!missing.isEmpty()) {
            long t0 = System.nanoTime();
            Instant asOf = clock.instant();
            Map<String, ExperimentStats.Result> results = stats.compute(tenant, missing, asOf);
            for (ExperimentSpec s : missing)
                out.put(s.definition().id(), store(tenant, s, results.get(s.definition().id()), t0));
        }
        return new ArrayList<>(out.values());
    }

    private ReportView store(String tenant, ExperimentSpec spec, ExperimentStats.Result r, long t0) {
        ExperimentReport report = ExperimentAnalyzer.analyze(spec.definition(), r.observation());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        Map<String, MetricSource> sources = new LinkedHashMap<>();
        for (var e : spec.metricKinds().entrySet()) {
            try {
                sources.put(e.getKey(), spec.source(e.getKey(), e.getValue()));
            } catch (IllegalArgumentException ignored) {
                // reported in unavailable
            }
        }
        ReportView v = new ReportView(spec.definition().id(), spec.definition().version(), r.observation().asOf(), ms,
                report, r.unavailable(), sources);
        cache.put(key(tenant, spec.definition().id()), new Entry(System.nanoTime(), v));
        return v;
    }
}
