package dev.vigil.promql.engine;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Per-query limits and cancellation: a deadline (System.nanoTime based), a cancel flag and an
 * optional override of the maximum number of samples. Thread-safe for cancel().
 */
public final class QueryContext {
    private final long deadlineNanos;
    private final AtomicBoolean canceled = new AtomicBoolean();
    private final long maxSamples;

    public QueryContext(long timeoutMillis, long maxSamples) {
        this.deadlineNanos = timeoutMillis <= 0 ? Long.MAX_VALUE : System.nanoTime() + timeoutMillis * 1_000_000L;
        this.maxSamples = maxSamples;
    }

    /** No deadline, engine default sample limit. */
    public static QueryContext unlimited() { return new QueryContext(0, 0); }

    public static QueryContext withTimeout(long timeoutMillis) { return new QueryContext(timeoutMillis, 0); }

    public void cancel() { canceled.set(true); }
    public boolean isCanceled() { return canceled.get(); }

    /** 0 means: use the engine's configured limit. */
    public long maxSamples() { return maxSamples; }

    /** Throws if the query was canceled or its deadline passed. */
    public void check() {
        if (canceled.get()) throw new QueryException(QueryException.Kind.CANCELED, "query was canceled");
        if (deadlineNanos != Long.MAX_VALUE && System.nanoTime() - deadlineNanos > 0)
            throw new QueryException(QueryException.Kind.TIMEOUT, "query timed out in expression evaluation");
    }
}
