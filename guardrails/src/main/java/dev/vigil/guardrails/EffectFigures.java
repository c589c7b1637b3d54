package dev.vigil.guardrails;

/**
 * The treatment-minus-control effect on one scale (absolute or relative), with both kinds of inference.
 *
 * @param estimate           point estimate: absolute = variant value - control value; relative = variant / control - 1
 * @param standardError      standard error of the estimate (delta method where needed)
 * @param fixedHorizon       FIXED-HORIZON (1 - alpha) interval, estimate +- z * SE: valid only if looked at once,
 *                           at a sample size fixed in advance; peeking makes it too narrow
 * @param fixedHorizonPValue FIXED-HORIZON two-sided p-value (same caveat)
 * @param alwaysValid        always-valid (1 - alpha) confidence sequence: stays valid however often it is looked at
 * @param alwaysValidPValue  always-valid two-sided p-value: the chance of ever seeing evidence this strong if there
 *                           were no effect; safe to check continuously
 */
public record EffectFigures(double estimate, double standardError, Interval fixedHorizon, double fixedHorizonPValue,
                            Interval alwaysValid, double alwaysValidPValue) {
}
