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
 *       0.001 + 3 SE of the time, SE = sqrt(0.001 * 0.999 / 20000).</li>
 *   <li>A 1 % skew: planned 50/50, actual 50.5/49.5 (i.e. 101,000 vs 99,000 expected): the exact expected split is
 *       flagged (p = 7.7e-6), and over 10,000 random experiments the flag rate matches the theoretical power of the
 *       chi-square test, non-centrality lambda = 200000 * sum (a_true - a_plan)^2 / a_plan = 20, power =
 *       Phi(sqrt(lambda) - z_0.9995) + Phi(-sqrt(lambda) - z_0.9995), within 3.5 SE.</li>
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

    @Test
    void onePercentSkewAt200kUnitsIsFlagged() {
        List<Variant> arms = Fixtures.twoArms();
        SrmResult exact = SampleRatioMismatch.test(arms, Map.of("control", 101_000L, "treatment", 99_000L));
        assertThat(exact.flagged()).isTrue();

        int m = 10_000;
        SplittableRandom rng = new SplittableRandom(8);
        int flagged = 0;
        for (int i = 0; i < m; i++) {
            long c = binomial(rng, UNITS, 0.505);
            if (SampleRatioMismatch.test(arms, Map.of("control", c, "treatment", UNITS - c)).flagged()) flagged++;
        }
        double lambda = UNITS * (2 * 0.005 * 0.005 / 0.5);
        double zc = Normal.quantile(1 - SampleRatioMismatch.THRESHOLD / 2);
        double theory = Normal.cdf(Math.sqrt(lambda) - zc) + Normal.cdf(-Math.sqrt(lambda) - zc);
        double rate = flagged / (double) m;
        new Figures("srm-skew").line("SRM, planned 50/50, actual 50.5/49.5, %d units: exact expected split"
                + " chi-square %.1f p %.2e flagged; random experiments flagged %.4f (theory %.4f, %d experiments)",
                UNITS, exact.chiSquare(), exact.pValue(), rate, theory, m).save();
        assertThat(Math.abs(rate - theory)).isLessThanOrEqualTo(3.5 * Figures.se(theory, m));
    }
}
