package dev.vigil.guardrails;

/** A closed interval [lower, upper]; bounds may be infinite for one-sided intervals. */
public record Interval(double lower, double upper) {
    public boolean contains(double x) {
        return x >= lower && x <= upper;
    }

    public boolean excludesZero() {
        return lower > 0 || upper < 0;
    }
}
