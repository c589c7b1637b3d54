package dev.vigil.promql.storage;

/** The Prometheus staleness marker: a NaN with a special bit pattern. */
public final class StaleNaN {
    private StaleNaN() {}
    public static final long BITS = 0x7ff0000000000002L;
    public static final double VALUE = Double.longBitsToDouble(BITS);

    public static boolean is(double v) { return Double.doubleToRawLongBits(v) == BITS; }
}
