package dev.vigil.aggregator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** A fast 64-bit hash of byte ranges (in-memory table keys only; never stored). */
final class ByteHash {
    private static final VarHandle LE_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long M = 0x9E3779B97F4A7C15L;

    private ByteHash() {
    }

    /**
     * Mixes the bytes {@code b[off, off + len)} and their length into {@code h}. Whole words first;
     * the last 1-7 bytes without a byte loop, whose trip count follows the names' lengths: from a
     * range of 8 bytes or more, the last word, shifted so that only the bytes not yet mixed
     * remain; from a shorter one, two 4-byte reads that overlap, or for 1-3 bytes the first,
     * middle and last byte. Every byte of the range reaches the hash, and nothing outside it is
     * read. With this and one range for the type and dims, a series' hash takes half the time it
     * took with the loop (docs/aggregator-performance.md).
     */
    static long hash(long h, byte[] b, int off, int len) {
        int i = off;
        int end = off + len;
        while (i + 8 <= end) {
            h = Long.rotateLeft((h ^ (long) LE_LONG.get(b, i)) * M, 31);
            i += 8;
        }
        int rem = end - i;
        long tail;
        if (rem == 0) {
            tail = 0;
        } else if (len >= 8) {
            tail = (long) LE_LONG.get(b, end - 8) >>> (64 - 8 * rem);
        } else if (rem >= 4) {
            tail = ((int) LE_INT.get(b, i) & 0xFFFFFFFFL) | (long) (int) LE_INT.get(b, end - 4) << 32;
        } else {
            tail = (b[i] & 0xffL) | (b[i + (rem >> 1)] & 0xffL) << 8 | (b[end - 1] & 0xffL) << 16;
        }
        // the length apart from the tail: a 4-7-byte tail fills all 64 bits, where len << 56 would
        // collide with its top byte ("aaaa" and "aaaa`")
        return Long.rotateLeft((h ^ tail) * M, 31) ^ len;
    }

    /**
     * Equality of two byte ranges. Short ranges (names, tenants, a series' identity bytes: mostly
     * under 40 bytes) compare 8 or 4 bytes at a time, the last word overlapping the one before;
     * longer ones use the vectorized {@code Arrays.equals}, whose range checks and stub call cost
     * more than they save below that. Fewer instructions than the byte loop it replaced, but the
     * profile share stayed at 5-7 % of the events job's consumer samples (async-profiler): what a
     * comparison mostly pays is the first touch of a cache entry's key, a cache miss.
     */
    static boolean eq(byte[] a, int ao, byte[] b, int bo, int len) {
        if (len >= 8) {
            if (len > 40) {
                return java.util.Arrays.equals(a, ao, ao + len, b, bo, bo + len);
            }
            int last = len - 8;
            for (int i = 0; i < last; i += 8) {
                if ((long) LE_LONG.get(a, ao + i) != (long) LE_LONG.get(b, bo + i)) {
                    return false;
                }
            }
            return (long) LE_LONG.get(a, ao + last) == (long) LE_LONG.get(b, bo + last);
        }
        if (len >= 4) {
            return (int) LE_INT.get(a, ao) == (int) LE_INT.get(b, bo)
                    && (int) LE_INT.get(a, ao + len - 4) == (int) LE_INT.get(b, bo + len - 4);
        }
        // 0-3 bytes: the first, middle and last byte cover them all, without a loop
        return len == 0 || a[ao] == b[bo] && a[ao + (len >> 1)] == b[bo + (len >> 1)] && a[ao + len - 1] == b[bo + len - 1];
    }

    static int finish(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return (int) h;
    }
}
