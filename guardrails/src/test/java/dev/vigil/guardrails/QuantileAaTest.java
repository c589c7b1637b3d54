package dev.vigil.guardrails;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A/A validation of the unit-clustered quantile interval (p95 of event latency). Each unit has 1-9 events whose
 * log-latency is 3 + u + 0.5 Z with a per-unit effect u ~ N(0, 0.5^2), so events of a unit are strongly correlated
 * (intra-unit correlation 0.5, design effect about 3). Events are bucketed on log-spaced edges (growth 1.05).
 * 1,000 experiments x 10 looks x 200 units per arm per look.
 *
 * <p>Asserted with SE = sqrt(alpha (1 - alpha) / 1000): the clustered fixed-horizon test at the final look is
 * within 3.5 SE of alpha; the always-valid test over all looks is at most alpha + 3 SE. For contrast, the same
 * histogram analysed as if events were independent (each event its own "unit") must have a false-positive rate
 * above alpha + 3 SE — the reason the clustered interval exists.
 */
class QuantileAaTest {
    static final int EXPERIMENTS = 1000, LOOKS = 10, PER_LOOK = 200, K = 160;
    static final double ALPHA = 0.05, GROWTH = 1.05;
    static final double[] EDGES = new double[K + 1];

    static {
        EDGES[0] = 0;
        for (int i = 1; i <= K; i++) EDGES[i] = Math.pow(GROWTH, i - 1);   // 1 .. ~2.4e3 ms
    }

    /** Running sums of one arm. */
    static final class Arm {
        long units;
        double sumM, sumM2;
        final long[] counts = new long[K];
        final double[] sumSq = new double[K], sumSm = new double[K];

        void addUnit(SplittableRandom rng) {
            double u = 0.5 * rng.nextGaussian();
            int m = 1 + rng.nextInt(9);
            int[] perBucket = new int[K];
            int first = K;
            for (int j = 0; j < m; j++) {
                double v = Math.exp(3 + u + 0.5 * rng.nextGaussian());
                int b = v <= 1 ? 0 : Math.min(K - 1, (int) Math.ceil(Math.log(v) / Math.log(GROWTH)));
                // bucket b holds (EDGES[b], EDGES[b+1]]; fix rounding at the edges
                while (b > 0 && v <= EDGES[b]) b--;
                while (b < K - 1 && v > EDGES[b + 1]) b++;
                perBucket[b]++;
                counts[b]++;
                first = Math.min(first, b);
            }
            double s = 0;
            for (int b = first; b < K; b++) {
                s += perBucket[b];
                sumSq[b] += s * s;
                sumSm[b] += s * m;
            }
            units++;
            sumM += m;
            sumM2 += (double) m * m;
        }

        QuantileSums clustered() {
            return new QuantileSums(units, sumM, sumM2, EDGES, counts.clone(), sumSq.clone(), sumSm.clone());
        }

        /** The same histogram analysed as if every event were an independent unit. */
        QuantileSums naive() {
            double[] cum = new double[K];
            double c = 0;
            for (int b = 0; b < K; b++) { c += counts[b]; cum[b] = c; }
            return new QuantileSums((long) sumM, sumM, sumM, EDGES, counts.clone(), cum, cum.clone());
        }
    }

    @Test
    void clusteredQuantileIntervalIsCalibrated() {
        SplittableRandom rng = new SplittableRandom(31);
        ExperimentDefinition def = Fixtures.definition(
                java.util.List.of(new SuccessMetric("latency", MetricKind.QUANTILE, 0.95, Direction.DECREASE, false)),
                java.util.List.of());
        int seqAny = 0, fixedFinal = 0, naiveFinal = 0, fixedAny = 0;
        for (int e = 0; e < EXPERIMENTS; e++) {
            Arm c = new Arm(), t = new Arm();
            boolean seqHit = false, fixedHit = false;
            for (int look = 1; look <= LOOKS; look++) {
                for (int i = 0; i < PER_LOOK; i++) {
                    c.addUnit(rng);
                    t.addUnit(rng);
                }
                EffectFigures f = Fixtures.only(ExperimentAnalyzer.analyze(def,
                        Fixtures.observation("latency", c.clustered(), t.clustered()))).absolute();
                seqHit |= f.alwaysValidPValue() < ALPHA;
                fixedHit |= f.fixedHorizonPValue() < ALPHA;
                if (look == LOOKS) {
                    if (f.fixedHorizonPValue() < ALPHA) fixedFinal++;
                    EffectFigures naive = Fixtures.only(ExperimentAnalyzer.analyze(def,
                            Fixtures.observation("latency", c.naive(), t.naive()))).absolute();
                    if (naive.fixedHorizonPValue() < ALPHA) naiveFinal++;
                }
            }
            if (seqHit) seqAny++;
            if (fixedHit) fixedAny++;
        }
        double se = Figures.se(ALPHA, EXPERIMENTS);
        double seq = seqAny / (double) EXPERIMENTS, fixed = fixedFinal / (double) EXPERIMENTS;
        double naive = naiveFinal / (double) EXPERIMENTS, peek = fixedAny / (double) EXPERIMENTS;
        new Figures("quantile-aa").line("A/A p95 latency, clustered events (ICC 0.5, 1-9 events per unit), %d"
                + " experiments x %d looks x %d units per arm per look: always-valid any look %.4f; fixed-horizon any"
                + " look %.4f; fixed-horizon final look %.4f; naive event-level (unclustered) final look %.4f;"
                + " SE %.4f", EXPERIMENTS, LOOKS, PER_LOOK, seq, peek, fixed, naive, se).save();
        assertThat(Math.abs(fixed - ALPHA)).isLessThanOrEqualTo(3.5 * se);
        assertThat(seq).isLessThanOrEqualTo(ALPHA + 3 * se);
        assertThat(naive).isGreaterThan(ALPHA + 3 * se);
    }
}
