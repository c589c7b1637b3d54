package dev.vigil.guardrails;

/** How a metric is aggregated per variant. Each kind has its own {@link MetricSums} input. */
public enum MetricKind {
    /** Mean of a per-unit value (e.g. revenue per user). Input: {@link MeanSums}. */
    MEAN,
    /** Share of units with at least one qualifying event (e.g. conversion). Input: {@link ProportionSums}. */
    PROPORTION,
    /** Ratio of two per-unit sums, e.g. clicks per session; variance by the delta method. Input: {@link RatioSums}. */
    RATIO,
    /** A quantile (p50/p95/p99) of event-level values, unit-clustered interval. Input: {@link QuantileSums}. */
    QUANTILE
}
