package dev.vigil.guardrails;

/**
 * Sums for a proportion metric: Y is 1 when the unit had at least one qualifying event, else 0.
 * (Sum of Y squared equals the sum of Y, so it is not passed.)
 *
 * @param units          units exposed to the variant (n)
 * @param unitsWithEvent units with at least one qualifying event (sum of Y)
 * @param pre            CUPED covariate sums (X = the unit's pre-period 0/1 value; sumXY = number of units with
 *                       X = 1 and Y = 1 when X is binary), or null
 */
public record ProportionSums(long units, long unitsWithEvent, CovariateSums pre) implements MetricSums {
    public ProportionSums(long units, long unitsWithEvent) {
        this(units, unitsWithEvent, null);
    }

    @Override
    public MetricKind kind() {
        return MetricKind.PROPORTION;
    }
}
