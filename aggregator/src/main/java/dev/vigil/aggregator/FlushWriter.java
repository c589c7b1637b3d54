package dev.vigil.aggregator;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * Stores one job's flushes in ClickHouse, in the steps of docs/exactly-once.md: the intent row, the dead letters, the
 * data blocks (each with its deterministic token), the done row. A flush remembers the steps it finished, so a retry
 * resumes where the last attempt failed; every step is safe to repeat. The job's flusher threads call it, one flush of
 * a lane at a time; retrying and what a stored flush means for offsets stay with the job.
 */
final class FlushWriter {
    private final String job;
    private final ClickHouse ch;
    private final FlushLog flushLog;
    private final DeadLetters deadLetters;
    private final MeterRegistry registry;
    /**
     * Inserts some of a flush's data blocks while its lane inserts another (see {@link #insertBlocks}): two threads per
     * lane, so at most three inserts of a lane are in flight.
     */
    private final ExecutorService blockWriters;
    private final Map<String, TableMeters> byTable = new ConcurrentHashMap<>();
    private final AtomicLong rowsWritten = new AtomicLong();

    FlushWriter(String job, ClickHouse ch, FlushLog flushLog, DeadLetters deadLetters, MeterRegistry registry, int lanes) {
        this.job = job;
        this.ch = ch;
        this.flushLog = flushLog;
        this.deadLetters = deadLetters;
        this.registry = registry;
        this.blockWriters = java.util.concurrent.Executors.newFixedThreadPool(2 * lanes,
                Thread.ofPlatform().name("job-" + job + "-insert-", 0).daemon().factory());
    }

    /**
     * Writes the flush's steps not done yet; false, leaving the rest undone, if the flush was cancelled between two steps:
     * its partition was released (a revoke that stopped waiting for it, or lost), and a new owner may already have
     * recovered past it, so a step begun now could store its records a second time. What is already stored is
     * replayed with the same tokens by that owner if it saw the intent row; a step in progress is not stopped
     * (docs/exactly-once.md, "Zombie writer"). {@code inGroup} waits until the member that cut the flush is known to be
     * in its group, and is false if the flush was cancelled meanwhile (JobWorker.awaitGroupContact).
     */
    boolean write(FlushBatch b, Predicate<FlushBatch> inGroup) throws Exception {
        if (b.cancelled) {
            return false;
        }
        if (b.blocks == null) {
            List<FlushBuffer.Block> blocks = new ArrayList<>(b.buffer.encode(b.rollUp));
            FlushBuffer.Block ids = b.idBlock();
            if (ids != null) {
                blocks.add(ids);
            }
            b.blocks = blocks;
        }
        if (b.stepsDone < 1) {
            if (!inGroup.test(b)) {
                return false;
            }
            flushLog.write(b, FlushLog.INTENT);
            b.stepsDone = 1;
        }
        // again before anything is stored: the intent insert may have outlasted half the member's session (a slow
        // ClickHouse), and the group may have given the partition to another instance meanwhile, which recovered before
        // the intent row landed and cuts its own flushes. Held here, such a flush is given up when the member learns it
        // lost the partition (what is left of the race: an expulsion between this check and the inserts)
        if (b.stepsDone < 3 && !inGroup.test(b)) {
            return false;
        }
        if (b.stepsDone < 2) {
            deadLetters.send(b.buffer.deadLetters, b);
            b.stepsDone = 2;
        }
        if (b.cancelled) {
            return false;
        }
        if (b.stepsDone < 3) {
            insertBlocks(b);
            b.stepsDone = 3;
        }
        if (b.cancelled) {
            return false;
        }
        if (b.stepsDone < 4) {
            flushLog.write(b, FlushLog.DONE);
            b.stepsDone = 4;
        }
        return true;
    }

    /** Rows inserted by this writer, over all tables (a retried block's rows count again). */
    long rowsWritten() {
        return rowsWritten.get();
    }

