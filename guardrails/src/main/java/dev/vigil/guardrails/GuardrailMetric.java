package dev.vigil.guardrails;

/**
 * A metric that must not get worse by more than a margin (a non-inferiority test).
 *
 * @param metricId      metric key (matches the key of the sufficient statistics)
 * @param kind          aggregation kind
 * @param quantile      for {@link MetricKind#QUANTILE} only: the probability, e.g. 0.99; null otherwise
 * @param harmDirection which direction of change is harmful (INCREASE for latency or errors, DECREASE for revenue)
 * @param margin        tolerated harm, relative to control or absolute
 * @param cuped         true to apply CUPED when the definition has a pre-period and pre-period sums are supplied
 */
public record GuardrailMetric(String metricId, MetricKind kind, Double quantile, Direction harmDirection, Margin margin,
                              boolean cuped) {
    public static GuardrailMetric of(String metricId, MetricKind kind, Direction harmDirection, Margin margin) {
        return new GuardrailMetric(metricId, kind, null, harmDirection, margin, true);
    }
}
