package dev.vigil.aggregator;

import dev.vigil.common.histogram.LogBuckets;

/**
 * {@link LogBuckets#key} with its two {@code Math.pow} bound checks replaced by a table of the
 * same {@code Math.pow} values (taken from {@link LogBuckets#upperBound}), so it returns exactly
 * the same key; outside the table's range it calls LogBuckets itself.
 */
final class FastBuckets {
    private static final int KMIN = -2200;
    private static final int KMAX = 4400;
    /** POW[k - KMIN] = GAMMA^k, as LogBuckets computes it. */
    private static final double[] POW = new double[KMAX - KMIN + 1];

    static {
        for (int k = KMIN; k <= KMAX; k++) {
            POW[k - KMIN] = LogBuckets.upperBound(k);
        }
    }

    private FastBuckets() {
    }

    static int key(double v) {
        double a = Math.abs(v);
        if (!(a >= LogBuckets.MIN_MAGNITUDE) || a == Double.POSITIVE_INFINITY) {
            return LogBuckets.key(v); // zero, tiny, NaN, infinite: the reference handles (or rejects) them
        }
        int k = (int) Math.ceil(Math.log(a) / LogBuckets.LN_GAMMA);
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
