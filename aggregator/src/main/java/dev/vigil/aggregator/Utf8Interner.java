package dev.vigil.aggregator;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * UTF-8 byte ranges to Strings (measure names): the same String instance for the same bytes, no
 * allocation on a hit. Bounded: cleared when it holds {@code maxEntries}, or names of more than {@code maxBytes} in all
 * (counted as their bytes twice, the key's copy and the String's, plus overheads); a name longer than that on its own
 * is not kept. Why bytes too: a writer other than the gateway (whose names are at most 128 characters by default) may
 * send names as long as a record, and 4,096 of those would be gigabytes. One thread only.
 */
final class Utf8Interner {
    private final int maxEntries;
    private final long maxBytes;
    /** What the kept names hold, as counted by {@link #cost}. */
    private long bytes;
    private byte[][] keys = new byte[64][];
    private String[] vals = new String[64];
    private int[] hashes = new int[64];
    private int size;

    /** The bytes and String last returned for each position (see {@link #get(int, byte[], int, int)}). */
    private final byte[][] lastBytes = new byte[8][];
    private final String[] last = new String[8];

    /** A byte bound far above 4,096 names of the gateway's 128 characters (~2.5 MiB). */
    static final long DEFAULT_MAX_BYTES = 8L << 20;

    Utf8Interner(int maxEntries) {
        this(maxEntries, DEFAULT_MAX_BYTES);
    }

    Utf8Interner(int maxEntries, long maxBytes) {
        this.maxEntries = maxEntries;
        this.maxBytes = maxBytes;
    }

    /**
     * {@link #get(byte[], int, int)} for the name at {@code position} of a record (e.g. its i-th
     * measure): records of a stream usually carry the same names in the same order, so the bytes are
     * first compared with those last seen at that position, without hashing.
     */
    String get(int position, byte[] b, int off, int len) {
        if (position >= lastBytes.length) {
            return get(b, off, len);
        }
        byte[] l = lastBytes[position];
        if (l != null && l.length == len && ByteHash.eq(l, 0, b, off, len)) {
            return last[position];
        }
        String s = get(b, off, len);
        lastBytes[position] = Arrays.copyOfRange(b, off, off + len);
        last[position] = s;
        return s;
    }

    String get(byte[] b, int off, int len) {
        int h = ByteHash.finish(ByteHash.hash(0x13198A2E03707344L, b, off, len));
        int mask = keys.length - 1;
        int i = h & mask;
        while (true) {
            byte[] k = keys[i];
            if (k == null) {
                break;
            }
            if (hashes[i] == h && k.length == len && ByteHash.eq(k, 0, b, off, len)) {
                return vals[i];
            }
            i = (i + 1) & mask;
        }
        String s = new String(b, off, len, StandardCharsets.UTF_8);
        long c = cost(len);
        if (c > maxBytes) {
            return s; // not kept: it alone would pass the bound
        }
        if (size >= maxEntries || bytes + c > maxBytes) {
            keys = new byte[64][];
            vals = new String[64];
            hashes = new int[64];
            size = 0;
            bytes = 0;
        }
        bytes += c;
        if ((size + 1) * 2 > keys.length) {
            byte[][] ok = keys;
            String[] ov = vals;
            int[] oh = hashes;
            keys = new byte[ok.length * 2][];
            vals = new String[ok.length * 2];
            hashes = new int[ok.length * 2];
            for (int j = 0; j < ok.length; j++) {
                if (ok[j] != null) {
                    put(ok[j], ov[j], oh[j]);
                }
            }
        }
        put(Arrays.copyOfRange(b, off, off + len), s, h);
        size++;
        return s;
    }

    /**
     * A kept name's heap, counted high: the key's copy and the String's bytes at twice the UTF-8 length each (a String
     * may hold UTF-16; the key holds the UTF-8 bytes once, so this overstates it), and headers.
     */
    private static long cost(int len) {
        return 2L * len + 2L * len + 96;
    }

    /** What the kept names hold, as counted (for tests). */
    long bytesHeld() {
        return bytes;
    }

    private void put(byte[] k, String v, int h) {
        int mask = keys.length - 1;
        int i = h & mask;
        while (keys[i] != null) {
            i = (i + 1) & mask;
        }
        keys[i] = k;
        vals[i] = v;
        hashes[i] = h;
    }
}
