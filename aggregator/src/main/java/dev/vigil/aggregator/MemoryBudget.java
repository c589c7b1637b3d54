package dev.vigil.aggregator;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The heap the aggregator's jobs hold by their own estimates, against one budget for the process
 * ({@code aggregator.memory-budget}). Every per-partition bound of a job (its flush buffer, its client-retry store) is
 * multiplied by the partitions the instance holds, and an instance that survives the others holds all of them: with
 * 16 partitions, two event jobs and client ids the retry stores alone are ~1.5 GB. So the budget does two things:
 * <ul>
 * <li>it shares what the fixed parts leave (retry stores, series caches and cut flushes not yet stored are not
 * reduced without changing what is stored) among the partitions held, as each one's flush-buffer allowance: a
 * partition's flush is cut at {@link #bufferAllowance} instead of at {@code aggregator.max-bytes-per-flush} when the
 * share is smaller, never below {@link #MIN_BUFFER_BYTES} (smaller flushes, more parts: ClickHouse pays, memory
 * does not);
 * <li>it says when even that is not enough: the estimate is published (gauges) and an estimate over the budget is
 * logged, so the operator adds instances or heap before the JVM runs out, instead of after.
 * </ul>
 * Holders (one per running job worker) are read on demand: a consumer thread reads the totals once per poll.
 */
final class MemoryBudget {
    /** A partition's flush buffer is never cut below this by the budget (nor above {@code max-bytes-per-flush}). */
    static final long MIN_BUFFER_BYTES = 1L << 20;
    /** The budget when {@code aggregator.memory-budget} is 0: this share of the JVM's maximum heap. */
    static final double DEFAULT_HEAP_SHARE = 0.7;

    /** What one job worker holds now, by its own estimates. */
    interface Holder {
        /** Flush buffers being filled (one per partition held). */
        long flushBuffers();

        /** Client-retry stores (one per partition held). */
        long retryStores();

        /** Series caches (one per consumer thread). */
        long seriesCaches();

        /** Cut flushes not yet stored. */
        long queuedFlushes();

        /** Partitions held by its consumer threads. */
        int partitions();
    }

    /** The sums over every holder at one moment. */
    record Totals(long flushBuffers, long retryStores, long seriesCaches, long queuedFlushes, int partitions) {
        long total() {
            return flushBuffers + retryStores + seriesCaches + queuedFlushes;
        }

        /** What the buffers may not take: the parts a job cannot reduce without storing something else. */
        long fixed() {
            return retryStores + seriesCaches + queuedFlushes;
        }
    }

    private final long budget;
    private final Set<Holder> holders = ConcurrentHashMap.newKeySet();
    private final AtomicLong overLoggedNanos = new AtomicLong(System.nanoTime() - TimeUnit.MINUTES.toNanos(2));

    /** @param budget bytes; 0 for {@link #DEFAULT_HEAP_SHARE} of the JVM's maximum heap */
    MemoryBudget(long budget) {
        this.budget = budget > 0 ? budget : (long) (Runtime.getRuntime().maxMemory() * DEFAULT_HEAP_SHARE);
    }

    /** No budget to speak of: every allowance is {@code max-bytes-per-flush} (tests that build settings by hand). */
    static MemoryBudget unlimited() {
        return new MemoryBudget(Long.MAX_VALUE / 4);
    }

    long budget() {
        return budget;
    }

    void register(Holder h) {
        holders.add(h);
    }

    void unregister(Holder h) {
        holders.remove(h);
    }

    Totals totals() {
        long b = 0;
        long r = 0;
        long c = 0;
        long q = 0;
        int p = 0;
        for (Holder h : holders) {
            b += h.flushBuffers();
            r += h.retryStores();
            c += h.seriesCaches();
            q += h.queuedFlushes();
            p += h.partitions();
        }
        return new Totals(b, r, c, q, p);
    }

    /**
     * A partition's flush-buffer allowance: its share of what the fixed parts leave of the budget, within
     * [{@link #MIN_BUFFER_BYTES} (or {@code maxBytesPerFlush} if smaller), {@code maxBytesPerFlush}].
     */
    static long bufferAllowance(long budget, Totals t, long maxBytesPerFlush) {
        long share = (budget - t.fixed()) / Math.max(1, t.partitions());
        return Math.max(Math.min(MIN_BUFFER_BYTES, maxBytesPerFlush), Math.min(maxBytesPerFlush, share));
    }

    long bufferAllowance(Totals t, long maxBytesPerFlush) {
        return bufferAllowance(budget, t, maxBytesPerFlush);
    }

    /** Whether the estimate is over the budget and this caller is the one to log it (at most once a minute per process). */
    boolean overAndDueForLog(Totals t) {
        if (t.total() <= budget) {
            return false;
        }
        long now = System.nanoTime();
        long last = overLoggedNanos.get();
        return now - last >= TimeUnit.MINUTES.toNanos(1) && overLoggedNanos.compareAndSet(last, now);
    }
}
