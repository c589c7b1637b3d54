package dev.vigil.alerting;

/**
 * A rule's last evaluation as the rules API reports it: health, last error, when and how long.
 * Its own lock, so that reading it never waits for a rule's evaluation.
 */
public final class RuleStatus {
    private Rule.RuleHealth health = Rule.RuleHealth.UNKNOWN;
    private String lastError = "";
    private long lastEvaluation = Alert.NONE;
    private long evaluationNanos;

    public synchronized Rule.RuleHealth health() {
        return health;
    }

    /** The last evaluation's error, "" if it succeeded. */
    public synchronized String lastError() {
        return lastError;
    }

    public synchronized long lastEvaluation() {
        return lastEvaluation;
    }

    public synchronized long evaluationNanos() {
        return evaluationNanos;
    }

    /** Records an evaluation at {@code ts} that took {@code nanos}: failed with {@code error}, or succeeded if it is null. */
    public synchronized void record(long ts, long nanos, String error) {
        lastEvaluation = ts;
        evaluationNanos = nanos;
        health = error == null ? Rule.RuleHealth.OK : Rule.RuleHealth.ERR;
        lastError = error == null ? "" : error;
    }
}
