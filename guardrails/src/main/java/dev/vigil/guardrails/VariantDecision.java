package dev.vigil.guardrails;

import java.util.List;

/**
 * Decision for one non-control variant.
 *
 * @param variantId the variant
 * @param decision  SHIP, DO_NOT_SHIP, KEEP_RUNNING or INVALID
 * @param reasons   why, in plain words, one sentence each
 */
public record VariantDecision(String variantId, Decision decision, List<String> reasons) {
    public VariantDecision {
        reasons = List.copyOf(reasons);
    }
}
