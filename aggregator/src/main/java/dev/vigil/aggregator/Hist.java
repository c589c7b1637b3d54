package dev.vigil.aggregator;

/**
 * Bucket counts of one pre-aggregated row ({@link dev.vigil.common.histogram.LogBuckets} keys):
 * a dense window of 8-bit counters (adjacent keys adjacent in memory, so the hot buckets of a
 * value distribution share cache lines) that grows up to {@link #MAX_WINDOW} keys, and a sparse
 * {@link IntLongMap} for keys outside it (e.g. zero and negative values beside positive ones)
 * and for what an 8-bit counter cannot hold (it spills 256 to the map each time it wraps). A
 * key's count is the sum of both. Memory per row is bounded by the window plus the distinct
 * outliers. Written exactly like a sorted map (same bytes as {@link IntLongMap#writeTo}); an
 * empty one writes an empty map.
 *
 * <p>Why 8 bits: the increment is the consumer thread's largest single cost and it is a cache
 * miss (thousands of live rows per flush, ~300 hot buckets each for a latency); with 16-bit
 * counters the rows of one flush did not fit the L2 cache. A spill every 256 counts of one
 * bucket costs one map update.
 */
class Hist {
    static final int MAX_WINDOW = 4096;
    private static final int INITIAL = 64;
    private int base;
    private byte[] dense;
    private IntLongMap rest;

    /** An array's header (12 bytes, and the length), as {@link FlushBuffer}'s estimates count it. */
    static final int ARRAY_HEADER = 16;

    /**
     * Adds one count of {@code key}. Returns the bytes this histogram's arrays grew by (0 for the usual increment; the
     * window's growth or the map's), so that the buffer's heap estimate counts each window as allocated: a row's window
     * spans from a few keys to {@link #MAX_WINDOW} bytes, depending on the values, not on the number of rows.
     */
    final int addKey(int key) {
        byte[] d = dense;
        if (d != null) {
            int i = key - base;
            if (i >= 0 && i < d.length) {
                if (++d[i] == 0) { // wrapped from 255: those 256 counts move to the map
                    return spill(key, 256);
                }
                return 0;
            }
            int before = d.length;
            if (widen(key)) {
                return dense.length - before + addKey(key);
            }
            return spill(key, 1);
        }
        dense = new byte[INITIAL];
        base = key - INITIAL / 2;
        dense[INITIAL / 2] = 1;
        return ARRAY_HEADER + INITIAL;
    }

    private int spill(int key, long n) {
        if (rest == null) {
            rest = new IntLongMap();
            return rest.bytes() + rest.add(key, n);
        }
        return rest.add(key, n);
    }

    /** Grows the window to cover {@code key} if it stays within MAX_WINDOW keys. */
    private boolean widen(int key) {
        long lo = Math.min((long) base, key);
        long hi = Math.max((long) base + dense.length - 1, key);
        long need = hi - lo + 1;
        if (need > MAX_WINDOW) {
            return false;
        }
        int len = (int) Math.min(MAX_WINDOW, Math.max(need + need / 4, 2L * dense.length));
        // keep the old counts, with the slack on the side the window grew
        long newBase = key < base ? hi - len + 1 : lo;
        byte[] nd = new byte[len];
        System.arraycopy(dense, 0, nd, (int) (base - newBase), dense.length);
        dense = nd;
        base = (int) newBase;
        return true;
    }

    /** Adds every bucket count of this histogram to {@code to} (a coarser row's histogram). */
    final void addHistTo(FlushBuffer.WideHist to) {
        if (dense != null) {
            to.addWindow(base, dense);
        }
        if (rest != null) {
            rest.forEach(to::add);
        }
    }

    final long histGet(int key) {
        long n = rest == null ? 0 : rest.get(key);
        if (dense != null) {
            int i = key - base;
            if (i >= 0 && i < dense.length) {
                n += dense[i] & 0xff;
            }
        }
        return n;
    }

    /** RowBinary Map(Int32, UInt64), keys ascending, each key once. */
    final void writeHist(RowBinary rb) {
        int[] rk = rest == null ? new int[0] : rest.sortedKeys();
        rb.leb128(mergedSize(rk));
        int j = 0;
        if (dense != null) {
            for (int i = 0; i < dense.length; i++) {
                if (dense[i] == 0) {
                    continue;
                }
                int k = base + i;
                while (j < rk.length && rk[j] < k) {
                    rb.i32(rk[j]).i64(rest.get(rk[j]));
                    j++;
                }
                long n = dense[i] & 0xff;
                if (j < rk.length && rk[j] == k) {
                    n += rest.get(k);
                    j++;
                }
                rb.i32(k).i64(n);
            }
        }
        while (j < rk.length) {
            rb.i32(rk[j]).i64(rest.get(rk[j]));
            j++;
        }
    }

    private int mergedSize(int[] rk) {
        int n = rk.length;
        if (dense != null) {
            for (int i = 0; i < dense.length; i++) {
                if (dense[i] != 0 && (rest == null || rest.get(base + i) == 0)) {
                    n++;
                }
            }
        }
        return n;
    }

    final int histSize() {
        return mergedSize(rest == null ? new int[0] : rest.sortedKeys());
    }
}
