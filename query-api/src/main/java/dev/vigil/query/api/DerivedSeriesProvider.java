package dev.vigil.query.api;

import java.util.List;
import java.util.Set;

import dev.vigil.promql.Matcher;
import dev.vigil.promql.storage.SeriesData;
import dev.vigil.promql.storage.SelectHints;

/**
 * Series that are computed rather than stored (ML-health figures such as
 * {@code vigil_model_drift_psi}, experiment states such as
 * {@code vigil_experiment_guardrail_status}). The query API's PromQL storage sends a selector
 * here when its {@code __name__} matcher selects one of {@link #metricNames()}, so these
 * series can be charted and alerted on like any other.
 */
public interface DerivedSeriesProvider {
    /** The metric names this provider answers for. */
    Set<String> metricNames();

    /**
     * Series of the tenant matching every matcher (the {@code __name__} matcher included), with
     * samples within [hints.start, hints.end] (ms). A provider picks its own sample spacing
     * (for example one point per minute) and documents it.
     */
    List<SeriesData> select(String tenant, SelectHints hints, List<Matcher> matchers);
}
