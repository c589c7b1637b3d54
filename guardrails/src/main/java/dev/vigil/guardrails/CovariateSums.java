package dev.vigil.guardrails;

/**
 * CUPED covariate sums for a mean or proportion metric: X is the unit's value of the same metric in the
 * pre-period (0 when the unit was not seen then), Y its value during the experiment.
 *
 * @param sumX   sum over units of X
 * @param sumXSq sum over units of X squared
 * @param sumXY  sum over units of X times Y
 */
public record CovariateSums(double sumX, double sumXSq, double sumXY) {
}
