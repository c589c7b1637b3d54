package dev.vigil.query.storage;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import dev.vigil.promql.engine.QueryContext;
import dev.vigil.promql.engine.QueryException;

/**
 * Limits and cancellation of one API query: the engine's {@link QueryContext} (deadline, cancel
 * flag, sample limit), a series limit enforced by the storage, and the ClickHouse queries in
 * flight, which {@link #cancel()} aborts (closing the HTTP request and sending {@code KILL QUERY}).
 */
public final class QueryGuard {
    private final QueryContext context;
    private final long deadlineNanos;
    private final long maxSeries;
    private final AtomicLong series = new AtomicLong();
    private final Map<String, Running> running = new ConcurrentHashMap<>();
    private volatile String cancelReason;

    private record Running(CompletableFuture<?> future, ChReader reader) {
    }

    public QueryGuard(long timeoutMillis, long maxSamples, long maxSeries) {
        this.context = new QueryContext(timeoutMillis, maxSamples);
        this.deadlineNanos = timeoutMillis <= 0 ? Long.MAX_VALUE : System.nanoTime() + timeoutMillis * 1_000_000L;
        this.maxSeries = maxSeries;
    }

    public static QueryGuard unlimited() {
        return new QueryGuard(0, 0, 0);
    }

    public QueryContext context() {
        return context;
    }

    /** Milliseconds left before the deadline; 0 = no deadline. */
    public long remainingMillis() {
        if (deadlineNanos == Long.MAX_VALUE) {
            return 0;
        }
        long ms = (deadlineNanos - System.nanoTime()) / 1_000_000L;
        if (ms <= 0) {
            throw new QueryException(QueryException.Kind.TIMEOUT, "query timed out");
        }
        return ms;
    }

    public void check() {
        context.check();
    }

    /** Counts series selected by the storage; throws when over the limit. */
    public void addSeries(long n) {
        long total = series.addAndGet(n);
        if (maxSeries > 0 && total > maxSeries) {
            throw new QueryException(QueryException.Kind.EXECUTION, "query selected more than " + maxSeries
                    + " series (limit query.max-series); narrow the selectors");
        }
    }

    public long seriesSelected() {
        return series.get();
    }

    void register(String queryId, CompletableFuture<?> f, ChReader reader) {
        running.put(queryId, new Running(f, reader));
        if (context.isCanceled()) {
            abort(queryId);
        }
    }

    void unregister(String queryId) {
        running.remove(queryId);
    }

    /** Cancels the query: the engine stops at its next check, ClickHouse queries are aborted and killed. */
    public void cancel() {
        cancel("canceled");
    }

    public void cancel(String reason) {
        cancelReason = reason;
        context.cancel();
        for (String id : running.keySet()) {
            abort(id);
        }
    }

    public String cancelReason() {
        return cancelReason;
    }

    private void abort(String id) {
        Running r = running.remove(id);
        if (r != null) {
            r.future.cancel(true);
            r.reader.kill(id);
        }
    }
}
