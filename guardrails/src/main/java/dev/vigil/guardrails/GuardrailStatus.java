package dev.vigil.guardrails;

/** Verdict of a guardrail's non-inferiority test. */
public enum GuardrailStatus {
    /** The always-valid bound rules out harm beyond the margin. */
    PASS,
    /** Harm is statistically significant (always-valid interval entirely on the harmful side of zero) and harm
     * beyond the margin cannot be ruled out. */
    FAIL,
    /** Neither yet: more units are needed. */
    INCONCLUSIVE,
    /** No usable data (missing sums, too few units, zero variance). */
    NO_DATA
}
