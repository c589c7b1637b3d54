package dev.vigil.guardrails;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * CUPED validation on synthetic data with a known correlation. Per unit, pre-period X = Z1 and in-experiment
 * Y = rho Z1 + sqrt(1 - rho^2) Z2 (+ effect in the treatment), rho = 0.7, so CUPED should remove rho^2 = 0.49 of the
 * variance of the effect estimate. R = 2000 simulated experiments of 2000 units per arm.
 *
 * <ul>
 *   <li>The variance reduction the report states (averaged over experiments) must be within 0.005 of rho^2.</li>
 *   <li>The variance reduction actually achieved, 1 - var(adjusted effects) / var(unadjusted effects) across the R
 *       experiments, must be within 3.5 standard errors of rho^2. For a ratio q = s_a^2 / s_u^2 of sample variances
 *       of two normal estimates with correlation c = sqrt(q) (CUPED: Cov(adj, unadj) = Var(adj)), the delta method
 *       gives SE(q) = q sqrt((2 / R)(2 - 2 c^2)).</li>
 *   <li>The same empirical check for a ratio metric (clicks / sessions with a per-unit click propensity shared with
 *       the pre-period), against the reduction the report states.</li>
 * </ul>
 */
class CupedSimulationTest {
    static final int R = 2000, N = 2000;

    @Test
    void meanMetricVarianceReductionIsTheSquaredCorrelation() {
        double rho = 0.7, effect = 0.05;
        SplittableRandom rng = new SplittableRandom(99);
        ExperimentDefinition def = Fixtures.successOnly("m", MetricKind.MEAN);
        double[] adj = new double[R], raw = new double[R];
        double statedSum = 0;
        for (int r = 0; r < R; r++) {
            MetricSums[] arms = new MetricSums[2];
            for (int a = 0; a < 2; a++) {
                double sy = 0, syy = 0, sx = 0, sxx = 0, sxy = 0;
                for (int i = 0; i < N; i++) {
                    double x = rng.nextGaussian();
                    double y = rho * x + Math.sqrt(1 - rho * rho) * rng.nextGaussian() + (a == 1 ? effect : 0);
                    sy += y; syy += y * y; sx += x; sxx += x * x; sxy += x * y;
                }
                arms[a] = new MeanSums(N, sy, syy, new CovariateSums(sx, sxx, sxy));
            }
            MetricResult m = Fixtures.only(ExperimentAnalyzer.analyze(def, Fixtures.observation("m", arms[0], arms[1])));
            raw[r] = m.absolute().estimate();
            adj[r] = m.cuped().absolute().estimate();
            statedSum += m.cuped().varianceReduction();
        }
        double stated = statedSum / R;
        double q = variance(adj) / variance(raw);
        double achieved = 1 - q;
        double se = q * Math.sqrt(2.0 / R * (2 - 2 * q));
        new Figures("cuped-mean").line("CUPED, mean metric, rho = %.2f (rho^2 = %.4f), %d experiments x %d units per"
                + " arm: stated variance reduction %.4f, achieved %.4f (SE %.4f)", rho, rho * rho, R, N, stated,
                achieved, se).save();
        assertThat(Math.abs(stated - rho * rho)).isLessThanOrEqualTo(0.005);
        assertThat(Math.abs(achieved - rho * rho)).isLessThanOrEqualTo(3.5 * se);
        // the adjustment does not bias the effect
        assertThat(Math.abs(mean(adj) - effect)).isLessThanOrEqualTo(3.5 * Math.sqrt(variance(adj) / R));
    }

    @Test
    void ratioMetricVarianceReductionMatchesWhatTheReportStates() {
        SplittableRandom rng = new SplittableRandom(100);
        ExperimentDefinition def = Fixtures.successOnly("ctr", MetricKind.RATIO);
        double[] adj = new double[R], raw = new double[R];
        double statedSum = 0;
        for (int r = 0; r < R; r++) {
            MetricSums[] arms = new MetricSums[2];
            for (int a = 0; a < 2; a++) {
                double[] s = new double[5];
                double[] p = new double[9];
                for (int i = 0; i < N; i++) {
                    double propensity = Math.min(0.95, Math.max(0.02, 0.3 + 0.2 * rng.nextGaussian()));
                    int d = 1 + rng.nextInt(5), e = rng.nextDouble() < 0.8 ? d : 1 + rng.nextInt(5);
                    double y = clicks(rng, d, propensity), x = clicks(rng, e, propensity);
                    s[0] += y; s[1] += y * y; s[2] += d; s[3] += d * d; s[4] += y * d;
                    p[0] += x; p[1] += x * x; p[2] += e; p[3] += e * e; p[4] += x * e;
                    p[5] += y * x; p[6] += y * e; p[7] += d * x; p[8] += d * e;
                }
                arms[a] = new RatioSums(N, s[0], s[1], s[2], s[3], s[4],
                        new RatioCovariateSums(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]));
            }
            MetricResult m = Fixtures.only(ExperimentAnalyzer.analyze(def, Fixtures.observation("ctr", arms[0], arms[1])));
            raw[r] = m.absolute().estimate();
            adj[r] = m.cuped().absolute().estimate();
            statedSum += m.cuped().varianceReduction();
        }
        double stated = statedSum / R;
        double q = variance(adj) / variance(raw);
        double se = q * Math.sqrt(2.0 / R * (2 - 2 * q));
        new Figures("cuped-ratio").line("CUPED, ratio metric (clicks/sessions; per-unit click propensity and, for 80%% of units, session count shared with the pre-period), %d experiments x %d"
                + " units per arm: stated variance reduction %.4f, achieved %.4f (SE %.4f)", R, N, stated, 1 - q, se)
                .save();
        assertThat(stated).isGreaterThan(0.05);
        assertThat(Math.abs((1 - q) - stated)).isLessThanOrEqualTo(3.5 * se);
    }

    static double clicks(SplittableRandom rng, int sessions, double p) {
        int c = 0;
        for (int i = 0; i < sessions; i++) if (rng.nextDouble() < p) c++;
        return c;
    }

    static double mean(double[] v) {
        double s = 0;
        for (double x : v) s += x;
        return s / v.length;
    }

    static double variance(double[] v) {
        double m = mean(v), s = 0;
        for (double x : v) s += (x - m) * (x - m);
        return s / (v.length - 1);
    }
}
