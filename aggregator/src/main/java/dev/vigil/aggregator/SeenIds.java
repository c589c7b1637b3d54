package dev.vigil.aggregator;

/**
 * The per-partition store of client event ids already accepted, for dropping client retries.
 * Keys are 128-bit hashes of (tenant, event_id); each entry keeps the Kafka offset and record
 * timestamp of the accepted occurrence.
 *
 * <p>The duplicate rule is a pure function of the partition's records, so a replay after a
 * crash decides exactly as the first run did: the record at offset {@code o} with id {@code x}
 * is a duplicate iff the last accepted occurrence of {@code x} has offset {@code >= o - maxIds}
 * and record time {@code >= watermark(o) - window}, where {@code watermark(o)} is the largest
 * record timestamp at or before {@code o}. Entries outside those bounds never match, so
 * dropping them (garbage collection) changes no decision, and a store rebuilt from
 * {@code vigil_seen_id_blocks} (ids with offset in {@code [r - maxIds, r)} and time {@code >=
 * watermark(r) - window}) is equivalent to the one the crashed process had at offset r.
 *
 * <p>Layout, for the hot path (almost every id is new): a table of 8-byte slots, each a 32-bit
 * fingerprint of the key and the position of its entry in an append-only log of (hi, lo,
 * offset, time). A new id costs one random read of the table (a miss ends at an empty slot or
 * after fingerprint mismatches in the same cache line) and a sequential append to the log; the
 * log is read at random only when a fingerprint matches. An earlier layout kept the five fields
 * in five parallel arrays, so a new id touched five random cache lines (async-profiler: 17 % of
 * the consumer thread in the probe). Garbage collection rewrites the log in order, keeping the
 * entries that can still match. Memory: the table holds at most 4 * live slots of 8 bytes and
 * the log at most 3 * live entries of 32 bytes, where live is at most maxIds + 1.
 */
final class SeenIds {
    private static final long LOW = 0xFFFF_FFFFL;
    private static final int MIN_CAPACITY = 1024;
    /** Offset and time of a log entry whose key was accepted again later (the table points to the newer one). */
    private static final long SUPERSEDED = Long.MIN_VALUE;

    private final long maxIds;
    private final long windowMs;
    /** 0 = empty; else (fingerprint << 32) | (log position + 1). */
    private long[] table;
    /** Slots in use, counting those whose entries can no longer match (until the next collection). */
    private int occupied;
    /** Entries of 4 longs: hi, lo, offset, time. */
    private long[] log;
    private int logSize;

    SeenIds(long maxIds, long windowMs) {
        this.maxIds = maxIds;
        this.windowMs = windowMs;
        alloc(MIN_CAPACITY);
    }

    private void alloc(int cap) {
        table = new long[cap];
        log = new long[4 * threshold(cap)];
        occupied = 0;
        logSize = 0;
    }

    /** Slots in use that trigger a collection: three quarters of the table. */
    private static int threshold(int cap) {
        return cap / 4 * 3;
    }

    /** Forgets every id (before the store is loaded again). */
    void clear() {
        alloc(MIN_CAPACITY);
    }

    private static long mix(long h, long l) {
        return SeriesIds.fmix64(h ^ (l * 31));
    }

    /** The slot that points to (h, l), or {@code ~slot} of the empty slot where it would go. */
    private int find(long h, long l, long mixed) {
        long[] t = table;
        int mask = t.length - 1;
        long fp = mixed & ~LOW;
        int i = (int) mixed & mask;
        for (long e; (e = t[i]) != 0; i = (i + 1) & mask) {
            if ((e & ~LOW) == fp) {
                int p = 4 * (int) ((e & LOW) - 1);
                if (log[p] == h && log[p + 1] == l) {
                    return i;
                }
            }
        }
        return ~i;
    }

    private int position(int slot) {
        return 4 * (int) ((table[slot] & LOW) - 1);
    }

    /** True when (h, l) was accepted within the bounds relative to the record at {@code offset}. */
    boolean isDuplicate(long h, long l, long offset, long watermark) {
        int i = find(h, l, mix(h, l));
        if (i < 0) {
            return false;
        }
        int p = position(i);
        return log[p + 2] >= offset - maxIds && log[p + 3] >= watermark - windowMs;
    }

    /** Records an accepted occurrence (offsets in increasing order, as the partition is read). */
    void accept(long h, long l, long offset, long recordTs, long watermark) {
        if (logSize == log.length) {
            collect(offset, watermark);
        }
        long m = mix(h, l);
        int i = find(h, l, m);
        if (i < 0 && occupied == threshold(table.length)) {
            collect(offset, watermark);
            i = find(h, l, m);
        }
        int p = logSize;
        log[p] = h;
        log[p + 1] = l;
        log[p + 2] = offset;
        log[p + 3] = recordTs;
        logSize += 4;
        long ref = p / 4 + 1;
        if (i >= 0) {
            int old = position(i);
            log[old + 2] = SUPERSEDED;
            table[i] = (table[i] & ~LOW) | ref;
        } else {
            table[~i] = (m & ~LOW) | ref;
            occupied++;
        }
    }

    /** Drops the entries that can no longer match (read in log order) and sizes the table for the rest. */
    private void collect(long offset, long watermark) {
        long[] old = log;
        int oldSize = logSize;
        long minOffset = offset - maxIds;
        long minTs = watermark - windowMs;
        int live = 0;
        for (int p = 0; p < oldSize; p += 4) {
            if (old[p + 2] >= minOffset && old[p + 3] >= minTs) {
                live++;
            }
        }
        alloc(Integer.highestOneBit(Math.max(MIN_CAPACITY, live * 2)) * 2);
        for (int p = 0; p < oldSize; p += 4) {
            long h = old[p];
            long l = old[p + 1];
            if (old[p + 2] >= minOffset && old[p + 3] >= minTs) {
                long m = mix(h, l);
                int i = ~find(h, l, m);
                int q = logSize;
                System.arraycopy(old, p, log, q, 4);
                logSize += 4;
                table[i] = (m & ~LOW) | (q / 4 + 1);
                occupied++;
            }
        }
    }

    long maxIds() {
        return maxIds;
    }

    long windowMs() {
        return windowMs;
    }
}
