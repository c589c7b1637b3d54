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
 * dropping them changes no decision, and a store rebuilt from the ids with offset in
 * {@code [r - maxIds, r)} and time {@code >= watermark(r) - window} (the records a flush marked as
 * accepted, re-read from Kafka) is equivalent to the one the crashed process had at offset r.
 *
 * <p>Layout, for the hot path (almost every id is new, and ids arrive in offset order):
 * <ul>
 * <li>a ring of accepted occurrences (hi, lo, offset, time) in acceptance order, numbered by a
 * sequence; an occurrence whose offset falls out of the record window leaves at the ring's head,
 * so the ring holds at most maxIds + 1;
 * <li>a table of 8-byte slots, open addressing: a used bit, 31 bits of the key's hash (its home slot and
 * a fingerprint) and the low 32 bits of the occurrence's sequence. A slot whose sequence left the
 * ring is a tombstone, known as such without reading the ring, and the next new key whose probe
 * passes it takes it.
 * </ul>
 * A new id costs one random cache line of the table and a sequential write to the ring; the
 * ring is read at random only when a fingerprint matches. The table is rebuilt (tombstones
 * dropped) when live and dead slots reach three quarters of it, from the slots alone, in the same array when its
 * size stays (the steady state: {@link #rebuildInPlace}). Earlier
 * layouts kept five parallel arrays (five random cache lines per new id, 17 % of a consumer
 * thread) and then a log rewritten and rehashed every ~0.6 x live ids (9 % of a consumer thread).
 * Memory: the ring is at most 32 bytes x the next power of two above maxIds, the table 8 bytes
 * x 4 to 8 times the live ids.
 *
 * <p>Ids of the gateway's batch form ({@code <batch_id>#<index>}, {@link #batchForm}) take the same ring and rule but
 * not the table: an entry per (tenant, batch id) holds each index's occurrence ({@link Batch}, {@link #firstSightBatch}).
 */
final class SeenIds {
    private static final long LOW = 0xFFFF_FFFFL;
    /** Set in every used slot's hash half, so no used slot is 0 (the table's home bits are below it). */
    private static final long USED = 1L << 63;
    private static final int MIN_CAPACITY = 1024;
    /** Sequences a slot may lag the newest by: a rebuild at least this often keeps 32-bit sequences unambiguous. */
    private static final long REBUILD_EVERY = 1L << 30;
    /** Keeps the table's size (8 x live, a power of two) an int and the sequences within 2^31 of each other. */
    static final long MAX_IDS = 1L << 27;

    private final long maxIds;
    private final long windowMs;
    /** Sequence of the first occurrence after {@link #clear}: 0, or near a 32-bit boundary in tests. */
    private final long firstSequence;
    private final long rebuildEvery;
    /** 0 = empty; else USED | (hash low 31 bits << 32) | (sequence & LOW). */
    private long[] table;
    /** Used slots, live or tombstones. */
    private int used;
    /** Entries of 4 longs (hi, lo, offset, time); sequence s is at (s & (ring length / 4 - 1)) * 4. */
    private long[] ring;
    /** Sequence of the oldest occurrence in the ring, and of the next one. */
    private long head;
    private long tail;
    private long rebuiltAt;
    /** Rebuilds that kept the table's array ({@link #rebuildInPlace}): for tests. */
    long inPlaceRebuilds;
    /** Entries of batch-form ids, open addressing on (prefix hash); {@link #TOMB} marks a released entry's slot. */
    private Batch[] batches;
    /** Slots of {@link #batches} in use: entries (live or dead) and tombstones. */
    private int batchesUsed;
    /** The entry of the last batch-form id seen: a batch's records usually follow one another in a partition. */
    private Batch lastBatch;
    /** Slots of the entries held (in {@link #order} and {@link #spares}), for {@link #approxBytes}. */
    private long batchSlots;

    SeenIds(long maxIds, long windowMs) {
        this(maxIds, windowMs, 0, REBUILD_EVERY);
    }

    /** For tests: sequences from {@code firstSequence} (to cross 32-bit boundaries), a forced rebuild every {@code rebuildEvery}. */
    SeenIds(long maxIds, long windowMs, long firstSequence, long rebuildEvery) {
        if (maxIds < 0 || maxIds > MAX_IDS) {
            throw new IllegalArgumentException("maxIds must be within [0, " + MAX_IDS + "]: " + maxIds);
        }
        if (rebuildEvery < 1 || rebuildEvery > REBUILD_EVERY) {
            throw new IllegalArgumentException("rebuildEvery must be within [1, " + REBUILD_EVERY + "]: " + rebuildEvery);
        }
        this.maxIds = maxIds;
        this.windowMs = windowMs;
        this.firstSequence = firstSequence;
        this.rebuildEvery = rebuildEvery;
        clear();
    }

    /** Forgets every id (before the store is loaded again). */
    void clear() {
        table = new long[MIN_CAPACITY];
        used = 0;
        ring = new long[4 * MIN_CAPACITY];
        head = firstSequence;
        tail = firstSequence;
        rebuiltAt = firstSequence;
        batches = new Batch[MIN_BATCHES];
        batchesUsed = 0;
        lastBatch = null;
        order.clear();
        batchSlots = 0;
        for (Batch b : spares) {
            batchSlots += b.index.length;
        }
    }

    /** An entry's heap besides its slots: the object (56 bytes), its two arrays' headers, its place in a deque. */
    private static final long BATCH_OVERHEAD = 96;

    /**
     * The store's heap by its arrays and entries (the aggregator's memory estimate, {@link MemoryBudget}):
     * {@code SeenIdsTest} checks it against the heap a full window retains.
     */
    long approxBytes() {
        return HeapSizes.array(8L * table.length) + HeapSizes.array(8L * ring.length) + HeapSizes.array(4L * batches.length)
                + BATCH_OVERHEAD * (order.size() + spares.size()) + 12L * batchSlots;
    }

    private static long mix(long h, long l) {
        return SeriesIds.fmix64(h ^ (l * 31));
    }

    /** The slot's sequence, from its low 32 bits and the ring's head (all slots are within 2^31 of it). */
    private long sequence(long slot) {
        return head + (int) ((int) slot - (int) head);
    }

    private int at(long seq) {
        return (int) (seq & (ring.length / 4 - 1)) * 4;
    }

    /** Drops the occurrences that fell out of the record window of the record at {@code offset}. */
    private void expire(long offset) {
        long min = offset - maxIds;
        while (head < tail && ring[at(head) + 2] < min) {
            head++;
        }
    }

    /**
     * The slot that points to (h, l)'s live occurrence, or {@code ~slot} of where a new one goes:
     * the first tombstone on the probe, else the empty slot that ended it.
     */
    private int find(long h, long l, long hash) {
        long[] t = table;
        int mask = t.length - 1;
        long fp = hash & ~LOW;
        int free = -1;
        int i = (int) (hash >>> 32) & mask;
        for (long e; (e = t[i]) != 0; i = (i + 1) & mask) {
            long seq = sequence(e);
            if (seq < head) {
                if (free < 0) {
                    free = i;
                }
            } else if ((e & ~LOW) == fp) {
                int p = at(seq);
                if (ring[p] == h && ring[p + 1] == l) {
                    return i;
                }
            }
        }
        return ~(free >= 0 ? free : i);
    }

    private boolean inTime(int slot, long watermark) {
        return ring[at(sequence(table[slot])) + 3] >= watermark - windowMs;
    }

    /** True when (h, l) was accepted within the bounds relative to the record at {@code offset}. */
    boolean isDuplicate(long h, long l, long offset, long watermark) {
        expire(offset);
        int i = find(h, l, key(h, l));
        return i >= 0 && inTime(i, watermark);
    }

    /** Records an accepted occurrence (offsets in increasing order, as the partition is read). */
    void accept(long h, long l, long offset, long recordTs, long watermark) {
        expire(offset);
        long k = key(h, l);
        store(h, l, offset, recordTs, k, find(h, l, k));
    }

    /**
     * {@link #isDuplicate} and, when it is not, {@link #accept} with one probe: false for a
     * duplicate, true for an id accepted now.
     */
    boolean firstSight(long h, long l, long offset, long recordTs, long watermark) {
        expire(offset);
        long k = key(h, l);
        int i = find(h, l, k);
        if (i >= 0 && inTime(i, watermark)) {
            return false;
        }
        store(h, l, offset, recordTs, k, i);
        return true;
    }

    /**
     * Reads (h, l)'s home slot and returns it, doing nothing else: called for a group of ids in
     * a tight loop before they are decided, so that their cache misses overlap (the caller keeps
     * the sum, so the loads are not optimised away).
     */
    long touch(long h, long l) {
        long[] t = table;
        return t[(int) (key(h, l) >>> 32) & (t.length - 1)];
    }

    /** Live slots that {@link #find} cannot reach (an empty slot between their home and them): 0 in a sound table. For tests. */
    int unreachableLiveSlots() {
        long[] t = table;
        int mask = t.length - 1;
        int bad = 0;
        for (int i = 0; i < t.length; i++) {
            if (t[i] != 0 && sequence(t[i]) >= head) {
                for (int j = (int) (t[i] >>> 32) & mask; j != i; j = (j + 1) & mask) {
                    if (t[j] == 0) {
                        bad++;
                        break;
                    }
                }
            }
        }
        return bad;
    }

    /** The table's view of a key: USED, 31 hash bits (home slot and fingerprint), room for a sequence. */
    private static long key(long h, long l) {
        return USED | (mix(h, l) << 32 & 0x7FFF_FFFF_0000_0000L);
    }

    private void store(long h, long l, long offset, long recordTs, long k, int slot) {
        if (tail - rebuiltAt >= rebuildEvery || slot < 0 && table[~slot] == 0 && used + 1 > table.length / 4 * 3) {
            rebuild();
            slot = find(h, l, k);
        }
        long seq = append(h, l, offset, recordTs);
        // a found slot takes the key's newer occurrence (the older one stays in the ring until it expires);
        // otherwise a tombstone or an empty slot takes the key
        int i = slot >= 0 ? slot : ~slot;
        if (table[i] == 0) {
            used++;
        }
        table[i] = k | (seq & LOW);
    }

    /** Appends an occurrence to the ring (grown if full) and returns its sequence. */
    private long append(long h, long l, long offset, long recordTs) {
        if (tail - head == ring.length / 4) {
            growRing();
        }
        long seq = tail++;
        int p = at(seq);
        ring[p] = h;
        ring[p + 1] = l;
        ring[p + 2] = offset;
        ring[p + 3] = recordTs;
        return seq;
    }

    private void growRing() {
        long[] old = ring;
        int oldMask = old.length / 4 - 1;
        ring = new long[old.length * 2];
        for (long s = head; s < tail; s++) {
            System.arraycopy(old, (int) (s & oldMask) * 4, ring, at(s), 4);
        }
    }

    /** Drops the tombstones and sizes the table at 4 to 8 times the live slots (package-private for tests). */
    void rebuild() {
        long[] old = table;
        int live = 0;
        for (long e : old) {
            if (e != 0 && sequence(e) >= head) {
                live++;
            }
        }
        int size = Integer.highestOneBit(Math.max(MIN_CAPACITY, live * 4)) * 2;
        if (size == old.length) {
            rebuildInPlace();
            inPlaceRebuilds++;
        } else {
            long[] t = new long[size];
            int mask = t.length - 1;
            for (long e : old) {
                if (e != 0 && sequence(e) >= head) {
                    int i = (int) (e >>> 32) & mask;
                    while (t[i] != 0) {
                        i = (i + 1) & mask;
                    }
                    t[i] = e;
                }
            }
            table = t;
        }
        used = live;
        rebuiltAt = tail;
    }

    /**
     * {@link #rebuild} into the same array, when the size stays (the steady state: a full window's live ids). Why: a new
     * table is a humongous allocation for G1 (16 MB at the default window, every ~1 M ids a partition), and with the
     * retry stores in the old generation those allocations started a concurrent mark cycle every ~1.5 s while a job read
     * a backlog (0.11-0.27 cores of GC threads, docs/aggregator-performance.md, "ninth session").
     *
     * <p>Knuth's reinsertion in place: the tombstones are emptied, then every entry, in slot order from a slot that was
     * empty before (so that no entry's probe path crosses it), is taken out and put back at the first empty slot from its
     * home. That slot is at or before the one it left, and the slots emptied later all come after it, so no probe path
     * of an entry already put back ever gets a hole: every live entry stays reachable.
     */
    private void rebuildInPlace() {
        long[] t = table;
        int mask = t.length - 1;
        int start = 0;
        while (t[start] != 0) { // one exists: at most three quarters of the slots are used
            start++;
        }
        for (int i = 0; i < t.length; i++) {
            if (t[i] != 0 && sequence(t[i]) < head) {
                t[i] = 0;
            }
        }
        for (int k = 1; k < t.length; k++) {
            int i = (start + k) & mask;
            long e = t[i];
            if (e == 0 || ((int) (e >>> 32) & mask) == i) {
                continue;
            }
            t[i] = 0;
            int j = (int) (e >>> 32) & mask;
            while (t[j] != 0) {
                j = (j + 1) & mask;
            }
            t[j] = e;
        }
    }

    // ---------------------------------------------------------------- batch-form ids

    private static final int MIN_BATCHES = 64;
    /** Indices of more digits than this are not batch-form (the id is kept whole). */
    private static final int MAX_INDEX_DIGITS = 6;

    /**
     * Whether the id {@code b[off, off + len)} is batch-form, {@code prefix#index} as the gateway derives an event's id
     * from its batch's id and its position: a non-empty prefix, then {@code #}, then 1-6 decimal digits without a leading
     * zero (except "0"). Returns {@code prefix length << 32 | index}, or -1 if the id is not of that form. A pure function
     * of the id's bytes: an id is always kept the same way, so the two ways never disagree about one id (an id such as
     * {@code "a#01"} is not batch-form and is kept whole, as an id distinct from {@code "a#1"}).
     */
    static long batchForm(byte[] b, int off, int len) {
        int p = off + len - 1;
        int index = 0;
        int scale = 1;
        int digits = 0;
        while (p > off && digits <= MAX_INDEX_DIGITS) {
            int c = b[p] - '0';
            if (c < 0 || c > 9) {
                break;
            }
            index += c * scale;
            scale *= 10;
            digits++;
            p--;
        }
        if (digits == 0 || digits > MAX_INDEX_DIGITS || p <= off || b[p] != '#' || digits > 1 && b[p + 1] == '0') {
            return -1;
        }
        return (long) (p - off) << 32 | index;
    }

    /**
     * The store's key of a client id: for a batch-form id ({@link #batchForm}) its prefix's {@link SeriesIds#idHash} into
     * {@code out} and its index returned, otherwise the whole id's hash and -1. {@code seed}: the tenant's
     * {@link SeriesIds#idSeed}. The hot path, the decoding path and recovery all key ids with it.
     */
    static int key(long seed, byte[] id, int off, int len, long[] out) {
        return key(seed, id, off, len, batchForm(id, off, len), out);
    }

    /** {@link #key(long, byte[], int, int, long[])} with the id's {@link #batchForm} already known (the hot path's). */
    static int key(long seed, byte[] id, int off, int len, long form, long[] out) {
        if (form < 0) {
            SeriesIds.idHash(seed, id, off, len, out);
            return -1;
        }
        SeriesIds.idHash(seed, id, off, (int) (form >>> 32), out);
        return (int) form;
    }

    /** {@link #key(long, byte[], int, int, long[])} of the Strings' UTF-8 bytes. */
    static int key(String tenant, String eventId, long[] out) {
        byte[] t = tenant.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] id = eventId.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return key(SeriesIds.idSeed(t, 0, t.length, out), id, 0, id.length, out);
    }

    /**
     * The batch-form ids of one (tenant, prefix) accepted in the window: for each index, the sequence of its live
     * occurrence in the ring (offset and time are there). Open addressing on the index; a slot whose sequence left the
     * ring is a tombstone, taken by the next index whose probe passes it. The entry is dead once its newest occurrence
     * left the ring ({@link #release} then takes it out of {@link #batches} for reuse). Why: a batch's records usually follow one
     * another in a partition, so the entry stays in the cache while they are decided, instead of one random slot of
     * the main table (tens of MB at the default window) per id; and the prefix is hashed once per run of its records.
     */
    static final class Batch {
        long ph;
        long pl;
        /** The newest sequence among its occurrences. */
        long lastSeq;
        /** The sequence at which it took its place in {@link #order}. */
        long orderSeq;
        /**
         * index + 1; 0 = empty. Two slots to begin with: a batch often has one record in a partition (one event per request,
         * or a batch whose events spread over the partitions), where eight slots made an id cost ~294 bytes instead of ~222 (SeenIdsTest).
         */
        int[] index = new int[INITIAL_SLOTS];
        long[] seq = new long[INITIAL_SLOTS];
        int used;

        /** Empties the entry for the prefix (ph, pl), keeping its arrays unless they are large. */
        Batch reset(long ph, long pl) {
            this.ph = ph;
            this.pl = pl;
            lastSeq = Long.MIN_VALUE;
            used = 0;
            if (index.length > MAX_SPARE_SLOTS) {
                index = new int[INITIAL_SLOTS];
                seq = new long[INITIAL_SLOTS];
            } else {
                java.util.Arrays.fill(index, 0);
            }
            return this;
        }
    }

    /** Entries of batch-form ids held (live, or dead and not yet released): for tests. */
    int batchEntries() {
        int n = 0;
        for (Batch x : batches) {
            n += x != null && x != TOMB ? 1 : 0;
        }
        return n;
    }

    /** Marks the slot of an entry taken out of {@link #batches}. */
    private static final Batch TOMB = new Batch();
    /** A new entry's slots (a power of two). */
    private static final int INITIAL_SLOTS = 2;
    /** Entries kept for reuse, with their arrays of at most this many slots. */
    private static final int SPARES = 64;
    private static final int MAX_SPARE_SLOTS = 1024;
    /** The entries in {@link #batches}, in the order they were created (which is about the order they die in). */
    private final java.util.ArrayDeque<Batch> order = new java.util.ArrayDeque<>();
    private final java.util.ArrayDeque<Batch> spares = new java.util.ArrayDeque<>();

    /**
     * Takes the dead entries at the head of {@link #order} out of the table, so that memory follows the live ids. A
     * live head that took an id more than a quarter of the window after its place in the order (a batch whose records
     * came late) moves to the back instead of holding the release of the entries behind it, so a dead entry waits at
     * most about a quarter of the window. The taken entries are reused, arrays and all: a new batch then allocates
     * nothing.
     */
    private void release() {
        for (int moved = 0; ; ) {
            Batch d = order.peekFirst();
            if (d == null) {
                return;
            }
            if (d.lastSeq >= head) {
                if (d.lastSeq - d.orderSeq <= maxIds / 4 || moved++ == 2) {
                    return;
                }
                order.pollFirst();
                d.orderSeq = d.lastSeq;
                order.addLast(d);
                continue;
            }
            order.pollFirst();
            Batch[] t = batches;
            int mask = t.length - 1;
            for (int i = (int) mix(d.ph, d.pl) & mask; t[i] != null; i = (i + 1) & mask) {
                if (t[i] == d) {
                    t[i] = TOMB;
                    break;
                }
            }
            if (d == lastBatch) {
                lastBatch = null;
            }
            if (spares.size() < SPARES) {
                spares.push(d);
            } else {
                batchSlots -= d.index.length;
            }
        }
    }

    /** The entry of (ph, pl), created if there is none; a dead one is returned as it is (all its slots are tombstones). */
    private Batch batch(long ph, long pl) {
        Batch b = lastBatch;
        if (b != null && b.ph == ph && b.pl == pl) {
            return b;
        }
        release();
        Batch[] t = batches;
        int mask = t.length - 1;
        int free = -1;
        int i = (int) mix(ph, pl) & mask;
        for (Batch x; (x = t[i]) != null; i = (i + 1) & mask) {
            if (x == TOMB) {
                if (free < 0) {
                    free = i;
                }
            } else if (x.ph == ph && x.pl == pl) {
                return lastBatch = x;
            }
        }
        if (spares.isEmpty()) {
            b = new Batch();
            batchSlots += b.index.length;
        } else {
            b = spares.pop();
        }
        int slots = b.index.length;
        b.reset(ph, pl);
        batchSlots += b.index.length - slots;
        b.orderSeq = tail;
        order.addLast(b);
        if (free >= 0) {
            t[free] = b;
        } else if (batchesUsed + 1 > t.length / 4 * 3) {
            rebuildBatches();
            insertBatch(b);
        } else {
            t[i] = b;
            batchesUsed++;
        }
        return lastBatch = b;
    }

    /** Drops the tombstones and sizes the table at 4 to 8 times the entries (dead ones not yet released included). */
    private void rebuildBatches() {
        Batch[] old = batches;
        int n = 0;
        for (Batch x : old) {
            if (x != null && x != TOMB) {
                n++;
            }
        }
        batches = new Batch[Integer.highestOneBit(Math.max(MIN_BATCHES, n * 4)) * 2];
        batchesUsed = 0;
        for (Batch x : old) {
            if (x != null && x != TOMB) {
                insertBatch(x);
            }
        }
    }

    private void insertBatch(Batch b) {
        Batch[] t = batches;
        int mask = t.length - 1;
        int i = (int) mix(b.ph, b.pl) & mask;
        while (t[i] != null) {
            i = (i + 1) & mask;
        }
        t[i] = b;
        batchesUsed++;
    }

    /** The slot of {@code index} in {@code b} (live or not), or {@code ~slot} of where it goes: the first tombstone on the probe, else the empty slot. */
    private int findIndex(Batch b, int index) {
        int[] ix = b.index;
        int mask = ix.length - 1;
        int key = index + 1;
        int free = -1;
        int i = home(index) & mask;
        for (int k; (k = ix[i]) != 0; i = (i + 1) & mask) {
            if (k == key) {
                return i;
            }
            if (free < 0 && b.seq[i] < head) {
                free = i;
            }
        }
        return ~(free >= 0 ? free : i);
    }

    /** An index's home slot before masking (indices spread, whatever their pattern). */
    private static int home(int index) {
        int h = index * 0x9E3779B1;
        return h ^ h >>> 16;
    }

    /** {@link #firstSight} of the batch-form id (prefix hash (ph, pl), index). */
    boolean firstSightBatch(long ph, long pl, int index, long offset, long recordTs, long watermark) {
        expire(offset);
        Batch b = batch(ph, pl);
        int i = findIndex(b, index);
        if (i >= 0 && b.seq[i] >= head && ring[at(b.seq[i]) + 3] >= watermark - windowMs) {
            return false;
        }
        storeBatch(b, index, i, ph, pl, offset, recordTs);
        return true;
    }

    /** {@link #accept} of the batch-form id (prefix hash (ph, pl), index). */
    void acceptBatch(long ph, long pl, int index, long offset, long recordTs, long watermark) {
        expire(offset);
        Batch b = batch(ph, pl);
        storeBatch(b, index, findIndex(b, index), ph, pl, offset, recordTs);
    }

    private void storeBatch(Batch b, int index, int slot, long ph, long pl, long offset, long recordTs) {
        if (tail - rebuiltAt >= rebuildEvery) {
            rebuild(); // the main table's 32-bit sequences stay unambiguous whichever kind of id the occurrences are
        }
        // at most three quarters of the slots used (at least one stays empty: findIndex's probe ends at one)
        if (slot < 0 && b.index[~slot] == 0 && b.used + 1 > b.index.length * 3 / 4) {
            rehash(b);
            slot = findIndex(b, index);
        }
        long seq = append(ph, pl, offset, recordTs);
        int i = slot >= 0 ? slot : ~slot;
        if (b.index[i] == 0) {
            b.used++;
        }
        b.index[i] = index + 1;
        b.seq[i] = seq;
        b.lastSeq = seq;
    }

    /** Drops an entry's tombstones and sizes its slots at 2 to 4 times the live ones (12 bytes a slot). */
    private void rehash(Batch b) {
        int[] oi = b.index;
        long[] os = b.seq;
        int live = 0;
        for (int i = 0; i < oi.length; i++) {
            if (oi[i] != 0 && os[i] >= head) {
                live++;
            }
        }
        int n = Integer.highestOneBit(Math.max(INITIAL_SLOTS, live * 2)) * 2;
        batchSlots += n - oi.length;
        b.index = new int[n];
        b.seq = new long[n];
        b.used = 0;
        int mask = n - 1;
        for (int j = 0; j < oi.length; j++) {
            if (oi[j] != 0 && os[j] >= head) {
                int i = home(oi[j] - 1) & mask;
                while (b.index[i] != 0) {
                    i = (i + 1) & mask;
                }
                b.index[i] = oi[j];
                b.seq[i] = os[j];
                b.used++;
            }
        }
    }
}
