package dev.vigil.query.experiments;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import dev.vigil.guardrails.MetricResult;
import dev.vigil.promql.Labels;
import dev.vigil.promql.Matcher;
import dev.vigil.promql.storage.SelectHints;
import dev.vigil.promql.storage.SeriesData;
import dev.vigil.query.api.DerivedSeriesProvider;

/**
 * Experiment states as PromQL series:
 * <ul>
 *   <li>{@code vigil_experiment_guardrail_status{experiment,metric,variant}}: 0 PASS, 1 INCONCLUSIVE
 *       (also NO_DATA, with label {@code status="no_data"}), 2 FAIL;</li>
 *   <li>{@code vigil_experiment_srm_flag{experiment}}: 1 when the sample ratio mismatch test flags the experiment;</li>
 *   <li>{@code vigil_experiment_srm_p_value{experiment}}: its always-valid p-value (the one the flag compares with 0.001).</li>
 * </ul>
 * Values are the current report (cached briefly by {@link ExperimentReports}); they have no history:
 * the provider repeats the current value every 60 s over the part of the requested range that lies in
 * the last 10 minutes before now (record them with a recording rule to keep history).
 */
public final class ExperimentSeries implements DerivedSeriesProvider {
    public static final String GUARDRAIL_STATUS = "vigil_experiment_guardrail_status";
    public static final String SRM_FLAG = "vigil_experiment_srm_flag";
    public static final String SRM_P_VALUE = "vigil_experiment_srm_p_value";
    static final long SPACING_MS = 60_000, RECENT_MS = 600_000;

    private final ExperimentReports reports;
    private final java.time.Clock clock;

    public ExperimentSeries(ExperimentReports reports, java.time.Clock clock) {
        this.reports = reports;
        this.clock = clock;
    }

    @Override
    public Set<String> metricNames() {
        return Set.of(GUARDRAIL_STATUS, SRM_FLAG, SRM_P_VALUE);
    }

    @Override
    public List<SeriesData> select(String tenant, SelectHints hints, List<Matcher> matchers) {
        long now = clock.millis();
        long from = Math.max(hints.start(), now - RECENT_MS), to = Math.min(hints.end(), now);
        List<SeriesData> out = new ArrayList<>();
        if (from > to) return out;
        long first = ((from + SPACING_MS - 1) / SPACING_MS) * SPACING_MS;
        List<Long> ts = new ArrayList<>();
        for (long t = first; t <= to; t += SPACING_MS) ts.add(t);
        if (ts.isEmpty() || ts.get(ts.size() - 1) != to) ts.add(to);
        List<ExperimentReports.ReportView> views;
        try {
            String only = null;
            for (Matcher m : matchers)
                if (m.type() == Matcher.Type.EQ && m.name().equals("experiment")) only = m.value();
            if (only != null) {
                ExperimentReports.ReportView v = reports.report(tenant, only, true);
                views = v == null ? List.of() : List.of(v);
            } else {
                views = reports.reports(tenant);
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("cannot compute experiment reports: " + e.getMessage(), e);
        }
        for (ExperimentReports.ReportView v : views) {
            var r = v.report();
            if (r.srm() != null) {
                add(out, matchers, ts, r.srm().flagged() ? 1 : 0, "__name__", SRM_FLAG, "experiment", v.experimentId());
                add(out, matchers, ts, r.srm().alwaysValidPValue(), "__name__", SRM_P_VALUE, "experiment", v.experimentId());
            }
            for (MetricResult m : r.metrics()) {
                if (m.guardrail() == null) continue;
                double value = switch (m.guardrail().status()) {
                    case PASS -> 0;
                    case INCONCLUSIVE, NO_DATA -> 1;
                    case FAIL -> 2;
                };
                add(out, matchers, ts, value, "__name__", GUARDRAIL_STATUS, "experiment", v.experimentId(),
                        "metric", m.metricId(), "variant", m.variantId(),
                        "status", m.guardrail().status().name().toLowerCase(java.util.Locale.ROOT));
            }
        }
        return out;
    }

    private static void add(List<SeriesData> out, List<Matcher> matchers, List<Long> ts, double value, String... kv) {
        Labels labels = Labels.of(kv);
        for (Matcher m : matchers) if (!m.matches(labels)) return;
        long[] t = new long[ts.size()];
        double[] v = new double[ts.size()];
        for (int i = 0; i < t.length; i++) {
            t[i] = ts.get(i);
            v[i] = value;
        }
        out.add(new SeriesData(labels, t, v));
    }
}
