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
 * {@code vigil_seen_id_blocks} (ids with offset in {@code [r - maxIds, r)} and time {@code >=
 * watermark(r) - window}) is equivalent to the one the crashed process had at offset r.
 * Memory: at most 2 * maxIds entries of 32 bytes.
 */
final class SeenIds {
    private final long maxIds;
    private final long windowMs;
    private long[] hi;
    private long[] lo;
    private long[] off;
    private long[] ts;
    private boolean[] used;
    private int size;

    SeenIds(long maxIds, long windowMs) {
        this.maxIds = maxIds;
        this.windowMs = windowMs;
        alloc(1024);
    }

    private void alloc(int cap) {
        hi = new long[cap];
        lo = new long[cap];
        off = new long[cap];
        ts = new long[cap];
        used = new boolean[cap];
        size = 0;
    }

    int size() {
        return size;
    }

    private int slot(long h, long l) {
        int mask = used.length - 1;
        int i = (int) (SeriesIds.fmix64(h ^ (l * 31)) & mask);
        while (used[i] && !(hi[i] == h && lo[i] == l)) {
            i = (i + 1) & mask;
        }
        return i;
    }

    /** True when (h, l) was accepted within the bounds relative to the record at {@code offset}. */
    boolean isDuplicate(long h, long l, long offset, long watermark) {
        int i = slot(h, l);
        return used[i] && off[i] >= offset - maxIds && ts[i] >= watermark - windowMs;
    }

    /** Records an accepted occurrence. */
    void accept(long h, long l, long offset, long recordTs, long watermark) {
        int i = slot(h, l);
        if (!used[i]) {
            if ((size + 1) * 4L > used.length * 3L) {
                rebuild(offset, watermark);
                i = slot(h, l);
            }
            used[i] = true;
            hi[i] = h;
            lo[i] = l;
            size++;
        }
        off[i] = offset;
        ts[i] = recordTs;
    }

    /** Drops entries that can no longer match and resizes. */
    private void rebuild(long offset, long watermark) {
        long[] oh = hi;
        long[] ol = lo;
        long[] oo = off;
        long[] ot = ts;
        boolean[] ou = used;
        int live = 0;
        for (int i = 0; i < ou.length; i++) {
            if (ou[i] && oo[i] >= offset - maxIds && ot[i] >= watermark - windowMs) {
                live++;
            }
        }
        int cap = Integer.highestOneBit(Math.max(1024, live * 2)) * 2;
        alloc(cap);
        for (int i = 0; i < ou.length; i++) {
            if (ou[i] && oo[i] >= offset - maxIds && ot[i] >= watermark - windowMs) {
                int j = slot(oh[i], ol[i]);
                used[j] = true;
                hi[j] = oh[i];
                lo[j] = ol[i];
                off[j] = oo[i];
                ts[j] = ot[i];
                size++;
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
