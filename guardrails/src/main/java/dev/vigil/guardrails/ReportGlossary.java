package dev.vigil.guardrails;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** One plain-words sentence for every number in an {@link ExperimentReport}, keyed by its field path. */
public final class ReportGlossary {
    private ReportGlossary() {
    }

    public static final Map<String, String> ENTRIES;

    static {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("decision", "SHIP, DO_NOT_SHIP, KEEP_RUNNING or INVALID for the whole experiment.");
        m.put("reasons", "Why, one plain sentence each, with the figures that drove it.");
        m.put("definitionVersion", "The version of the experiment definition these numbers were computed with.");
        m.put("alpha", "The accepted chance of declaring an effect that does not exist, for each test (e.g. 0.05 = 5 %).");
        m.put("srm.observedUnits", "How many units actually landed in each variant.");
        m.put("srm.expectedUnits", "How many units each variant should have received if traffic were split exactly as planned.");
        m.put("srm.chiSquare", "How far the observed split is from the planned one; 0 means exactly as planned.");
        m.put("srm.degreesOfFreedom", "The number of variants minus one, which sets the scale of the chi-square statistic.");
        m.put("srm.pValue", "The chance of a split at least this uneven if randomisation works as planned, judged at this one look only (for reference).");
        m.put("srm.alwaysValidPValue", "The same question asked so that looking often does not raise false alarms: in a healthy experiment the chance that it ever falls below 0.001, at any look, is at most 0.001; below 0.001 the experiment is declared broken.");
        m.put("srm.threshold", "The p-value below which the traffic split is declared broken (0.001).");
        m.put("srm.flagged", "True when the traffic split is broken: no other number in the report can be trusted.");
        m.put("quantile", "For a quantile metric, which quantile is measured (0.95 = the value 95 % of events are at or below).");
        m.put("controlUnits", "Units (e.g. users) in the control group for this metric.");
        m.put("variantUnits", "Units in the variant group for this metric.");
        m.put("controlValue", "The metric in the control group: a mean per unit, a share of units, a ratio, or a quantile.");
        m.put("variantValue", "The metric in the variant group.");
        m.put("absolute.estimate", "Variant value minus control value, in the metric's own unit.");
        m.put("relative.estimate", "Variant value divided by control value, minus 1 (0.02 = the variant is 2 % higher).");
        m.put("standardError", "The typical size of the random error of the estimate; smaller is more precise.");
        m.put("fixedHorizon", "The usual 95 % (1 - alpha) confidence interval; only valid if you look once, at a sample size fixed in advance.");
        m.put("fixedHorizonPValue", "The usual p-value; only valid if you look once, at a sample size fixed in advance - checking it repeatedly inflates false alarms.");
        m.put("alwaysValid", "A confidence interval that stays correct however often you look at it; wider than the fixed-horizon one.");
        m.put("alwaysValidPValue", "The chance of ever seeing evidence this strong if there were truly no difference; safe to check continuously.");
        m.put("cuped.theta", "How strongly each unit's pre-experiment value is used to cancel out its predictable noise.");
        m.put("cuped.varianceReduction", "The share of noise removed by the pre-experiment adjustment (0.3 = 30 % less variance, like 43 % more traffic).");
        m.put("cuped.controlValueAdjusted", "The control value after removing the part explained by the pre-experiment period.");
        m.put("cuped.variantValueAdjusted", "The variant value after removing the part explained by the pre-experiment period.");
        m.put("cupedApplied", "True when the decision used the CUPED-adjusted figures.");
        m.put("bhAdjustedPValue", "The always-valid p-value raised to account for testing many success metrics and variants at once (Benjamini-Hochberg); significant when at most alpha.");
        m.put("significant", "Whether a success metric moved by more than chance explains, after the multiple-testing correction.");
        m.put("movement", "IMPROVED or WORSENED when significant (in the metric's good direction), else UNCHANGED.");
        m.put("guardrail.status", "PASS (harm beyond the margin ruled out), FAIL (significant harm), INCONCLUSIVE (need more data) or NO_DATA.");
        m.put("guardrail.margin", "The largest harm the team agreed to tolerate on this guardrail.");
        m.put("guardrail.observedHarm", "The estimated harm on the margin's scale; positive is worse, negative means the variant is better.");
        m.put("guardrail.harmUpperBound", "The worst harm that is still plausible; the guardrail passes when this is below the margin.");
        m.put("guardrail.harmLowerBound", "The smallest harm that is still plausible; above 0 means the variant is significantly worse.");
        m.put("guardrail.powerPerGuardrail", "The chance, planned per guardrail, of passing if the true harm is the harm observed so far (none when it looks harmless); raised when there are many guardrails.");
        m.put("guardrail.additionalUnitsNeeded", "Roughly how many more units (all variants together) are needed before this guardrail can be expected to pass.");
        m.put("trustworthy", "False when the traffic split is broken or this metric's data is unusable.");
        m.put("notes", "Data problems for this metric, in plain words.");
        ENTRIES = Collections.unmodifiableMap(m);
    }
}
