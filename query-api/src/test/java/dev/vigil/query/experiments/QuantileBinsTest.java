package dev.vigil.query.experiments;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import dev.vigil.common.histogram.LogBuckets;

class QuantileBinsTest {
    @Test
    void gapsBecomeEmptyBucketsWithTrueBoundsAndEdgesIncrease() {
        int zero = LogBuckets.ZERO_KEY, a = LogBuckets.key(100), b = LogBuckets.key(150), neg = LogBuckets.key(-3);
        var bins = QuantilePushdown.Bins.of(new int[] {neg, zero, a, b}, new long[] {1, 2, 3, 4});
        double[] e = bins.edges();
        for (int i = 1; i < e.length; i++) assertThat(e[i]).as("edge %d", i).isGreaterThan(e[i - 1]);
        // buckets: neg, gap, zero, gap, a, gap, b
        assertThat(bins.counts()).containsExactly(1, 0, 2, 0, 3, 0, 4);
        // the bucket of a holds 100: (lower(a), upper(a)]
        assertThat(e[4]).isLessThan(100);
        assertThat(e[5]).isGreaterThanOrEqualTo(100);
        // events at or below each upper edge are those with a key at or below its threshold key
        assertThat(bins.thresholdKeys()).containsExactly(neg, neg, zero, zero, a, a, b);
    }

    @Test
    void bucketOfTheRankSkipsEmptyBuckets() {
        var bins = QuantilePushdown.Bins.of(new int[] {LogBuckets.key(10), LogBuckets.key(20), LogBuckets.key(40)}, new long[] {50, 45, 5});
        assertThat(bins.counts()).containsExactly(50, 0, 45, 0, 5);
        assertThat(bins.bucketOf(0.5)).isEqualTo(0);   // rank 50: the last event of the first bucket
        assertThat(bins.bucketOf(0.51)).isEqualTo(2);  // not the empty gap
        assertThat(bins.bucketOf(0.99)).isEqualTo(4);
    }
}
