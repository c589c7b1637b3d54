package dev.vigil.aggregator;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.apache.kafka.common.TopicPartition;

/**
 * One job's exactly-once bookkeeping in ClickHouse (docs/exactly-once.md): a flush's intent and done rows in
 * {@code vigil_flush_log}, and what a partition's recovery reads back: where it resumes, its watermark there, the
 * flushes it must replay with the same boundaries, and which records' client ids were accepted.
 */
final class FlushLog {
    static final List<String> COLUMNS = List.of("job", "topic", "partition", "start_offset", "end_offset", "state",
            "watermark", "records", "max_event_ms", "instance", "created_at", "rolled_up");
    /** The log's states: a flush about to store its rows, and one whose rows are all stored. */
    static final int INTENT = 1;
    static final int DONE = 2;

    private final ClickHouse ch;
    private final String job;
    private final String instance;

    FlushLog(ClickHouse ch, String job, String instance) {
        this.ch = ch;
        this.job = job;
        this.instance = instance;
    }

    /** Writes the flush's {@link #INTENT} or {@link #DONE} row, with a token of its own (a retry writes nothing new). */
    void write(FlushBatch b, int state) throws Exception {
        RowBinary rb = new RowBinary(128);
        rb.str(b.job).str(b.tp.topic()).i32(b.tp.partition()).i64(b.start).i64(b.end).u8(state).i64(b.watermark)
                .i64(b.buffer.records).i64(b.buffer.maxEventMs).str(instance).i64(System.currentTimeMillis())
                .u8(b.rollUp ? 1 : 0).endRow();
        ch.insert(Migrations.FLUSH_LOG, COLUMNS, rb, b.token(Migrations.FLUSH_LOG + (state == INTENT ? "/intent" : "/done")));
    }

    /** The end offset of the partition's last done flush; null if it has none. */
    Long lastDone(TopicPartition tp) throws Exception {
        return ch.queryLong("SELECT max(end_offset) FROM " + Migrations.FLUSH_LOG + " WHERE " + where(tp)
                + " AND state = 'done' HAVING count() > 0");
    }

    /** The watermark logged with the partition's last flush that ends at or before {@code offset}; null if none. */
    Long watermarkAt(TopicPartition tp, long offset) throws Exception {
        return ch.queryLong("SELECT watermark FROM " + Migrations.FLUSH_LOG + " WHERE " + where(tp) + " AND end_offset <= " + offset
                + " ORDER BY end_offset DESC LIMIT 1");
    }

    /**
     * The flushes of the partition with an intent past {@code resume} (some of their rows may be stored): their
     * boundaries after {@code resume}, which a replay cuts at again so that it writes the same blocks, and those that an
     * aggregator older than migration 9 logged (start offset to end offset), replayed the way it wrote them.
     */
    record Pending(TreeSet<Long> bounds, Map<Long, Long> legacy) {
    }

    Pending pending(TopicPartition tp, long resume) throws Exception {
        TreeSet<Long> bounds = new TreeSet<>();
        Map<Long, Long> legacy = new HashMap<>();
        ch.forEach("SELECT start_offset, end_offset, min(rolled_up) FROM " + Migrations.FLUSH_LOG + " WHERE " + where(tp)
                + " AND state = 'intent' AND end_offset > " + resume + " GROUP BY start_offset, end_offset ORDER BY start_offset", rs -> {
                    bounds.add(rs.getLong(1));
                    bounds.add(rs.getLong(2));
                    if (rs.getInt(3) == 0) {
                        legacy.put(rs.getLong(1), rs.getLong(2));
                    }
                });
        bounds.removeIf(b -> b <= resume);
        return new Pending(bounds, legacy);
    }

    /**
     * The offsets in {@code [from, to)} of the partition's records whose client id a stored flush accepted, with record
     * time at least {@code minTs} ({@code Long.MIN_VALUE}: any), ascending and distinct. Since migration 8 a flush stores
     * them as a bitmap; flushes stored before kept each accepted id's offset, time and hash in two older tables (until
     * their TTL empties them): those hashes are not used since the id hash changed (2026-11-27, evening,
     * {@link SeriesIds#idHash}), only their offsets.
     */
    long[] acceptedIdOffsets(TopicPartition tp, long from, long to, long minTs) throws Exception {
        String where = where(tp);
        String newerThan = minTs == Long.MIN_VALUE ? "" : " >= " + minTs;
        java.util.stream.LongStream.Builder accepted = java.util.stream.LongStream.builder();
        ch.forEach("SELECT o FROM " + Migrations.SEEN_ID_BLOCKS + " ARRAY JOIN offsets AS o, ts AS t WHERE " + where
                + " AND end_offset > " + from + " AND start_offset < " + to + " AND o >= " + from + " AND o < " + to
                + (newerThan.isEmpty() ? "" : " AND t" + newerThan)
                + " UNION ALL SELECT offset AS o FROM " + Migrations.SEEN_IDS + " WHERE " + where + " AND offset >= " + from
                + " AND offset < " + to + (newerThan.isEmpty() ? "" : " AND toUnixTimestamp64Milli(ts)" + newerThan),
                rs -> accepted.add(rs.getLong(1)));
        ch.forEach("SELECT start_offset, hex(marks) FROM " + Migrations.SEEN_ID_MARKS + " WHERE " + where + " AND end_offset > " + from
                + " AND start_offset < " + to + (newerThan.isEmpty() ? "" : " AND toUnixTimestamp64Milli(max_ts)" + newerThan)
                + " ORDER BY start_offset", rs -> FlushBuffer.SeenMarks.decode(rs.getLong(1), java.util.HexFormat.of().parseHex(rs.getString(2)), o -> {
                    if (o >= from && o < to) {
                        accepted.add(o);
                    }
                }));
        // distinct: an offset twice is a flush stored twice beyond ClickHouse's deduplication window
        return accepted.build().sorted().distinct().toArray();
    }

    private String where(TopicPartition tp) {
        return "job = " + ClickHouse.q(job) + " AND topic = " + ClickHouse.q(tp.topic()) + " AND partition = " + tp.partition();
    }
}
