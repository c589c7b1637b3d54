package dev.vigil.guardrails;

import java.util.Map;

/**
 * Outcome of the sample ratio mismatch check.
 *
 * @param observedUnits    units seen per variant
 * @param expectedUnits    units the planned allocation predicts per variant, given the total seen
 * @param chiSquare        Pearson statistic: how far the observed split is from the plan (0 = exactly as planned)
 * @param degreesOfFreedom number of variants minus one
 * @param pValue           chance of a split at least this uneven if randomisation works as planned, at this one look
 *                         (chi-square; not what decides: looked at repeatedly it flags healthy experiments too often)
 * @param alwaysValidPValue the sequential test's p-value, valid however often it is looked at: what decides
 * @param threshold        p-value below which the split is declared broken (0.001)
 * @param flagged          true when alwaysValidPValue &lt; threshold: every other result of the experiment is untrustworthy
 */
public record SrmResult(Map<String, Long> observedUnits, Map<String, Double> expectedUnits, double chiSquare,
                        int degreesOfFreedom, double pValue, double alwaysValidPValue, double threshold, boolean flagged) {
}
