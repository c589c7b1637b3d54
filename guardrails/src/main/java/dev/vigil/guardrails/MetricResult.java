package dev.vigil.guardrails;

import java.util.List;

/**
 * Result of one metric for one non-control variant against the control. Every number is explained in one sentence
 * by {@link ReportGlossary} under the component's name.
 *
 * @param metricId              metric key
 * @param role                  SUCCESS or GUARDRAIL
 * @param kind                  MEAN, PROPORTION, RATIO or QUANTILE
 * @param quantile              probability of a QUANTILE metric, else null
 * @param variantId             the variant compared
 * @param controlVariantId      the control it is compared with
 * @param controlUnits          units in the control
 * @param variantUnits          units in the variant
 * @param controlValue          the metric in the control (mean, proportion, ratio or quantile); null without data
 * @param variantValue          the metric in the variant; null without data
 * @param absolute              unadjusted absolute effect and intervals; null without data
 * @param relative              unadjusted relative effect and intervals; null without data or when control is 0
 * @param cuped                 CUPED-adjusted figures; null when CUPED was not applied
 * @param cupedApplied          true when decisions use the CUPED figures
 * @param bhAdjustedPValue      success metrics: always-valid p-value after the Benjamini-Hochberg correction across
 *                              success metrics and variants; null for guardrails
 * @param significant           success metrics: true when bhAdjustedPValue &lt;= alpha
 * @param movement              success metrics: IMPROVED / WORSENED when significant, else UNCHANGED
 * @param guardrail             guardrail verdict; null for success metrics
 * @param trustworthy           false when the sample ratio mismatch check failed or the data is unusable
 * @param notes                 data problems in plain words (empty when none)
 */
public record MetricResult(String metricId, MetricRole role, MetricKind kind, Double quantile, String variantId,
                           String controlVariantId, long controlUnits, long variantUnits, Double controlValue,
                           Double variantValue, EffectFigures absolute, EffectFigures relative, CupedResult cuped,
                           boolean cupedApplied, Double bhAdjustedPValue, Boolean significant, Movement movement,
                           GuardrailResult guardrail, boolean trustworthy, List<String> notes) {
    public MetricResult {
        notes = notes == null ? List.of() : List.copyOf(notes);
    }

    public enum Movement { IMPROVED, WORSENED, UNCHANGED }

    /** The effect figures used for decisions: CUPED-adjusted when applied, else unadjusted (absolute scale). */
    public EffectFigures primaryAbsolute() {
        return cupedApplied ? cuped.absolute() : absolute;
    }

    /** The relative effect figures used for decisions. */
    public EffectFigures primaryRelative() {
        return cupedApplied ? cuped.relative() : relative;
    }
}
