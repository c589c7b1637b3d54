package dev.vigil.guardrails;

/**
 * Sums for a ratio metric sum(Y) / sum(D), where Y (numerator) and D (denominator) are per-unit totals,
 * e.g. clicks and sessions. Variance by the delta method over units (Deng, Knoblich &amp; Yu 2018).
 *
 * @param units         units exposed to the variant (n)
 * @param sumNum        sum over units of Y
 * @param sumNumSq      sum over units of Y squared
 * @param sumDen        sum over units of D
 * @param sumDenSq      sum over units of D squared
 * @param sumNumDen     sum over units of Y times D
 * @param pre           CUPED covariate sums (pre-period numerator and denominator), or null
 */
public record RatioSums(long units, double sumNum, double sumNumSq, double sumDen, double sumDenSq, double sumNumDen,
                        RatioCovariateSums pre) implements MetricSums {
    public RatioSums(long units, double sumNum, double sumNumSq, double sumDen, double sumDenSq, double sumNumDen) {
        this(units, sumNum, sumNumSq, sumDen, sumDenSq, sumNumDen, null);
    }

    @Override
    public MetricKind kind() {
        return MetricKind.RATIO;
    }
}
