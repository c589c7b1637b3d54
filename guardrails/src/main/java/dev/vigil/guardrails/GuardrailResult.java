package dev.vigil.guardrails;

/**
 * Non-inferiority verdict of one guardrail for one variant. All harm figures are on the margin's scale
 * (relative or absolute) and oriented so that a positive number means harm.
 *
 * @param status                PASS, FAIL, INCONCLUSIVE or NO_DATA
 * @param harmDirection         which direction of the metric is harmful
 * @param margin                the tolerated harm
 * @param observedHarm          estimated harm (negative = the variant is better than control)
 * @param harmUpperBound        one-sided always-valid upper bound of the harm at level alpha: the worst harm still
 *                              plausible; PASS when it is below the margin
 * @param harmLowerBound        lower end of the two-sided always-valid interval of the harm; above 0 means the harm
 *                              is statistically significant
 * @param powerPerGuardrail     power used to plan this guardrail: 1 - beta / (G + 1) (Schultzberg et al. 2024)
 * @param additionalUnitsNeeded extra units, across all variants of the experiment, needed before the bound is
 *                              expected to fall below the margin (INCONCLUSIVE only; null when the observed harm is
 *                              already at or beyond the margin, so no sample size can be promised)
 * @param explanation           the verdict in plain words
 */
public record GuardrailResult(GuardrailStatus status, Direction harmDirection, Margin margin, Double observedHarm,
                              Double harmUpperBound, Double harmLowerBound, double powerPerGuardrail,
                              Long additionalUnitsNeeded, String explanation) {
}
