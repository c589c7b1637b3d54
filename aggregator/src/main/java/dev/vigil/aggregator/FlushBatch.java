package dev.vigil.aggregator;

import java.util.List;

import org.apache.kafka.common.TopicPartition;

/**
 * One flush of one partition: the records with offsets in {@code [start, end)} and what they
 * rolled up to. Its insert blocks carry tokens derived from (job, topic, partition, start, end,
 * table), so writing it again, after a retry or by a replay after a crash, changes nothing.
 *
 * <p>Or an <em>id spill</em> ({@link #idSpill}): only the client ids accepted in
 * {@code [start, end)}, written ahead of the flush that will cover those records, so that ids
 * (one per event) do not cut flushes short. A spill commits no offset and writes no flush-log
 * row: its ids only count once the flush after it is done (recovery loads ids below the resume
 * offset only).
 */
final class FlushBatch {
    final String job;
    final TopicPartition tp;
    final long start;
    final long end;
    final long watermark;
    /** The rolled-up records; null for an id spill. */
    final FlushBuffer buffer;
    /** The client ids this batch stores: those accepted in {@code [idsFrom, end)} (earlier ones went in spills). */
    final FlushBuffer.SeenIdColumns ids;
    final long idsFrom;
    final long createdNanos = System.nanoTime();
    /** The buffer's estimated heap when it was cut (counted in the job's queued bytes until written or dropped). */
    final long bytes;
    volatile boolean cancelled;
    /** Steps finished so far (intent, dead letters, data blocks, done), so a retry resumes. */
    int stepsDone;
    List<FlushBuffer.Block> blocks;

    FlushBatch(String job, TopicPartition tp, long start, long end, long watermark, FlushBuffer buffer, long idsFrom) {
        this(job, tp, start, end, watermark, buffer, buffer.seenIds, idsFrom, buffer.approxBytes());
    }

    private FlushBatch(String job, TopicPartition tp, long start, long end, long watermark, FlushBuffer buffer,
            FlushBuffer.SeenIdColumns ids, long idsFrom, long bytes) {
        this.job = job;
        this.tp = tp;
        this.start = start;
        this.end = end;
        this.watermark = watermark;
        this.buffer = buffer;
        this.ids = ids;
        this.idsFrom = idsFrom;
        this.bytes = bytes;
    }

    /** The client ids accepted in {@code [from, end)}, stored ahead of their flush. */
    static FlushBatch idSpill(String job, TopicPartition tp, long from, long end, long watermark, FlushBuffer.SeenIdColumns ids) {
        return new FlushBatch(job, tp, from, end, watermark, null, ids, from, ids.bytes());
    }

    boolean idsOnly() {
        return buffer == null;
    }

    /** The block of this batch's client ids (null if none). */
    FlushBuffer.Block idBlock() {
        return ids.block(job, tp.topic(), tp.partition(), idsFrom, end);
    }

    /**
     * The deduplication token of this batch's block of {@code table}. The ids' block is named by
     * the range of records its ids come from, so a flush's ids and a spill of the same range
     * (whose contents are equal) are one block to ClickHouse.
     */
    String token(String table) {
        long from = Migrations.SEEN_ID_BLOCKS.equals(table) ? idsFrom : start;
        return "vigil/" + job + "/" + tp.topic() + "/" + tp.partition() + "/" + from + "-" + end + "/" + table;
    }

    @Override
    public String toString() {
        return job + ":" + tp + (idsOnly() ? " ids" : "") + "[" + start + "," + end + ")";
    }
}
