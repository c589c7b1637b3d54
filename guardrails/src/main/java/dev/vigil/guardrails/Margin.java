package dev.vigil.guardrails;

/**
 * Non-inferiority margin of a guardrail: the largest harm that is still acceptable.
 *
 * @param type  RELATIVE: a fraction of the control value (0.02 = 2 % worse than control is tolerated);
 *              ABSOLUTE: in the metric's own unit (e.g. 5 ms of p95 latency)
 * @param value strictly positive size of the tolerated harm
 */
public record Margin(Type type, double value) {
    public enum Type { RELATIVE, ABSOLUTE }

    public static Margin relative(double fraction) {
        return new Margin(Type.RELATIVE, fraction);
    }

    public static Margin absolute(double amount) {
        return new Margin(Type.ABSOLUTE, amount);
    }
}
