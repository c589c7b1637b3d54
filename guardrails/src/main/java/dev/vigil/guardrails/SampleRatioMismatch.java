package dev.vigil.guardrails;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.commons.math3.special.Gamma;

/**
 * Sample ratio mismatch: are the units per variant what the planned allocation predicts? Two figures:
 * <ul>
 *   <li>the <b>sequential test</b> that decides (Lindon &amp; Malek 2022, "Anytime-valid inference for multinomial count
 *       data", NeurIPS): the Bayes factor of a Dirichlet({@link #CONCENTRATION} x allocation) mixture against the planned
 *       allocation, {@code BF = Gamma(A) / Gamma(A + n) x prod_v Gamma(a_v + o_v) / Gamma(a_v) / prod_v p_v^o_v},
 *       {@code a_v = A p_v}; always-valid p-value {@code min(1, 1 / BF)}. Under the plan BF is a nonnegative martingale
 *       with mean 1, so by Ville's inequality the chance that it ever reaches 1 / threshold is at most the threshold:
 *       the check may run at every refresh. Flagged when that p-value is below {@link #THRESHOLD}.</li>
 *   <li>Pearson's chi-square of the same counts, {@code X2 = sum_v (o_v - e_v)^2 / e_v}, k - 1 degrees of freedom,
 *       p = Q((k-1)/2, X2/2): the familiar one-look figure, reported beside it. Flagging on it at every refresh flagged
 *       2.05 % of healthy 50/50 experiments looked at every 1,000 units up to 200,000 ({@code SrmSimulationTest}).</li>
 * </ul>
 */
public final class SampleRatioMismatch {
    /** The p-value below which the traffic split is declared broken. */
    public static final double THRESHOLD = 0.001;
    /**
     * The Dirichlet mixture's concentration A: the prior spread of a variant's share around its plan is
     * {@code sqrt(p (1 - p) / (A + 1))}, 1.6 points for a 50 % variant, the size of the mismatches that lost events,
     * bots or redirects usually cause. Smaller A detects large mismatches sooner and 1 % mismatches later (A = 100:
     * 101,000 vs 99,000 units gives p = 0.002; A = 1,000: 0.0007).
     */
    public static final double CONCENTRATION = 1000;

    private SampleRatioMismatch() {
    }

    public static SrmResult test(List<Variant> variants, Map<String, Long> observed) {
        Map<String, Long> obs = new LinkedHashMap<>();
        Map<String, Double> exp = new LinkedHashMap<>();
        long total = 0;
        for (Variant v : variants) {
            long o = observed.getOrDefault(v.id(), 0L);
            obs.put(v.id(), o);
            total += o;
        }
        if (total == 0) {
            for (Variant v : variants) exp.put(v.id(), 0.0);
            return new SrmResult(obs, exp, 0.0, variants.size() - 1, 1.0, 1.0, THRESHOLD, false);
        }
        double x2 = 0;
        long[] counts = new long[variants.size()];
        double[] plan = new double[variants.size()];
        for (int i = 0; i < variants.size(); i++) {
            Variant v = variants.get(i);
            double e = v.allocation() * total;
            exp.put(v.id(), e);
            double d = obs.get(v.id()) - e;
            x2 += d * d / e;
            counts[i] = obs.get(v.id());
            plan[i] = v.allocation();
        }
        int df = variants.size() - 1;
        double p = chiSquareSurvival(x2, df);
        double alwaysValid = alwaysValidPValue(counts, plan);
        return new SrmResult(obs, exp, x2, df, p, alwaysValid, THRESHOLD, alwaysValid < THRESHOLD);
    }

    /** min(1, 1 / BF) of the Dirichlet-multinomial mixture against the plan {@code allocation} (summing to 1). */
    public static double alwaysValidPValue(long[] counts, double[] allocation) {
        double a = CONCENTRATION;
        long n = 0;
        double logBf = 0;
        for (int i = 0; i < counts.length; i++) {
            double ai = a * allocation[i];
            n += counts[i];
            logBf += Gamma.logGamma(ai + counts[i]) - Gamma.logGamma(ai) - counts[i] * Math.log(allocation[i]);
        }
        logBf += Gamma.logGamma(a) - Gamma.logGamma(a + n);
        return logBf <= 0 ? 1.0 : Math.exp(-logBf);
    }

    /** P(chi-square with df degrees of freedom &gt; x). */
    public static double chiSquareSurvival(double x, int df) {
        if (x <= 0) return 1.0;
        return Gamma.regularizedGammaQ(df / 2.0, x / 2.0, 1e-15, 100_000);
    }
}