    /** Stops the block writers once their inserts in flight end (a crash lets them finish or not). */
    void shutdown() {
        blockWriters.shutdown();
    }

    /**
     * Inserts the blocks of {@code b} not stored yet: the 10 s rollup block first and alone, then the others
     * concurrently (one on this thread, the rest on {@link #blockWriters}). Waits for all of those, even when one fails
     * (a retry then resends only the ones not stored, and none of them is still in flight; only an interrupt, which
     * comes with a crash, leaves without waiting), and rethrows the first failure. Measured: a flush's three rollup
     * inserts took 68-88 + 26-28 + 18-23 ms one after the other.
     *
     * <p>Why the 10 s block first: during a rolling upgrade, a flush this aggregator left pending may be replayed by an
     * older one, which writes only the 10 s block and lets the views write the coarse rows. Had the coarse blocks been
     * stored before the 10 s block, that replay would store them a second time through the views. With this order the
     * worst case is the opposite one (10 s stored, coarse rows not: the older replay's 10 s block is a duplicate, so
     * the views do not run), documented in docs/exactly-once.md.
     */
    private void insertBlocks(FlushBatch b) throws Exception {
        if (b.blockStored == null) {
            b.blockStored = new boolean[b.blocks.size()];
        }
        List<Integer> todo = new ArrayList<>(b.blocks.size());
        for (int i = 0; i < b.blocks.size(); i++) {
            if (!b.blockStored[i]) {
                if (b.blocks.get(i).table().equals(Migrations.ROLLUP_10S)) {
                    insert(b, b.blocks.get(i));
                    b.blockStored[i] = true;
                } else {
                    todo.add(i);
                }
            }
        }
        if (todo.isEmpty()) {
            return;
        }
        List<Future<?>> others = new ArrayList<>(todo.size() - 1);
        List<FlushBuffer.Block> blocks = b.blocks;
        boolean[] stored = b.blockStored; // locals: a lane given up (crash, close) releases b while these may still run
        for (int k : todo.subList(1, todo.size())) {
            others.add(blockWriters.submit(() -> {
                insert(b, blocks.get(k));
                stored[k] = true; // read after Future.get, which orders it
                return null;
            }));
        }
        Exception failed = null;
        try {
            int first = todo.getFirst();
            insert(b, b.blocks.get(first));
            b.blockStored[first] = true;
        } catch (Exception e) {
            failed = e;
        }
        for (Future<?> f : others) {
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                if (failed == null) {
                    failed = e.getCause() instanceof Exception ex ? ex : new RuntimeException(e.getCause());
                }
            }
        }
        if (failed != null) {
            throw failed;
        }
    }

    private void insert(FlushBatch b, FlushBuffer.Block blk) throws Exception {
        long t0 = System.nanoTime();
        ClickHouse.InsertResult res = ch.insert(blk.table(), blk.columns(), blk.rows(), b.token(blk.table()));
        TableMeters tm = byTable.computeIfAbsent(blk.table(), this::tableMeters);
        tm.insert().record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        tm.rows().increment(blk.rows().rows());
        tm.blocks().increment();
        if (res.deduplicated()) {
            tm.deduplicated().increment();
        }
        rowsWritten.addAndGet(blk.rows().rows());
    }

    /** The meters of one table this job writes. */
    private record TableMeters(Timer insert, Counter rows, Counter blocks, Counter deduplicated) {
    }

    private TableMeters tableMeters(String table) {
        return new TableMeters(
                Timer.builder("vigil_aggregator_insert_duration")
                        .description("one block's INSERT into ClickHouse, by table (a flush waits for all of its blocks)")
                        .tag("job", job).tag("table", table).publishPercentiles(0.5, 0.99).register(registry),
                Counter.builder("vigil_aggregator_rows_written").tag("job", job).tag("table", table).register(registry),
                Counter.builder("vigil_aggregator_blocks_written").tag("job", job).tag("table", table).register(registry),
                Counter.builder("vigil_aggregator_blocks_deduplicated").tag("job", job).tag("table", table).register(registry));
    }
}
