package dev.vigil.guardrails;

/**
 * CUPED covariate sums for a ratio metric. Y, D: the unit's numerator and denominator during the experiment;
 * X, E: the same unit's numerator and denominator in the pre-period (0 when not seen). The covariate is the
 * pre-period ratio sum(X) / sum(E), linearised by the delta method.
 *
 * @param sumPreNum      sum of X
 * @param sumPreNumSq    sum of X squared
 * @param sumPreDen      sum of E
 * @param sumPreDenSq    sum of E squared
 * @param sumPreNumPreDen sum of X times E
 * @param sumNumPreNum   sum of Y times X
 * @param sumNumPreDen   sum of Y times E
 * @param sumDenPreNum   sum of D times X
 * @param sumDenPreDen   sum of D times E
 */
public record RatioCovariateSums(double sumPreNum, double sumPreNumSq, double sumPreDen, double sumPreDenSq,
                                 double sumPreNumPreDen, double sumNumPreNum, double sumNumPreDen,
                                 double sumDenPreNum, double sumDenPreDen) {
}
