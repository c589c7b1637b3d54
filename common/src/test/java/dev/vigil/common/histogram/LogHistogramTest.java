package dev.vigil.common.histogram;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

class LogHistogramTest {
    @Test
    void everyValueLiesInsideItsBucket() {
        Random r = new Random(1);
        for (int i = 0; i < 200_000; i++) {
            double v = Math.exp(r.nextGaussian() * 10) * (r.nextBoolean() ? 1 : -1);
            int k = LogBuckets.key(v);
            if (Math.abs(v) < LogBuckets.MIN_MAGNITUDE) {
                assertThat(k).isEqualTo(LogBuckets.ZERO_KEY);
                continue;
            }
            assertThat(v).isGreaterThan(LogBuckets.lowerBound(k)).isLessThanOrEqualTo(LogBuckets.upperBound(k));
        }
        assertThat(LogBuckets.key(0.0)).isEqualTo(LogBuckets.ZERO_KEY);
        assertThat(LogBuckets.key(1.0)).isEqualTo(0);
        assertThat(LogBuckets.upperBound(LogBuckets.key(1.01))).isEqualTo(1.01, org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void keysOrderLikeValues() {
        double[] vs = {-1e6, -3, -1, -0.001, 0, 0.001, 1, 3, 1e6};
        for (int i = 1; i < vs.length; i++) {
            assertThat(LogBuckets.key(vs[i])).isGreaterThanOrEqualTo(LogBuckets.key(vs[i - 1]));
        }
    }

    @Test
    void quantilesAreWithinOnePercentOfExact() {
        Random r = new Random(7);
        double[] values = new double[100_000];
        LogHistogram h = new LogHistogram();
        for (int i = 0; i < values.length; i++) {
            values[i] = Math.exp(3 + r.nextGaussian());
            h.add(values[i]);
        }
        Arrays.sort(values);
        for (double q : new double[] {0.01, 0.5, 0.9, 0.95, 0.99, 0.999}) {
            double exact = values[(int) Math.ceil(q * values.length) - 1];
            assertThat(Math.abs(h.quantile(q) - exact) / exact).as("q=%s", q).isLessThanOrEqualTo(0.01);
        }
    }

    @Test
    void mergeEqualsAddingEverything() {
        LogHistogram a = new LogHistogram();
        LogHistogram b = new LogHistogram();
        LogHistogram all = new LogHistogram();
        for (int i = 1; i <= 1000; i++) {
            (i % 3 == 0 ? a : b).add(i);
            all.add(i);
        }
        a.merge(b);
        assertThat(a.buckets()).isEqualTo(all.buckets());
        assertThat(a.count()).isEqualTo(1000);
        assertThat(a.sum()).isEqualTo(all.sum());
    }
}
