package dev.vigil.aggregator;

import java.util.List;

import org.apache.kafka.common.TopicPartition;

/**
 * One flush of one partition: the records with offsets in {@code [start, end)} and what they
 * rolled up to. Its insert blocks carry tokens derived from (job, topic, partition, start, end,
 * table), so writing it again, after a retry or by a replay after a crash, changes nothing.
 */
final class FlushBatch {
    final String job;
    final TopicPartition tp;
    final long start;
    final long end;
    final long watermark;
    /** What it rolled up; null once written or given up ({@link #release}). */
    FlushBuffer buffer;
    /** Writes its own 1 m and 1 h rows (false: the replay of an older aggregator's pending flush, see FlushBuffer.encode). */
    final boolean rollUp;
    final long createdNanos = System.nanoTime();
    /** The buffer's estimated heap when it was cut (counted in the job's queued bytes until written or dropped). */
    final long bytes;
    volatile boolean cancelled;
    /** Steps finished so far (1 intent, 2 dead letters, 3 data blocks, 4 done), so a retry resumes. */
    int stepsDone;
    List<FlushBuffer.Block> blocks;
    /** Which of {@link #blocks} are stored (they are inserted concurrently; a retry resends the others). */
    boolean[] blockStored;

    FlushBatch(String job, TopicPartition tp, long start, long end, long watermark, FlushBuffer buffer, boolean rollUp) {
        this.job = job;
        this.tp = tp;
        this.start = start;
        this.end = end;
        this.watermark = watermark;
        this.buffer = buffer;
        this.rollUp = rollUp;
        this.bytes = buffer.approxBytes();
    }

    /** Drops what it holds once written (or given up): the consumer thread still needs its partition and offsets. */
    void release() {
        buffer = null;
        blocks = null;
        blockStored = null;
    }

    /** The block of the records whose client id this flush accepted (null if none). */
    FlushBuffer.Block idBlock() {
        return buffer.idMarks.block(job, tp.topic(), tp.partition(), start, end);
    }

    String token(String table) {
        return "vigil/" + job + "/" + tp.topic() + "/" + tp.partition() + "/" + start + "-" + end + "/" + table;
    }

    @Override
    public String toString() {
        return job + ":" + tp + "[" + start + "," + end + ")";
    }
}
