package dev.vigil.alerting;

/** A rule evaluation that failed (bad result type, duplicate labelsets, limit exceeded). */
public final class RuleEvalException extends RuntimeException {
    public RuleEvalException(String message) {
        super(message);
    }
}
