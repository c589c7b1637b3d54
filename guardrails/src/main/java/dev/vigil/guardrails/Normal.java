package dev.vigil.guardrails;

import org.apache.commons.math3.special.Erf;

/** Standard normal distribution functions, accurate to about 1e-15. */
public final class Normal {
    private static final double SQRT2 = Math.sqrt(2.0);
    private static final double INV_SQRT_2PI = 1.0 / Math.sqrt(2.0 * Math.PI);

    private Normal() {
    }

    /** P(Z &lt;= x). */
    public static double cdf(double x) {
        return 0.5 * Erf.erfc(-x / SQRT2);
    }

    /** P(Z &gt; x), accurate in the far upper tail. */
    public static double sf(double x) {
        return 0.5 * Erf.erfc(x / SQRT2);
    }

    public static double pdf(double x) {
        return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    }

    /** The x with P(Z &lt;= x) = p, for p in (0, 1): commons-math's erfInv polished by two Newton steps. */
    public static double quantile(double p) {
        if (!(p > 0 && p < 1)) throw new IllegalArgumentException("p must be in (0, 1), got " + p);
        double x = SQRT2 * Erf.erfInv(2 * p - 1);
        for (int i = 0; i < 2; i++) {
            double err = p < 0.5 ? cdf(x) - p : (1 - p) - sf(x);
            double d = pdf(x);
            if (d > 0) x -= err / d;
        }
        return x;
    }
}
