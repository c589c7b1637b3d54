package dev.vigil.guardrails;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A/A validation: no true effect, 2,000 simulated experiments, each looked at 20 times (250 more units per arm per
 * look, 5,000 per arm at the end). Sufficient statistics are accumulated unit by unit, so every look sees exactly
 * what ClickHouse would return. A "false positive" is any look at which the test declares a difference.
 *
 * <p>Assertions use the binomial standard error SE = sqrt(alpha (1 - alpha) / M) of a rate estimated from M = 2000
 * experiments: the sequential false-positive rate must be at most alpha + 3 SE; the fixed-horizon test checked at
 * every look must exceed alpha + 3 SE (the peeking inflation); the fixed-horizon test looked at only once, at the
 * end, must be within 3.5 SE of alpha (it is calibrated when used as designed).
 */
class AaSimulationTest {
    static final int EXPERIMENTS = 2000, LOOKS = 20, PER_LOOK = 250;
    static final double ALPHA = 0.05;

    interface UnitSampler {
        /** Adds one unit's values to the running sums of one arm. */
        void add(SplittableRandom rng, double[] sums);

        MetricSums toSums(long units, double[] sums);
    }

    /** Mean of a skewed per-unit value: lognormal exp(0.8 Z). sums = {sum, sumSq}. */
    static final UnitSampler MEAN = new UnitSampler() {
        public void add(SplittableRandom rng, double[] s) {
            double y = Math.exp(0.8 * rng.nextGaussian());
            s[0] += y;
            s[1] += y * y;
        }

        public MetricSums toSums(long n, double[] s) {
            return new MeanSums(n, s[0], s[1]);
        }
    };

    /** Click-through ratio: D ~ uniform{1..5} sessions, Y ~ Binomial(D, 0.3) clicks. sums = {Y, Y2, D, D2, YD}. */
    static final UnitSampler RATIO = new UnitSampler() {
        public void add(SplittableRandom rng, double[] s) {
            int d = 1 + rng.nextInt(5);
            int y = 0;
            for (int i = 0; i < d; i++) if (rng.nextDouble() < 0.3) y++;
            s[0] += y;
            s[1] += y * y;
            s[2] += d;
            s[3] += d * d;
            s[4] += y * d;
        }

        public MetricSums toSums(long n, double[] s) {
            return new RatioSums(n, s[0], s[1], s[2], s[3], s[4]);
        }
    };

    /** Conversion with probability 0.1. sums = {converted}. */
    static final UnitSampler PROPORTION = new UnitSampler() {
        public void add(SplittableRandom rng, double[] s) {
            if (rng.nextDouble() < 0.1) s[0] += 1;
        }

        public MetricSums toSums(long n, double[] s) {
            return new ProportionSums(n, (long) s[0]);
        }
    };

    record Rates(double sequentialAnyLook, double fixedAnyLook, double fixedFinalOnly, double sequentialFinalOnly) {
    }

    static Rates simulate(MetricKind kind, UnitSampler sampler, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        ExperimentDefinition def = Fixtures.successOnly("m", kind);
        int seqAny = 0, fixedAny = 0, fixedFinal = 0, seqFinal = 0;
        for (int e = 0; e < EXPERIMENTS; e++) {
            double[] c = new double[5], t = new double[5];
            long n = 0;
            boolean seqHit = false, fixedHit = false;
            for (int look = 1; look <= LOOKS; look++) {
                for (int i = 0; i < PER_LOOK; i++) {
                    sampler.add(rng, c);
                    sampler.add(rng, t);
                }
                n += PER_LOOK;
                EffectFigures f = Fixtures.only(ExperimentAnalyzer.analyze(def,
                        Fixtures.observation("m", sampler.toSums(n, c), sampler.toSums(n, t)))).absolute();
                seqHit |= f.alwaysValidPValue() < ALPHA;
                fixedHit |= f.fixedHorizonPValue() < ALPHA;
                if (look == LOOKS) {
                    if (f.fixedHorizonPValue() < ALPHA) fixedFinal++;
                    if (f.alwaysValidPValue() < ALPHA) seqFinal++;
                }
            }
            if (seqHit) seqAny++;
            if (fixedHit) fixedAny++;
        }
        return new Rates(seqAny / (double) EXPERIMENTS, fixedAny / (double) EXPERIMENTS,
                fixedFinal / (double) EXPERIMENTS, seqFinal / (double) EXPERIMENTS);
    }

    @Test
    void sequentialControlsFalsePositivesUnderPeekingAndFixedHorizonDoesNot() {
        double se = Figures.se(ALPHA, EXPERIMENTS);
        Figures fig = new Figures("aa-simulation");
        fig.line("A/A: %d experiments x %d looks, %d units per arm per look (%d per arm at the end), alpha %.2f,"
                + " tuning N 5000; binomial SE of a rate at alpha = %.4f", EXPERIMENTS, LOOKS, PER_LOOK,
                LOOKS * PER_LOOK, ALPHA, se);
        fig.line("%-11s %22s %22s %22s %22s", "metric", "always-valid any look", "fixed-horizon any look",
                "fixed-horizon final", "always-valid final");
        Object[][] cases = {{MetricKind.MEAN, MEAN, 11L}, {MetricKind.RATIO, RATIO, 12L},
                {MetricKind.PROPORTION, PROPORTION, 13L}};
        for (Object[] c : cases) {
            Rates r = simulate((MetricKind) c[0], (UnitSampler) c[1], (Long) c[2]);
            fig.line("%-11s %22.4f %22.4f %22.4f %22.4f", c[0], r.sequentialAnyLook(), r.fixedAnyLook(),
                    r.fixedFinalOnly(), r.sequentialFinalOnly());
            assertThat(r.sequentialAnyLook()).as("%s sequential FPR", c[0]).isLessThanOrEqualTo(ALPHA + 3 * se);
            assertThat(r.fixedAnyLook()).as("%s fixed-horizon FPR under peeking", c[0]).isGreaterThan(ALPHA + 3 * se);
            assertThat(Math.abs(r.fixedFinalOnly() - ALPHA)).as("%s fixed-horizon single look", c[0])
                    .isLessThanOrEqualTo(3.5 * se);
        }
        fig.save();
    }
}
