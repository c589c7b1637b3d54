package dev.vigil.guardrails;

/**
 * Sufficient statistics of one metric in one variant, as computed by ClickHouse from the per-unit rollups.
 * No per-unit rows are needed: every statistic here is a sum over units, so partial results add up.
 * "Unit" always means the randomisation unit of the experiment; units with no events count with value 0.
 */
public sealed interface MetricSums permits MeanSums, ProportionSums, RatioSums, QuantileSums {
    /** Number of randomisation units exposed to the variant. */
    long units();

    MetricKind kind();
}
