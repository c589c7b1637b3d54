package dev.vigil.guardrails;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.commons.math3.special.Gamma;

/**
 * Pearson chi-square goodness-of-fit test of observed units per variant against the planned allocation:
 * {@code X2 = sum_v (o_v - e_v)^2 / e_v}, {@code e_v = allocation_v * total}, k - 1 degrees of freedom,
 * p-value = Q((k-1)/2, X2/2) (upper regularized gamma). Flagged when p &lt; {@link #THRESHOLD}.
 */
public final class SampleRatioMismatch {
    /** The p-value below which the traffic split is declared broken. */
    public static final double THRESHOLD = 0.001;

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
            return new SrmResult(obs, exp, 0.0, variants.size() - 1, 1.0, THRESHOLD, false);
        }
        double x2 = 0;
        for (Variant v : variants) {
            double e = v.allocation() * total;
            exp.put(v.id(), e);
            double d = obs.get(v.id()) - e;
            x2 += d * d / e;
        }
        int df = variants.size() - 1;
        double p = chiSquareSurvival(x2, df);
        return new SrmResult(obs, exp, x2, df, p, THRESHOLD, p < THRESHOLD);
    }

    /** P(chi-square with df degrees of freedom &gt; x). */
    public static double chiSquareSurvival(double x, int df) {
        if (x <= 0) return 1.0;
        return Gamma.regularizedGammaQ(df / 2.0, x / 2.0, 1e-15, 100_000);
    }
}
