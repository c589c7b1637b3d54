package dev.vigil.guardrails;

/**
 * A variant's metric estimate in linearised form: {@code Var(value) = unitVariance / n}. For CUPED,
 * {@code covariateValue} is the same estimator on the pre-period data and {@code unitCovariance} the per-unit
 * covariance of the two linearised values, so {@code Cov(value, covariateValue) = unitCovariance / n}.
 *
 * @param n                     units
 * @param value                 mean, proportion, ratio or quantile
 * @param unitVariance          per-unit variance of the (linearised) value
 * @param hasCovariate          true when pre-period sums were supplied
 * @param covariateValue        pre-period estimate (NaN without covariate)
 * @param covariateUnitVariance per-unit variance of the linearised pre-period value
 * @param unitCovariance        per-unit covariance of linearised value and pre-period value
 */
public record MetricEstimate(long n, double value, double unitVariance, boolean hasCovariate, double covariateValue,
                             double covariateUnitVariance, double unitCovariance) {

    /** Estimator variance, unitVariance / n. */
    public double variance() {
        return unitVariance / n;
    }

    /**
     * Linearises sufficient statistics; throws {@link IllegalArgumentException} with a plain-words message when
     * they cannot be used (fewer than 2 units, zero denominator, empty histogram).
     */
    public static MetricEstimate of(MetricSums sums, Double quantile) {
        long n = sums.units();
        if (n < 2) throw new IllegalArgumentException("fewer than 2 units (" + n + ")");
        return switch (sums) {
            case MeanSums m -> mean(n, m.sum(), m.sumSq(), m.pre());
            case ProportionSums p -> {
                if (p.unitsWithEvent() < 0 || p.unitsWithEvent() > n)
                    throw new IllegalArgumentException("unitsWithEvent " + p.unitsWithEvent() + " outside [0, " + n + "]");
                yield mean(n, p.unitsWithEvent(), p.unitsWithEvent(), p.pre());
            }
            case RatioSums r -> ratio(r);
            case QuantileSums q -> {
                if (quantile == null) throw new IllegalArgumentException("quantile metric without a quantile");
                yield QuantileEstimator.estimate(q, quantile);
            }
        };
    }

    private static double cov(double sxy, double sx, double sy, long n) {
        return (sxy - sx * sy / n) / (n - 1);
    }

    private static MetricEstimate mean(long n, double sum, double sumSq, CovariateSums pre) {
        double value = sum / n;
        double var = Math.max(0, cov(sumSq, sum, sum, n));
        if (pre == null) return new MetricEstimate(n, value, var, false, Double.NaN, Double.NaN, Double.NaN);
        double varX = Math.max(0, cov(pre.sumXSq(), pre.sumX(), pre.sumX(), n));
        double covXY = cov(pre.sumXY(), pre.sumX(), sum, n);
        return new MetricEstimate(n, value, var, true, pre.sumX() / n, varX, covXY);
    }

    private static MetricEstimate ratio(RatioSums r) {
        long n = r.units();
        if (!(r.sumDen() != 0)) throw new IllegalArgumentException("denominator sums to 0");
        double mY = r.sumNum() / n, mD = r.sumDen() / n;
        double f = r.sumNum() / r.sumDen();
        double varY = cov(r.sumNumSq(), r.sumNum(), r.sumNum(), n);
        double varD = cov(r.sumDenSq(), r.sumDen(), r.sumDen(), n);
        double covYD = cov(r.sumNumDen(), r.sumNum(), r.sumDen(), n);
        // per-unit linearised value (Y_i - f D_i) / mean(D)
        double unitVar = Math.max(0, (varY - 2 * f * covYD + f * f * varD) / (mD * mD));
        RatioCovariateSums p = r.pre();
        if (p == null || p.sumPreDen() == 0)
            return new MetricEstimate(n, f, unitVar, false, Double.NaN, Double.NaN, Double.NaN);
        double mE = p.sumPreDen() / n;
        double h = p.sumPreNum() / p.sumPreDen();
        double varX = cov(p.sumPreNumSq(), p.sumPreNum(), p.sumPreNum(), n);
        double varE = cov(p.sumPreDenSq(), p.sumPreDen(), p.sumPreDen(), n);
        double covXE = cov(p.sumPreNumPreDen(), p.sumPreNum(), p.sumPreDen(), n);
        double unitVarH = Math.max(0, (varX - 2 * h * covXE + h * h * varE) / (mE * mE));
        double covYX = cov(p.sumNumPreNum(), r.sumNum(), p.sumPreNum(), n);
        double covYE = cov(p.sumNumPreDen(), r.sumNum(), p.sumPreDen(), n);
        double covDX = cov(p.sumDenPreNum(), r.sumDen(), p.sumPreNum(), n);
        double covDE = cov(p.sumDenPreDen(), r.sumDen(), p.sumPreDen(), n);
        // covariance of (Y - f D)/mD with (X - h E)/mE
        double unitCov = (covYX - h * covYE - f * covDX + f * h * covDE) / (mD * mE);
        return new MetricEstimate(n, f, unitVar, true, h, unitVarH, unitCov);
    }
}
