package dev.vigil.aggregator;

/**
 * The per-partition store of client event ids already accepted, for dropping client retries.
 * Keys are 128-bit hashes of (tenant, event_id); each entry keeps the Kafka offset and record
 * timestamp of the accepted occurrence.
 *
 * <p>The duplicate rule is a pure function of the partition's records, so a replay after a
 * crash decides exactly as the first run did: the record at offset {@code o} with id {@code x}
 * is a duplicate iff an earlier accepted occurrence of {@code x} has offset {@code >= o - maxIds}
 * and record time {@code >= watermark(o) - window}, where {@code watermark(o)} is the largest
 * record timestamp at or before {@code o}. Entries outside those bounds never match, so
 * dropping them (garbage collection) changes no decision, and a store rebuilt from
 * {@code vigil_seen_ids} (ids with offset in {@code [r - maxIds, r)} and time {@code >=
 * watermark(r) - window}) is equivalent to the one the crashed process had at offset r.
 * Memory: at most 2 * maxIds entries of 32 bytes (one long[] of 4 longs per slot).
 */
final class SeenIds {
    /*
     * One interleaved table, 4 longs per slot (id hi, id lo, offset + 1, record time), so a
     * probe reads one cache line where five parallel arrays read five: most lookups are misses
     * (a new id), and at the table's load those walk several slots (JFR: 8 % of the aggregator's
     * samples were in slot() with parallel arrays). offset + 1 == 0 marks an empty slot.
     */
    private static final int HI = 0;
    private static final int LO = 1;
    private static final int OFF = 2;
    private static final int TS = 3;

    private final long maxIds;
    private final long windowMs;
    private long[] t;
    private int mask;
    private int size;

    SeenIds(long maxIds, long windowMs) {
        this.maxIds = maxIds;
        this.windowMs = windowMs;
        alloc(1024);
    }

    private void alloc(int cap) {
        t = new long[cap * 4];
        mask = cap - 1;
        size = 0;
    }

    int size() {
        return size;
    }

    /** Index (into t) of (h, l)'s slot, or of the empty slot where it would go. */
    private int slot(long h, long l) {
        long[] a = t;
        int i = (int) (SeriesIds.fmix64(h ^ (l * 31)) & mask);
        while (true) {
            int b = i << 2;
            if (a[b + OFF] == 0 || (a[b + HI] == h && a[b + LO] == l)) {
                return b;
            }
            i = (i + 1) & mask;
        }
    }

    /** True when (h, l) was accepted within the bounds relative to the record at {@code offset}. */
    boolean isDuplicate(long h, long l, long offset, long watermark) {
        int b = slot(h, l);
        return t[b + OFF] != 0 && t[b + OFF] - 1 >= offset - maxIds && t[b + TS] >= watermark - windowMs;
    }

    /** Records an accepted occurrence. */
    void accept(long h, long l, long offset, long recordTs, long watermark) {
        int b = slot(h, l);
        if (t[b + OFF] == 0) {
            if ((size + 1) * 4L > (mask + 1) * 3L) {
                rebuild(offset, watermark);
                b = slot(h, l);
            }
            t[b + HI] = h;
            t[b + LO] = l;
            size++;
        }
        t[b + OFF] = offset + 1;
        t[b + TS] = recordTs;
    }

    /** Drops entries that can no longer match and resizes. */
    private void rebuild(long offset, long watermark) {
        long[] old = t;
        int live = 0;
        for (int b = 0; b < old.length; b += 4) {
            if (live(old, b, offset, watermark)) {
                live++;
            }
        }
        int cap = Integer.highestOneBit(Math.max(1024, live * 2)) * 2;
        alloc(cap);
        for (int b = 0; b < old.length; b += 4) {
            if (live(old, b, offset, watermark)) {
                int j = slot(old[b + HI], old[b + LO]);
                System.arraycopy(old, b, t, j, 4);
                size++;
            }
        }
    }

    private boolean live(long[] a, int b, long offset, long watermark) {
        return a[b + OFF] != 0 && a[b + OFF] - 1 >= offset - maxIds && a[b + TS] >= watermark - windowMs;
    }

    long maxIds() {
        return maxIds;
    }

    long windowMs() {
        return windowMs;
    }

}
