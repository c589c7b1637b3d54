package dev.vigil.aggregator;

import dev.vigil.common.codec.EventVisitor;

/**
 * The fields of the event record being processed, as offsets into its bytes: filled by
 * {@link dev.vigil.common.codec.RecordCodec#scanEvent} without allocating (one pass; a record
 * that throws leaves partial fields, which nobody reads: {@link #begin} resets them for the
 * next). One per record of a consumer thread's group ({@code Rollup.GROUP}), reused.
 */
final class EventScratch implements EventVisitor {
    byte[] buf;
    int tenantOff;
    int tenantLen;
    long time;
    int typeOff;
    int typeLen;
    int dimsOff;
    int dimsLen;
    int measureCount;
    int[] measureOff = new int[8];
    int[] measureLen = new int[8];
    double[] measureVal = new double[8];
    /** Measure names strictly ascending in byte order (as the encoder writes them): no duplicates. */
    boolean measuresAscending;
    int unitOff;
    int unitLen;
    int experimentCount;
    int eventIdOff;
    int eventIdLen;

    @Override
    public void begin(byte[] b, int to, int tl, long t, int yo, int yl) {
        buf = b;
        tenantOff = to;
        tenantLen = tl;
        time = t;
        typeOff = yo;
        typeLen = yl;
        measureCount = 0;
        measuresAscending = true;
        unitLen = -1;
        experimentCount = 0;
        eventIdLen = -1;
    }

    @Override
    public boolean wantsEachDim() {
        return false; // the series identity is the whole dims range
    }

    @Override
    public void dims(byte[] b, int off, int len, int count) {
        dimsOff = off;
        dimsLen = len;
    }

    @Override
    public void measure(byte[] b, int off, int len, double value) {
        int i = measureCount;
        if (i == measureOff.length) {
            measureOff = java.util.Arrays.copyOf(measureOff, i * 2);
            measureLen = java.util.Arrays.copyOf(measureLen, i * 2);
            measureVal = java.util.Arrays.copyOf(measureVal, i * 2);
        }
        if (i > 0 && !ascending(b, measureOff[i - 1], measureLen[i - 1], off, len)) {
            measuresAscending = false;
        }
        measureOff[i] = off;
        measureLen[i] = len;
        measureVal[i] = value;
        measureCount = i + 1;
    }

    /**
     * Whether the name at (off, len) sorts strictly after the one at (prevOff, prevLen), bytes
     * unsigned (as {@code Arrays.compareUnsigned} orders them). A loop of its own: measure names are
     * a few bytes, for which the vectorized {@code Arrays} method's stub call cost more than the
     * comparison (1.5 % of the consumer thread, async-profiler).
     */
    static boolean ascending(byte[] b, int prevOff, int prevLen, int off, int len) {
        int n = Math.min(prevLen, len);
        for (int i = 0; i < n; i++) {
            int x = b[prevOff + i] & 0xff;
            int y = b[off + i] & 0xff;
            if (x != y) {
                return x < y;
            }
        }
        return prevLen < len;
    }

    @Override
    public void unit(byte[] b, int off, int len) {
        unitOff = off;
        unitLen = len;
    }

    @Override
    public void experiments(int count) {
        experimentCount = count;
    }

    @Override
    public void eventId(byte[] b, int off, int len) {
        eventIdOff = off;
        eventIdLen = len;
    }
}
