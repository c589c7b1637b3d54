package dev.vigil.common.histogram;

import java.util.Map;
import java.util.TreeMap;

/**
 * Counts per {@link LogBuckets} key, with exact count/sum/min/max beside them. Additive: two
 * histograms merge by adding counts, so partial flushes and replays compose.
 */
public final class LogHistogram {
    private final TreeMap<Integer, Long> counts = new TreeMap<>();
    private long count;
    private double sum;
    private double min = Double.POSITIVE_INFINITY;
    private double max = Double.NEGATIVE_INFINITY;

    public void add(double v) {
        counts.merge(LogBuckets.key(v), 1L, Long::sum);
        count++;
        sum += v;
        min = Math.min(min, v);
        max = Math.max(max, v);
    }

    public void addBucket(int key, long n) {
        if (n <= 0) {
            return;
        }
        counts.merge(key, n, Long::sum);
        count += n;
    }

    public void merge(LogHistogram o) {
        o.counts.forEach((k, n) -> counts.merge(k, n, Long::sum));
        count += o.count;
        sum += o.sum;
        min = Math.min(min, o.min);
        max = Math.max(max, o.max);
    }

    public long count() {
        return count;
    }

    public double sum() {
        return sum;
    }

    public Map<Integer, Long> buckets() {
        return counts;
    }

    /**
     * The q-quantile (0..1) by the nearest-rank definition, answered with the representative of
     * the bucket holding that rank: within 1% of the exact order statistic. NaN when empty.
     */
    public double quantile(double q) {
        if (count == 0) {
            return Double.NaN;
        }
        long rank = Math.max(1, (long) Math.ceil(q * count));
        long seen = 0;
        for (Map.Entry<Integer, Long> e : counts.entrySet()) {
            seen += e.getValue();
            if (seen >= rank) {
                double r = LogBuckets.representative(e.getKey());
                if (!Double.isInfinite(min) && r < min) {
                    return min;
                }
                if (!Double.isInfinite(max) && r > max) {
                    return max;
                }
                return r;
            }
        }
        return max;
    }
}
