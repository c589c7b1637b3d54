package dev.vigil.guardrails;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.commons.math3.special.Gamma;
import org.junit.jupiter.api.Test;

/**
 * Sample ratio mismatch validation at 200,000 units.
 * <ul>
 *   <li>Correct allocation (three arms 50/25/25, exact multinomial draws, 20,000 experiments): flagged at most
 *       0.001 + 3 SE of the time, SE = sqrt(0.001 * 0.999 / 20000); the chi-square p-value, a one-look figure, is
 *       uniform (below 0.01 in 1 % of them).</li>
 *   <li>Peeking: 4,000 healthy 50/50 experiments looked at every 1,000 units up to 200,000: the sequential test flags
 *       at most 0.001 + 3 SE of them at any look; the chi-square at 0.001 would have flagged over 1 % (what made the
 *       sequential test necessary).</li>
 *   <li>A 1 % skew: planned 50/50, actual 50.5/49.5 (i.e. 101,000 vs 99,000 expected): the exact expected split is
 *       flagged, and in 2,000 random experiments looked at every 10,000 units, at least 99 % are flagged by 600,000.</li>
 * </ul>
 */
class SrmSimulationTest {
    static final long UNITS = 200_000;

    /** Exact binomial draw by inversion, enumerating outcomes outward from the mode (O(sqrt(npq)) steps). */
    static long binomial(SplittableRandom rng, long n, double p) {
        long mode = (long) Math.floor((n + 1) * p);
        if (mode > n) mode = n;
        double logPmf = Gamma.logGamma(n + 1.0) - Gamma.logGamma(mode + 1.0) - Gamma.logGamma(n - mode + 1.0)
                + mode * Math.log(p) + (n - mode) * Math.log1p(-p);
        double u = rng.nextDouble();
        double pm = Math.exp(logPmf);
        double acc = pm;
        if (u < acc) return mode;
        double up = pm, down = pm;
        long hi = mode, lo = mode;
        double odds = p / (1 - p);
        while (true) {
            if (hi < n) {
                up *= (double) (n - hi) / (hi + 1) * odds;
                hi++;
                acc += up;
                if (u < acc) return hi;
            }
            if (lo > 0) {
                down *= (double) lo / (n - lo + 1) / odds;
                lo--;
                acc += down;
                if (u < acc) return lo;
            }
            if ((hi >= n && lo <= 0) || (up < 1e-300 && down < 1e-300)) return mode;
        }
    }

    @Test
    void correctAllocationsAreFlaggedAtMostAsOftenAsTheThreshold() {
        int m = 20_000;
        SplittableRandom rng = new SplittableRandom(7);
        List<Variant> arms = List.of(new Variant("a", 0.5, true), new Variant("b", 0.25, false),
                new Variant("c", 0.25, false));
        int flagged = 0, below01 = 0;
        for (int i = 0; i < m; i++) {
            long a = binomial(rng, UNITS, 0.5);
            long b = binomial(rng, UNITS - a, 0.5);
            SrmResult r = SampleRatioMismatch.test(arms, Map.of("a", a, "b", b, "c", UNITS - a - b));
            if (r.flagged()) flagged++;
            if (r.pValue() < 0.01) below01++;
        }
        double rate = flagged / (double) m;
        double bound = SampleRatioMismatch.THRESHOLD + 3 * Figures.se(SampleRatioMismatch.THRESHOLD, m);
        new Figures("srm-null").line("SRM, correct 50/25/25 allocation, %d units, %d experiments: flagged %.5f"
                + " (threshold 0.001, bound 0.001 + 3 SE = %.5f); p < 0.01 in %.4f", UNITS, m, rate, bound,
                below01 / (double) m).save();
        assertThat(rate).isLessThanOrEqualTo(bound);
        assertThat(Math.abs(below01 / (double) m - 0.01)).isLessThanOrEqualTo(3.5 * Figures.se(0.01, m));
    }

