package dev.vigil.aggregator;

import java.util.Arrays;

/** A small open-addressing int-to-long counter map (histogram buckets), no boxing. */
final class IntLongMap {
    private static final int EMPTY = Integer.MIN_VALUE;
    private int[] keys;
    private long[] vals;
    private int size;

    IntLongMap() {
        keys = new int[8];
        Arrays.fill(keys, EMPTY);
        vals = new long[8];
    }

    /** Adds {@code n} to {@code key}'s count; returns the bytes its arrays grew by (0 unless it doubled them). */
    int add(int key, long n) {
        int mask = keys.length - 1;
        int i = mix(key) & mask;
        while (true) {
            int k = keys[i];
            if (k == key) {
                vals[i] += n;
                return 0;
            }
            if (k == EMPTY) {
                keys[i] = key;
                vals[i] = n;
                if (++size * 2 > keys.length) {
                    int before = keys.length;
                    grow();
                    return 12 * (keys.length - before);
                }
                return 0;
            }
            i = (i + 1) & mask;
        }
    }

    private static int mix(int k) {
        int h = k * 0x9E3779B9;
        return h ^ (h >>> 16);
    }

    private void grow() {
        int[] ok = keys;
        long[] ov = vals;
        keys = new int[ok.length * 2];
        Arrays.fill(keys, EMPTY);
        vals = new long[ok.length * 2];
        size = 0;
        for (int i = 0; i < ok.length; i++) {
            if (ok[i] != EMPTY) {
                add(ok[i], ov[i]);
            }
        }
    }

    int size() {
        return size;
    }

    /** The heap of its arrays and itself, as allocated (12 bytes a slot; twice the entries at most). */
    int bytes() {
        return 24 + 2 * Hist.ARRAY_HEADER + 12 * keys.length;
    }

    /** A key and its count. */
    interface EntryConsumer {
        void accept(int key, long n);
    }

    /** Every entry, in no particular order. */
    void forEach(EntryConsumer to) {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != EMPTY) {
                to.accept(keys[i], vals[i]);
            }
        }
    }

    /** The keys, ascending. */
    int[] sortedKeys() {
        int[] ks = new int[size];
        int j = 0;
        for (int k : keys) {
            if (k != EMPTY) {
                ks[j++] = k;
            }
        }
        Arrays.sort(ks);
        return ks;
    }

    /** Writes the map as RowBinary Map(Int32, UInt64), keys ascending (deterministic bytes). */
    void writeTo(RowBinary rb) {
        int[] ks = new int[size];
        int j = 0;
        for (int k : keys) {
            if (k != EMPTY) {
                ks[j++] = k;
            }
        }
        Arrays.sort(ks);
        rb.leb128(size);
        for (int k : ks) {
            rb.i32(k).i64(get(k));
        }
    }

    long get(int key) {
        int mask = keys.length - 1;
        int i = mix(key) & mask;
        while (true) {
            int k = keys[i];
            if (k == key) {
                return vals[i];
            }
            if (k == EMPTY) {
                return 0;
            }
            i = (i + 1) & mask;
        }
    }
}
