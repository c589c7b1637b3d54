package dev.vigil.query.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import dev.vigil.common.histogram.LogBuckets;

class HistogramsTest {
    static TreeMap<Integer, Long> hist(double mean, double sd, int n, long seed) {
        Random r = new Random(seed);
        TreeMap<Integer, Long> h = new TreeMap<>();
        for (int i = 0; i < n; i++) h.merge(LogBuckets.key(Math.max(1e-3, mean + sd * r.nextGaussian())), 1L, Long::sum);
        return h;
    }

    @Test
    void identicalDistributionsHaveNoDrift() {
        var a = hist(10, 2, 100_000, 1);
        double[] d = Histograms.drift(a, a);
        assertThat(d[0]).isCloseTo(0, within(1e-12));
        assertThat(d[1]).isCloseTo(0, within(1e-6));
        double[] sampled = Histograms.drift(hist(10, 2, 20_000, 2), hist(10, 2, 100_000, 3));
        assertThat(sampled[0]).isLessThan(0.01);
    }

    @Test
    void psiOfAHalfSdShiftMatchesTheNormalTheory() {
        // PSI over baseline deciles of N(0,1) vs N(0.5,1), computed exactly: about 0.25 (the "critical" band edge)
        double[] d = Histograms.drift(hist(100.5, 1, 400_000, 4), hist(100, 1, 400_000, 5));
        double expected = expectedPsi(0.5);
        assertThat(d[0]).isCloseTo(expected, within(0.02));
        assertThat(d[1]).isBetween(0.1, 0.3);
    }

    static double expectedPsi(double shift) {
        double[] edges = new double[11];
        edges[0] = Double.NEGATIVE_INFINITY;
        edges[10] = Double.POSITIVE_INFINITY;
        for (int i = 1; i < 10; i++) edges[i] = inv(i / 10.0);
        double psi = 0;
        for (int i = 0; i < 10; i++) {
            double b = 0.1, w = cdf(edges[i + 1] - shift) - cdf(edges[i] - shift);
            psi += (w - b) * Math.log(w / b);
        }
        return psi;
    }

    static double cdf(double x) {
        if (x == Double.NEGATIVE_INFINITY) return 0;
        if (x == Double.POSITIVE_INFINITY) return 1;
        return 0.5 * (1 + erf(x / Math.sqrt(2)));
    }

    static double erf(double x) { // Abramowitz-Stegun 7.1.26 is too coarse; use a series / continued fraction
        double t = 1 / (1 + 0.5 * Math.abs(x));
        double y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? y : -y;
    }

    static double inv(double p) {
        double lo = -10, hi = 10;
        for (int i = 0; i < 200; i++) {
            double m = (lo + hi) / 2;
            if (cdf(m) < p) lo = m; else hi = m;
        }
        return (lo + hi) / 2;
    }

    @Test
    void quantilesAreWithinOnePercent() {
        var h = hist(100, 10, 200_000, 6);
        assertThat(Histograms.quantile(h, 0.5)).isCloseTo(100, within(1.0));
        assertThat(Histograms.quantile(h, 0.99)).isCloseTo(100 + 2.326 * 10, within(1.3));
    }

    /** The dense drift gives the very same doubles as the map version (the series use it). */
    @Test
    void denseDriftEqualsMapDrift() {
        Random r = new Random(11);
        for (int round = 0; round < 300; round++) {
            TreeMap<Integer, Long> w = new TreeMap<>(), b = new TreeMap<>();
            int keys = 1 + r.nextInt(round % 3 == 0 ? 3 : 60);
            for (int k = 0; k < keys; k++) {
                int key = r.nextInt(200) - 50;
                if (r.nextInt(4) > 0) w.merge(key, 1L + r.nextInt(round % 5 == 0 ? 1000 : 20), Long::sum);
                if (r.nextInt(5) > 0) b.merge(key, 1L + r.nextInt(round % 7 == 0 ? 5000 : 30), Long::sum);
            }
            java.util.TreeSet<Integer> all = new java.util.TreeSet<>(w.keySet());
            all.addAll(b.keySet());
            long[] dw = new long[all.size() + 2], db = new long[all.size() + 2];
            int i = 1; // a zero entry on each side: absent keys
            for (int k : all) {
                dw[i] = w.getOrDefault(k, 0L);
                db[i++] = b.getOrDefault(k, 0L);
            }
            double[] expected = w.isEmpty() || b.isEmpty() ? new double[]{Double.NaN, Double.NaN} : Histograms.drift(w, b);
            double[] got = Histograms.drift(dw, db);
            assertThat(Double.doubleToLongBits(got[0])).as("psi round " + round).isEqualTo(Double.doubleToLongBits(expected[0]));
            assertThat(Double.doubleToLongBits(got[1])).as("js round " + round).isEqualTo(Double.doubleToLongBits(expected[1]));
        }
    }
}
