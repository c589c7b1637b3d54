package dev.vigil.guardrails;

/**
 * An arm of the experiment.
 *
 * @param id         variant key as it appears in the exposure assignments (e.g. "control", "treatment")
 * @param allocation planned share of randomised units, in (0, 1]; all variants sum to 1
 * @param control    true for exactly one variant: the baseline every other variant is compared with
 */
public record Variant(String id, double allocation, boolean control) {
}
