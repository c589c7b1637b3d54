package dev.vigil.guardrails;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A/B validation: a true effect delta on a normal(0, 1) per-unit metric, 2,000 experiments, 20 looks of 250 units
 * per arm. delta is chosen so that the fixed-horizon test at the final look (5,000 units per arm) has 80 % power:
 * delta = (z_0.975 + z_0.8) sqrt(2 / 5000).
 *
 * <p>Theory, with SE = sqrt(2 / n_arm) and N = 2 n_arm:
 * <ul>
 *   <li>fixed horizon, final look: Phi(delta/SE - z) + Phi(-delta/SE - z)</li>
 *   <li>always-valid, final look only: Phi((delta - hw)/SE) + Phi((-delta - hw)/SE), hw = the sequence's half-width
 *       at N with s2 = SE^2 N</li>
 * </ul>
 * Simulated rates must be within 3.5 binomial standard errors of these. The always-valid test may stop at any look;
 * its power over all looks and its expected sample size (units per arm when it stops, or at the end) are reported.
 */
class AbPowerTest {
    static final int EXPERIMENTS = 2000, LOOKS = 20, PER_LOOK = 250;

    @Test
    void powerMatchesTheoryAndExpectedSampleSizeIsReported() {
        double alpha = 0.05, z = Normal.quantile(1 - alpha / 2);
        int nArm = LOOKS * PER_LOOK;
        double se = Math.sqrt(2.0 / nArm);
        double delta = (z + Normal.quantile(0.8)) * se;
        double nTotal = 2.0 * nArm;
        double hw = SequentialTest.halfWidthTwoSided(se * se * nTotal, nTotal, 5000, alpha);
        double fixedTheory = Normal.cdf(delta / se - z) + Normal.cdf(-delta / se - z);
        double seqFinalTheory = Normal.cdf((delta - hw) / se) + Normal.cdf((-delta - hw) / se);

        Figures fig = new Figures("ab-power");
        fig.line("A/B: normal(0,1) metric, %d experiments x %d looks x %d units per arm per look", EXPERIMENTS, LOOKS,
                PER_LOOK);
        for (double mult : new double[] {1.0, 1.5}) {
            double d = delta * mult;
            SplittableRandom rng = new SplittableRandom(2024 + (long) (mult * 10));
            ExperimentDefinition def = Fixtures.successOnly("m", MetricKind.MEAN);
            int fixedFinal = 0, seqFinal = 0, seqAny = 0;
            double sumStopUnits = 0;
            for (int e = 0; e < EXPERIMENTS; e++) {
                double cs = 0, css = 0, ts = 0, tss = 0;
                long n = 0;
                long stoppedAt = -1;
                for (int look = 1; look <= LOOKS; look++) {
                    for (int i = 0; i < PER_LOOK; i++) {
                        double yc = rng.nextGaussian(), yt = d + rng.nextGaussian();
                        cs += yc; css += yc * yc; ts += yt; tss += yt * yt;
                    }
                    n += PER_LOOK;
                    EffectFigures f = Fixtures.only(ExperimentAnalyzer.analyze(def, Fixtures.observation("m",
                            new MeanSums(n, cs, css), new MeanSums(n, ts, tss)))).absolute();
                    if (stoppedAt < 0 && f.alwaysValidPValue() < alpha) stoppedAt = n;
                    if (look == LOOKS) {
                        if (f.fixedHorizonPValue() < alpha) fixedFinal++;
                        if (f.alwaysValidPValue() < alpha) seqFinal++;
                    }
                }
                if (stoppedAt > 0) seqAny++;
                sumStopUnits += stoppedAt > 0 ? stoppedAt : nArm;
            }
            double pf = fixedFinal / (double) EXPERIMENTS, ps = seqFinal / (double) EXPERIMENTS;
            double pa = seqAny / (double) EXPERIMENTS;
            double fTheory = Normal.cdf(d / se - z) + Normal.cdf(-d / se - z);
            double sTheory = Normal.cdf((d - hw) / se) + Normal.cdf((-d - hw) / se);
            fig.line("effect %.5f (%.1f x the 80%%-power effect): fixed-horizon power at the end %.4f (theory %.4f);"
                    + " always-valid power at the end %.4f (theory %.4f); always-valid power at any look %.4f;"
                    + " expected units per arm when stopping %.0f of %d (%.0f%%)", d, mult, pf, fTheory, ps, sTheory,
                    pa, sumStopUnits / EXPERIMENTS, nArm, 100 * sumStopUnits / EXPERIMENTS / nArm);
            assertThat(Math.abs(pf - fTheory)).isLessThanOrEqualTo(3.5 * Figures.se(fTheory, EXPERIMENTS));
            assertThat(Math.abs(ps - sTheory)).isLessThanOrEqualTo(3.5 * Figures.se(sTheory, EXPERIMENTS));
            assertThat(pa).isGreaterThanOrEqualTo(ps);
        }
        assertThat(fixedTheory).isCloseTo(0.8, org.assertj.core.data.Offset.offset(1e-3));
        fig.line("sequential half-width at the end %.5f vs fixed-horizon %.5f (ratio %.2f)", hw, z * se, hw / (z * se));
        assertThat(seqFinalTheory).isLessThan(fixedTheory);
        fig.save();
    }
}
