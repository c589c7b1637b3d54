package dev.vigil.alerting;

/**
 * One alert instance of an alerting rule (Prometheus' rules.Alert). Times are epoch millis;
 * {@link #NONE} means "not set" (Go's zero time), so that time 0 remains a valid instant (the
 * promtool unit tests start at the epoch).
 */
public final class Alert {
    public static final long NONE = Long.MIN_VALUE;

    LabelSet labels;
    LabelSet annotations;
    AlertState state;
    double value;
    long activeAt = NONE;
    long firedAt = NONE;
    long resolvedAt = NONE;
    long lastSentAt = NONE;
    long validUntil = NONE;
    long keepFiringSince = NONE;

    Alert(LabelSet labels, LabelSet annotations, AlertState state, double value, long activeAt) {
        this.labels = labels;
        this.annotations = annotations;
        this.state = state;
        this.value = value;
        this.activeAt = activeAt;
    }

    Alert copy() {
        Alert a = new Alert(labels, annotations, state, value, activeAt);
        a.firedAt = firedAt;
        a.resolvedAt = resolvedAt;
        a.lastSentAt = lastSentAt;
        a.validUntil = validUntil;
        a.keepFiringSince = keepFiringSince;
        return a;
    }

    public LabelSet labels() {
        return labels;
    }

    public LabelSet annotations() {
        return annotations;
    }

    public AlertState state() {
        return state;
    }

    public double value() {
        return value;
    }

    public long activeAt() {
        return activeAt;
    }

    public long firedAt() {
        return firedAt;
    }

    public long resolvedAt() {
        return resolvedAt;
    }

    public long lastSentAt() {
        return lastSentAt;
    }

    public long validUntil() {
        return validUntil;
    }

    public long keepFiringSince() {
        return keepFiringSince;
    }

    /** Prometheus' needsSending: firing or resolved alerts, when resolved since the last send or the resend delay passed. */
    boolean needsSending(long ts, long resendDelay) {
        if (state == AlertState.PENDING) {
            return false;
        }
        if (resolvedAt != NONE && (lastSentAt == NONE || resolvedAt > lastSentAt)) {
            return true;
        }
        return lastSentAt == NONE || lastSentAt + resendDelay < ts;
    }

    @Override
    public String toString() {
        return "Alert" + labels + " state=" + state.apiName() + " activeAt=" + activeAt + " value=" + value;
    }
}
