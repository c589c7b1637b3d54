package dev.vigil.guardrails;

/** A direction of change of a metric (treatment minus control). */
public enum Direction {
    INCREASE,
    DECREASE;

    /** +1 for INCREASE, -1 for DECREASE: multiply a difference by this to orient it. */
    public double sign() {
        return this == INCREASE ? 1.0 : -1.0;
    }
}
