package dev.vigil.aggregator;

import dev.vigil.common.histogram.LogBuckets;

/**
 * {@link LogBuckets#key} without its {@code Math.log} and {@code Math.pow} calls, returning exactly
 * the same key. LogBuckets estimates the key from the logarithm and then moves it by one if the
 * value is not within the bucket's bounds {@code (GAMMA^(k-1), GAMMA^k]}; the key is the one
 * bucket whose bounds hold the value. Here the bounds come from a table of the same
 * {@code Math.pow} values (taken from {@link LogBuckets#upperBound}), and the estimate from the
 * double's bits: the exponent times {@code log_GAMMA(2)} plus a table of {@code log_GAMMA} at the
 * start of each 1/1024 of the mantissa's range. That estimate is below the exact logarithm by less
 * than {@code log_GAMMA(1 + 1/1024)} ≈ 0.1 (or, by rounding, a hair above it), so its ceiling is the
 * key or one off, which the bounds check then corrects, as in LogBuckets. Outside the table's range it calls LogBuckets
 * itself. Why: in one process, alternating with the {@code Math.log} version over bench-like
 * latencies, a key takes 0.45 of the time (docs/aggregator-performance.md).
 */
final class FastBuckets {
    private static final int KMIN = -2200;
    private static final int KMAX = 4400;
    /** POW[k - KMIN] = GAMMA^k, as LogBuckets computes it. */
    private static final double[] POW = new double[KMAX - KMIN + 1];

    private static final int MANTISSA_BITS = 10;
    /** LOG_MANTISSA[i] = log_GAMMA(1 + i / 1024): the logarithm at the start of the i-th slice of [1, 2). */
    private static final double[] LOG_MANTISSA = new double[1 << MANTISSA_BITS];
    private static final double LOG_GAMMA_2 = Math.log(2) / LogBuckets.LN_GAMMA;

    static {
        for (int k = KMIN; k <= KMAX; k++) {
            POW[k - KMIN] = LogBuckets.upperBound(k);
        }
        for (int i = 0; i < LOG_MANTISSA.length; i++) {
            LOG_MANTISSA[i] = Math.log1p(i / (double) LOG_MANTISSA.length) / LogBuckets.LN_GAMMA;
        }
    }

    private FastBuckets() {
    }

    static int key(double v) {
        double a = Math.abs(v);
        if (!(a >= LogBuckets.MIN_MAGNITUDE) || a == Double.POSITIVE_INFINITY) {
            return LogBuckets.key(v); // zero, tiny, NaN, infinite: the reference handles (or rejects) them
        }
        // a >= MIN_MAGNITUDE and finite: a normal double, a = 2^exponent * 1.mantissa
        long bits = Double.doubleToRawLongBits(a);
        int exponent = (int) (bits >>> 52) - 1023;
        int slice = (int) (bits >>> (52 - MANTISSA_BITS)) & ((1 << MANTISSA_BITS) - 1);
        int k = (int) Math.ceil(exponent * LOG_GAMMA_2 + LOG_MANTISSA[slice]);
        if (k - 1 < KMIN || k > KMAX) {
            return LogBuckets.key(v);
        }
        if (a > POW[k - KMIN]) {
            k++;
        } else if (a <= POW[k - 1 - KMIN]) {
            k--;
        }
        return v > 0 ? k : LogBuckets.NEGATIVE_OFFSET - k;
    }
}
