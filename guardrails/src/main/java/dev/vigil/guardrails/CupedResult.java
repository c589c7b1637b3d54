package dev.vigil.guardrails;

/**
 * CUPED (Deng et al. 2013) figures: each unit's metric is adjusted by theta times (its pre-period value minus the
 * pooled pre-period mean), which removes the part of the noise that was predictable before the experiment.
 *
 * @param theta                adjustment coefficient, pooled over all variants: cov(metric, pre) / var(pre)
 * @param varianceReduction    share of the effect's variance removed: 1 - Var(adjusted) / Var(unadjusted)
 * @param controlValueAdjusted control value after adjustment
 * @param variantValueAdjusted variant value after adjustment
 * @param absolute             adjusted absolute effect with its intervals
 * @param relative             adjusted relative effect with its intervals (null if the control value is 0)
 */
public record CupedResult(double theta, double varianceReduction, double controlValueAdjusted,
                          double variantValueAdjusted, EffectFigures absolute, EffectFigures relative) {
}
