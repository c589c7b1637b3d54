package dev.vigil.guardrails;

/**
 * The asymptotic normal-mixture confidence sequence of Howard et al. (2021) / Waudby-Smith et al. (2023,
 * arXiv:2103.06476v7), parameterised exactly as GrowthBook's gbstats does it.
 *
 * <p>Notation: {@code n} is the total number of units in the two compared arms, {@code s2} the per-unit variance
 * of the effect estimator, i.e. {@code s2 = Var(estimate) * n}, and {@code N} the tuning parameter (total units
 * at which the sequence is tightest).
 * <ul>
 *   <li>mixing parameter (eq. 161): {@code rho = sqrt((-2 ln a + ln(-2 ln a + 1)) / N)} with {@code a = alpha}
 *       for the two-sided sequence and {@code a = 2 alpha} for the one-sided one;</li>
 *   <li>two-sided half-width (eq. 9): {@code sqrt(s2) * sqrt(2 (n rho^2 + 1) / (n rho)^2 * ln(sqrt(n rho^2 + 1) / alpha))};</li>
 *   <li>one-sided half-width: {@code sqrt(s2 * 2 (n rho^2 + 1) / (n rho)^2 * ln(1 + sqrt(n rho^2 + 1) / (2 alpha)))};</li>
 *   <li>always-valid p-value (eq. 155): {@code min(1, 1/E)} with
 *       {@code E = exp(rho^2 * st2 / (2 (n rho^2 + 1))) / sqrt(n rho^2 + 1)} and {@code st2 = estimate^2 * n / Var(estimate)}.
 *       It is below alpha exactly when the two-sided sequence excludes zero.</li>
 * </ul>
 */
public final class SequentialTest {
    private SequentialTest() {
    }

    public static double rho(double alpha, double tuning, boolean twoSided) {
        double a = twoSided ? alpha : 2 * alpha;
        double la = Math.log(a);
        return Math.sqrt((-2 * la + Math.log(-2 * la + 1)) / tuning);
    }

    /** Half-width of the two-sided always-valid interval (level 1 - alpha). */
    public static double halfWidthTwoSided(double s2, double n, double tuning, double alpha) {
        double rho = rho(alpha, tuning, true);
        double r2 = rho * rho;
        double nr = n * rho;
        return Math.sqrt(s2) * Math.sqrt(2 * (n * r2 + 1) / (nr * nr) * Math.log(Math.sqrt(n * r2 + 1) / alpha));
    }

    /** Half-width of the one-sided always-valid bound (level 1 - alpha on one side only). */
    public static double halfWidthOneSided(double s2, double n, double tuning, double alpha) {
        double rho = rho(alpha, tuning, false);
        double r2 = rho * rho;
        double nr = n * rho;
        return Math.sqrt(s2 * 2 * (n * r2 + 1) / (nr * nr) * Math.log(1 + Math.sqrt(n * r2 + 1) / (2 * alpha)));
    }

    /** Always-valid two-sided p-value for "effect = 0". */
    public static double pValue(double estimate, double variance, double n, double tuning, double alpha) {
        double rho = rho(alpha, tuning, true);
        double r2 = rho * rho;
        double st2 = estimate * estimate * n / variance;
        double tr2p1 = n * r2 + 1;
        // log E to avoid overflow for huge effects
        double logE = r2 * st2 / (2 * tr2p1) - 0.5 * Math.log(tr2p1);
        return logE <= 0 ? 1.0 : Math.exp(-logE);
    }
}
