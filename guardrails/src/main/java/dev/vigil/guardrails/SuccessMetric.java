package dev.vigil.guardrails;

/**
 * A metric the experiment is trying to move.
 *
 * @param metricId      metric key (matches the key of the sufficient statistics)
 * @param kind          aggregation kind
 * @param quantile      for {@link MetricKind#QUANTILE} only: the probability, e.g. 0.95; null otherwise
 * @param goodDirection which direction of change is an improvement
 * @param cuped         true to apply CUPED when the definition has a pre-period and pre-period sums are supplied
 */
public record SuccessMetric(String metricId, MetricKind kind, Double quantile, Direction goodDirection, boolean cuped) {
    public static SuccessMetric of(String metricId, MetricKind kind, Direction goodDirection) {
        return new SuccessMetric(metricId, kind, null, goodDirection, true);
    }
}
