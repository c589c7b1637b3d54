package dev.vigil.guardrails;

/** What to do with an experiment (or with one variant of it). */
public enum Decision {
    /** Evidence says the variant improves at least one success metric and harms no guardrail beyond its margin. */
    SHIP,
    /** Evidence says the variant is harmful, or the experiment ended without showing it is better and safe. */
    DO_NOT_SHIP,
    /** Not enough evidence yet; the experiment has not reached its end date. */
    KEEP_RUNNING,
    /** The results cannot be trusted (sample ratio mismatch, invalid definition). */
    INVALID
}
