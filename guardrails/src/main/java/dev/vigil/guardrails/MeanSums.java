package dev.vigil.guardrails;

/**
 * Sums for a mean-per-unit metric: Y is the per-unit total of the measure (e.g. revenue per user).
 *
 * @param units units exposed to the variant (n)
 * @param sum   sum over units of Y
 * @param sumSq sum over units of Y squared
 * @param pre   CUPED covariate sums, or null when there is no pre-period data
 */
public record MeanSums(long units, double sum, double sumSq, CovariateSums pre) implements MetricSums {
    public MeanSums(long units, double sum, double sumSq) {
        this(units, sum, sumSq, null);
    }

    @Override
    public MetricKind kind() {
        return MetricKind.MEAN;
    }
}