    /** Healthy experiments looked at every 1,000 units: the sequential test keeps its rate; the chi-square does not. */
    @Test
    void lookingAtEveryRefreshKeepsTheFalseFlagRate() {
        int m = 4_000;
        int step = 1_000;
        List<Variant> arms = Fixtures.twoArms();
        SplittableRandom rng = new SplittableRandom(11);
        int flagged = 0, chiSquareFlagged = 0;
        for (int i = 0; i < m; i++) {
            long c = 0;
            boolean seq = false, chi = false;
            for (long n = step; n <= UNITS; n += step) {
                c += binomial(rng, step, 0.5);
                SrmResult r = SampleRatioMismatch.test(arms, Map.of("control", c, "treatment", n - c));
                seq |= r.flagged();
                chi |= r.pValue() < SampleRatioMismatch.THRESHOLD;
            }
            if (seq) flagged++;
            if (chi) chiSquareFlagged++;
        }
        double rate = flagged / (double) m;
        double chiRate = chiSquareFlagged / (double) m;
        double bound = SampleRatioMismatch.THRESHOLD + 3 * Figures.se(SampleRatioMismatch.THRESHOLD, m);
        new Figures("srm-peeking").line("SRM, correct 50/50 allocation looked at every %d units up to %d, %d experiments:"
                + " flagged at some look %.5f (bound %.5f); the chi-square at 0.001 would have flagged %.4f", step, UNITS, m,
                rate, bound, chiRate).save();
        assertThat(rate).isLessThanOrEqualTo(bound);
        assertThat(chiRate).as("the one-look test's rate under peeking (the reason for the sequential test)").isGreaterThan(0.01);
    }

    /** Known answers of the sequential p-value, from an independent implementation (Python's math.lgamma). */
    @Test
    void sequentialPValueKnownAnswers() {
        assertThat(SampleRatioMismatch.alwaysValidPValue(new long[] {101_000, 99_000}, new double[] {0.5, 0.5}))
                .isCloseTo(6.765114e-4, org.assertj.core.data.Percentage.withPercentage(0.01));
        assertThat(SampleRatioMismatch.alwaysValidPValue(new long[] {5_250, 4_750}, new double[] {0.5, 0.5}))
                .isCloseTo(3.832485e-5, org.assertj.core.data.Percentage.withPercentage(0.01));
        assertThat(SampleRatioMismatch.alwaysValidPValue(new long[] {50_500, 24_000, 25_500}, new double[] {0.5, 0.25, 0.25}))
                .isCloseTo(1.199959e-10, org.assertj.core.data.Percentage.withPercentage(0.01));
        assertThat(SampleRatioMismatch.alwaysValidPValue(new long[] {10, 0}, new double[] {0.5, 0.5}))
                .isCloseTo(0.9564018, org.assertj.core.data.Percentage.withPercentage(0.01));
        assertThat(SampleRatioMismatch.alwaysValidPValue(new long[] {100_000, 100_000}, new double[] {0.5, 0.5})).isEqualTo(1.0);
    }

    @Test
    void onePercentSkewIsFlaggedSoon() {
        List<Variant> arms = Fixtures.twoArms();
        SrmResult exact = SampleRatioMismatch.test(arms, Map.of("control", 101_000L, "treatment", 99_000L));
        assertThat(exact.flagged()).isTrue();

        int m = 2_000;
        int step = 10_000;
        long horizon = 600_000;
        SplittableRandom rng = new SplittableRandom(8);
        int flagged = 0;
        long[] firstFlag = new long[m];
        for (int i = 0; i < m; i++) {
            long c = 0;
            firstFlag[i] = Long.MAX_VALUE;
            for (long n = step; n <= horizon; n += step) {
                c += binomial(rng, step, 0.505);
                if (SampleRatioMismatch.test(arms, Map.of("control", c, "treatment", n - c)).flagged()) {
                    firstFlag[i] = n;
                    flagged++;
                    break;
                }
            }
        }
        java.util.Arrays.sort(firstFlag);
        double rate = flagged / (double) m;
        new Figures("srm-skew").line("SRM, planned 50/50, actual 50.5/49.5: the exact expected split at %d units has"
                + " chi-square %.1f (p %.2e), always-valid p %.2e, flagged; %d random experiments looked at every %d units:"
                + " flagged by %d units %.4f, median units at the first flag %d", UNITS, exact.chiSquare(), exact.pValue(),
                exact.alwaysValidPValue(), m, step, horizon, rate, firstFlag[m / 2]).save();
        assertThat(rate).isGreaterThanOrEqualTo(0.99);
    }
}
