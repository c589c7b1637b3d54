package dev.vigil.alerting;

/**
 * A rule's last evaluation as the rules API reports it: health, last error, when and how long.
 * One immutable {@link Snapshot} per evaluation, replaced as a whole, so that a reader never waits for
 * an evaluation and never mixes the fields of two.
 */
public final class RuleStatus {
    /** One evaluation's outcome; {@code lastError} is "" when it succeeded. */
    public record Snapshot(Rule.RuleHealth health, String lastError, long lastEvaluation, long evaluationNanos) {
    }

    private volatile Snapshot last = new Snapshot(Rule.RuleHealth.UNKNOWN, "", Alert.NONE, 0);

    /** The last evaluation's outcome, all fields from the same evaluation. */
    public Snapshot snapshot() {
        return last;
    }

    /** Records an evaluation at {@code ts} that took {@code nanos}: failed with {@code error}, or succeeded if it is null. */
    public void record(long ts, long nanos, String error) {
        last = new Snapshot(error == null ? Rule.RuleHealth.OK : Rule.RuleHealth.ERR, error == null ? "" : error, ts, nanos);
    }
}
