package dev.vigil.aggregator;

/**
 * What the consumer thread already worked out for an event's (tenant, type, dims) bytes: the
 * decoded strings, the allowed labels, the series id and the interned {@link FlushBuffer.SeriesRef}
 * (built once by the exact, String-based code), so that a repeated series costs a hash of its
 * bytes and one comparison. Keys are the raw bytes: two byte strings that decode alike get two
 * entries with equal refs, which the flush buffer merges by content. Cleared when it would hold
 * more than {@code maxEntries} or {@code maxBytes} of estimated heap (bounded under any input: a
 * series costs its key bytes, its Strings and its labels, from a hundred bytes to tens of kilobytes,
 * and a burst of new series would otherwise fill the heap before the series limits, which
 * count series but do not free them, had any effect). One consumer thread only.
 */
final class SeriesCache {
    static final class Entry {
        final byte[] key;
        final int tenantLen;
        final int typeLen;
        final int hash;
        final String tenant;
        final String type;
        final FlushBuffer.SeriesRef ref;
        /** {@link SeriesIds#idSeed} of the tenant: the part of a client id's hash that the series fixes. */
        final long idSeed;
        FlushBuffer.SeriesRef overflow;
        long admittedEpoch = -1;

        Entry(byte[] key, int tenantLen, int typeLen, int hash, String tenant, String type, FlushBuffer.SeriesRef ref) {
            this.key = key;
            this.tenantLen = tenantLen;
            this.typeLen = typeLen;
            this.hash = hash;
            this.tenant = tenant;
            this.type = type;
            this.ref = ref;
            this.idSeed = SeriesIds.idSeed(key, 0, tenantLen, new long[2]);
        }
    }

    /** An entry's own heap beyond its key bytes and its ref: the object, the key's array header, two table slots. */
    static final int ENTRY_OVERHEAD_BYTES = 64 + 16 + 16;

    private final int maxEntries;
    private final long maxBytes;
    private Entry[] table = new Entry[1024];
    private int size;
    private long bytes;
    private long resets;

    SeriesCache(int maxEntries, long maxBytes) {
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
    }

    /** The estimated heap of the entries (their refs included). */
    long bytes() {
        return bytes;
    }

    /** How many times it was cleared because it was full. */
    long resets() {
        return resets;
    }

    static int hash(EventScratch e) {
        byte[] b = e.buf;
        long h = ByteHash.hash(0x243F6A8885A308D3L, b, e.tenantOff, e.tenantLen);
        if (e.dimsOff == e.typeOff + e.typeLen) {
            // the record codec writes the dims right after the type: one range, one tail
            // (the type's length is part of the identity: get compares it)
            return ByteHash.finish(ByteHash.hash(h, b, e.typeOff, e.typeLen + e.dimsLen));
        }
        h = ByteHash.hash(h, b, e.typeOff, e.typeLen);
        h = ByteHash.hash(h, b, e.dimsOff, e.dimsLen);
        return ByteHash.finish(h);
    }

    /** The entry for the scratch's series bytes, or null. */
    Entry get(EventScratch e, int hash) {
        Entry[] t = table;
        int mask = t.length - 1;
        int i = hash & mask;
        byte[] b = e.buf;
        while (true) {
            Entry x = t[i];
            if (x == null) {
                return null;
            }
            if (x.hash == hash && x.tenantLen == e.tenantLen && x.typeLen == e.typeLen
                    && x.key.length == e.tenantLen + e.typeLen + e.dimsLen
                    && ByteHash.eq(x.key, 0, b, e.tenantOff, e.tenantLen)
                    && (e.dimsOff == e.typeOff + e.typeLen
                            // the record codec writes the dims right after the type: one range
                            ? ByteHash.eq(x.key, e.tenantLen, b, e.typeOff, e.typeLen + e.dimsLen)
                            : ByteHash.eq(x.key, e.tenantLen, b, e.typeOff, e.typeLen)
                                    && ByteHash.eq(x.key, e.tenantLen + e.typeLen, b, e.dimsOff, e.dimsLen))) {
                return x;
            }
            i = (i + 1) & mask;
        }
    }

    /** Copies the scratch's series bytes into a new entry. */
    Entry put(EventScratch e, int hash, String tenant, String type, FlushBuffer.SeriesRef ref) {
        long eb = ENTRY_OVERHEAD_BYTES + e.tenantLen + e.typeLen + e.dimsLen + (ref == null ? 0 : ref.bytes());
        if (size >= maxEntries || (size > 0 && bytes + eb > maxBytes)) {
            table = new Entry[1024];
            size = 0;
            bytes = 0;
            resets++;
        }
        bytes += eb;
        byte[] key = new byte[e.tenantLen + e.typeLen + e.dimsLen];
        System.arraycopy(e.buf, e.tenantOff, key, 0, e.tenantLen);
        System.arraycopy(e.buf, e.typeOff, key, e.tenantLen, e.typeLen);
        System.arraycopy(e.buf, e.dimsOff, key, e.tenantLen + e.typeLen, e.dimsLen);
        Entry x = new Entry(key, e.tenantLen, e.typeLen, hash, tenant, type, ref);
        if ((size + 1) * 2 > table.length) {
            Entry[] old = table;
            table = new Entry[old.length * 2];
            for (Entry o : old) {
                if (o != null) {
                    insert(o);
                }
            }
        }
        insert(x);
        size++;
        return x;
    }

    private void insert(Entry x) {
        int mask = table.length - 1;
        int i = x.hash & mask;
        while (table[i] != null) {
            i = (i + 1) & mask;
        }
        table[i] = x;
    }

    int size() {
        return size;
    }
}
