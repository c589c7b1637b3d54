package dev.vigil.common.histogram;

/**
 * The mergeable log-bucket histogram layout shared by the aggregator (which counts values per
 * bucket) and the query API (which turns buckets into quantiles and Prometheus {@code le}
 * buckets). Bucket {@code k} of positive values holds {@code (GAMMA^(k-1), GAMMA^k]} with
 * {@code GAMMA = 1.01}, so any two values in a bucket are within 1% of each other: a quantile
 * read from the bucket's bounds, or interpolated inside it as {@code histogram_quantile} does,
 * is within 1% relative error of the exact value.
 *
 * <p>Keys: positive values use {@code k} (about -2100..4200 for 1e-9..1e18); exact zero and
 * values with magnitude below {@link #MIN_MAGNITUDE} use {@link #ZERO_KEY}; negative values
 * use {@code NEGATIVE_OFFSET - k(|v|)} so that keys order like the values they hold.
 */
public final class LogBuckets {
    public static final double GAMMA = 1.01;
    public static final double LN_GAMMA = Math.log(GAMMA);
    public static final double MIN_MAGNITUDE = 1e-9;
    public static final int ZERO_KEY = -1_000_000;
    public static final int NEGATIVE_OFFSET = -2_000_000;

    private LogBuckets() {
    }

    public static int key(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            throw new IllegalArgumentException("not a finite value: " + v);
        }
        double a = Math.abs(v);
        if (a < MIN_MAGNITUDE) {
            return ZERO_KEY;
        }
        int k = (int) Math.ceil(Math.log(a) / LN_GAMMA);
        // Guard floating error at exact bucket bounds: value must be <= GAMMA^k and > GAMMA^(k-1).
        if (a > Math.pow(GAMMA, k)) {
            k++;
        } else if (a <= Math.pow(GAMMA, k - 1)) {
            k--;
        }
        return v > 0 ? k : NEGATIVE_OFFSET - k;
    }

    /** Upper bound of the bucket (the Prometheus {@code le}). */
    public static double upperBound(int key) {
        if (key == ZERO_KEY) {
            return 0.0;
        }
        if (key <= NEGATIVE_OFFSET + 100_000) {
            int k = NEGATIVE_OFFSET - key;
            return -Math.pow(GAMMA, k - 1);
        }
        return Math.pow(GAMMA, key);
    }

    /** Lower bound (exclusive) of the bucket. */
    public static double lowerBound(int key) {
        if (key == ZERO_KEY) {
            return 0.0;
        }
        if (key <= NEGATIVE_OFFSET + 100_000) {
            int k = NEGATIVE_OFFSET - key;
            return -Math.pow(GAMMA, k);
        }
        return Math.pow(GAMMA, key - 1);
    }

    /** A value in the bucket within 0.5% of every value it holds (the harmonic-ish midpoint). */
    public static double representative(int key) {
        if (key == ZERO_KEY) {
            return 0.0;
        }
        double lo = lowerBound(key);
        double hi = upperBound(key);
        return 2 * lo * hi / (lo + hi);
    }
}
