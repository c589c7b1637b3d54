package dev.vigil.guardrails;

import static dev.vigil.guardrails.Fixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Worked examples whose expected values were computed independently, with plain Python 3 (math.erf/erfc,
 * statistics.NormalDist), by src/test/resources/known_answers.py — never by calling this module. Each test
 * quotes the formulas and intermediate values it checks. Tolerance: 1e-6 relative (|a - b| &lt;= 1e-6 |b| + 1e-12).
 *
 * <p>Shared constants (python3 known_answers.py):
 * <pre>
 * z975    = NormalDist().inv_cdf(0.975)                                        = 1.9599639845400536
 * rho_two = sqrt((-2 ln 0.05 + ln(-2 ln 0.05 + 1)) / 5000)                      = 0.03984006677137368
 * rho_one = sqrt((-2 ln 0.10 + ln(-2 ln 0.10 + 1)) / 5000)                      = 0.03557768852889753
 * hw_two(s2, n) = sqrt(s2) sqrt(2 (n rho^2 + 1) / (n rho)^2 ln(sqrt(n rho^2 + 1) / alpha))
 * hw_one(s2, n) = sqrt(s2 2 (n rho1^2 + 1) / (n rho1)^2 ln(1 + sqrt(n rho1^2 + 1) / (2 alpha)))
 * p_seq = min(1, sqrt(n rho^2 + 1) exp(-rho^2 (est^2 n / var) / (2 (n rho^2 + 1))))
 * fixed p = erfc(|est| / se / sqrt 2)
 * </pre>
 */
class KnownAnswersTest {

    static void close(double actual, double expected) {
        assertThat(Math.abs(actual - expected))
                .as("actual %s vs expected %s", actual, expected)
                .isLessThanOrEqualTo(1e-6 * Math.abs(expected) + 1e-12);
    }

    static void effect(EffectFigures f, double est, double se, double fl, double fu, double fp, double al, double au,
                       double ap) {
        close(f.estimate(), est);
        close(f.standardError(), se);
        close(f.fixedHorizon().lower(), fl);
        close(f.fixedHorizon().upper(), fu);
        close(f.fixedHorizonPValue(), fp);
        close(f.alwaysValid().lower(), al);
        close(f.alwaysValid().upper(), au);
        close(f.alwaysValidPValue(), ap);
    }

    @Test
    void constants() {
        close(Normal.quantile(0.975), 1.9599639845400536);
        close(SequentialTest.rho(0.05, 5000, true), 0.03984006677137368);
        close(SequentialTest.rho(0.05, 5000, false), 0.03557768852889753);
    }

    /**
     * A: mean metric. control n=1000, sum=5000, sumSq=28996; treatment n=1100, sum=5720, sumSq=34590.59.
     * <pre>
     * var_unit = (ss - s^2/n)/(n-1): control 4.0, treatment 4.409999999999997; means 5.0 and 5.2
     * abs: est 0.2, var = 4.41/1100 + 4/1000, se 0.08949352439752782, n = 2100
     *   fixed [0.024595915331289048, 0.37540408466871134], p 0.025430576039384273
     *   always-valid half-width 0.2786569857016883 -> [-0.07865698570168811, 0.47865698570168846], p 0.3049147827599078
     * rel: est 5.2/5 - 1 = 0.04, var = vt/c^2 + t^2 vc/c^4, se 0.01825978193636595
     *   fixed [0.0042114850391677325, 0.07578851496083233], p 0.02848026846985263
     *   always-valid [-0.01685568680205455, 0.09685568680205461], p 0.32873424848614397
     * </pre>
     */
    @Test
    void meanMetric() {
        MetricResult r = only(ExperimentAnalyzer.analyze(successOnly("revenue", MetricKind.MEAN),
                observation("revenue", new MeanSums(1000, 5000, 28996), new MeanSums(1100, 5720, 34590.59))));
        close(r.controlValue(), 5.0);
        close(r.variantValue(), 5.2);
        effect(r.absolute(), 0.20000000000000018, 0.08949352439752782, 0.024595915331289048, 0.37540408466871134,
                0.025430576039384273, -0.07865698570168811, 0.47865698570168846, 0.3049147827599078);
        effect(r.relative(), 0.040000000000000036, 0.01825978193636595, 0.0042114850391677325, 0.07578851496083233,
                0.02848026846985263, -0.01685568680205455, 0.09685568680205461, 0.32873424848614397);
        assertThat(r.cupedApplied()).isFalse();
        // one success metric, one variant: BH-adjusted p equals the always-valid p
        close(r.bhAdjustedPValue(), 0.3049147827599078);
        assertThat(r.significant()).isFalse();
    }

    /**
     * B: proportion. control 1200 of 10000 units, treatment 1300 of 10000.
     * <pre>
     * var_unit = (c - c^2/n)/(n-1): 0.10561056105610561 and 0.11311131113111311
     * abs: est 0.01, se 0.004676771024833467, fixed [0.0008336972273859378, 0.01916630277261408] p 0.03249829069060343
     *      always-valid [-0.004624796818546901, 0.02462479681854692] p 0.6238622626528251
     * rel: est 0.0833333, se 0.04057375306474114, fixed [0.0038102386088192247, 0.16285642805784772] p 0.03998799137114669
     *      always-valid [-0.04354542373792247, 0.21021209040458944] p 0.7405114676153112
     * </pre>
     */
    @Test
    void proportionMetric() {
        MetricResult r = only(ExperimentAnalyzer.analyze(successOnly("converted", MetricKind.PROPORTION),
                observation("converted", new ProportionSums(10000, 1200), new ProportionSums(10000, 1300))));
        effect(r.absolute(), 0.010000000000000009, 0.004676771024833467, 0.0008336972273859378, 0.01916630277261408,
                0.03249829069060343, -0.004624796818546901, 0.02462479681854692, 0.6238622626528251);
        effect(r.relative(), 0.08333333333333348, 0.04057375306474114, 0.0038102386088192247, 0.16285642805784772,
                0.03998799137114669, -0.04354542373792247, 0.21021209040458944, 0.7405114676153112);
    }

    /**
     * C: ratio (delta method). control n=2000, sums Y=3000, Y2=9000, D=6000, D2=24000, YD=11000;
     * treatment n=2000, Y=3300, Y2=10200, D=6100, D2=24800, YD=12000.
     * <pre>
     * f = sumY/sumD; unit var = (varY - 2 f covYD + f^2 varD) / mean(D)^2, var/cov with n-1
     * control f 0.5, unit var 0.22233338891668059; treatment f 0.5409836065573771, unit var 0.2406170757620605
     * abs: est 0.040983606557377095 se 0.0152143101171026 fixed [0.011164106678232633, 0.07080310643652156]
     *      p 0.0070652319737832025; always-valid [-0.005273581975906931, 0.08724079509066113] p 0.11798719559266382
     * rel: est 0.08196721311475419 se 0.03165098215445999 fixed [0.019932428016692663, 0.14400199821281573]
     *      p 0.009605374595405933; always-valid [-0.014263601001271137, 0.17819802723077952] p 0.14960621809858018
     * </pre>
     */
    @Test
    void ratioMetric() {
        MetricResult r = only(ExperimentAnalyzer.analyze(successOnly("ctr", MetricKind.RATIO),
                observation("ctr", new RatioSums(2000, 3000, 9000, 6000, 24000, 11000),
                        new RatioSums(2000, 3300, 10200, 6100, 24800, 12000))));
        close(r.controlValue(), 0.5);
        close(r.variantValue(), 0.5409836065573771);
        close(MetricEstimate.of(new RatioSums(2000, 3000, 9000, 6000, 24000, 11000), null).unitVariance(),
                0.22233338891668059);
        effect(r.absolute(), 0.040983606557377095, 0.0152143101171026, 0.011164106678232633, 0.07080310643652156,
                0.0070652319737832025, -0.005273581975906931, 0.08724079509066113, 0.11798719559266382);
        effect(r.relative(), 0.08196721311475419, 0.03165098215445999, 0.019932428016692663, 0.14400199821281573,
                0.009605374595405933, -0.014263601001271137, 0.17819802723077952, 0.14960621809858018);
    }

    /**
     * D: CUPED, mean metric, pre-period covariate. Groups (n, sumY, sumY2, sumX, sumX2, sumXY):
     * control (1000, 5000, 28996, 4800, 27036, 26397.6), treatment (1100, 5720, 34590.59, 5300, 30152, 30527.3).
     * <pre>
     * theta = sum (n-1) cov(X,Y) / sum (n-1) var(X) = 0.6229826450468707; pooled mean of X = 4.809523809523809
     * adjusted value = mean(Y) - theta (mean(X) - 4.8095...): control 5.005933168048065, treatment 5.194606210865395
     * adjusted unit var = varY - 2 theta cov + theta^2 varX; variance reduction 0.37636651563697177
     * abs: est 0.18867304281732977 se 0.07067345520219466 fixed [0.05015561595802334, 0.32719046967663623]
     *      p 0.007593145919002838; always-valid [-0.031383683391017964, 0.4087297690256775] p 0.13426012046600305
     * rel: est 0.03768988447979971 se 0.014393344785045985 fixed [0.009479447084042174, 0.06590032187555724]
     *      p 0.008830090615821498; always-valid [-0.0071268338131366266, 0.08250660277273604] p 0.14895952730328446
     * </pre>
     */
    @Test
    void cupedMean() {
        ExperimentReport report = ExperimentAnalyzer.analyze(successOnly("revenue", MetricKind.MEAN),
                observation("revenue", new MeanSums(1000, 5000, 28996, new CovariateSums(4800, 27036, 26397.6)),
                        new MeanSums(1100, 5720, 34590.59, new CovariateSums(5300, 30152, 30527.3))));
        MetricResult r = only(report);
        assertThat(r.cupedApplied()).isTrue();
        CupedResult c = r.cuped();
        close(c.theta(), 0.6229826450468707);
        close(c.controlValueAdjusted(), 5.005933168048065);
        close(c.variantValueAdjusted(), 5.194606210865395);
        close(c.varianceReduction(), 0.37636651563697177);
        effect(c.absolute(), 0.18867304281732977, 0.07067345520219466, 0.05015561595802334, 0.32719046967663623,
                0.007593145919002838, -0.031383683391017964, 0.4087297690256775, 0.13426012046600305);
        effect(c.relative(), 0.03768988447979971, 0.014393344785045985, 0.009479447084042174, 0.06590032187555724,
                0.008830090615821498, -0.0071268338131366266, 0.08250660277273604, 0.14895952730328446);
        // decisions use the adjusted figures
        close(r.bhAdjustedPValue(), 0.13426012046600305);
    }

    /**
     * E: SRM, closed-form chi-square tails: df=1 p = erfc(sqrt(x/2)); df=2 p = exp(-x/2);
     * df=3 p = erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2).
     * <pre>
     * [50500, 49500] @ 50/50:            x = 1000^2/50000 * 2 = 10   p = 0.0015654022580025488  (not flagged)
     * [5100, 2400, 2500] @ 50/25/25:     x = 2 + 4 + 0 = 6           p = 0.049787068367863944
     * [101000, 99000] @ 50/50 (1% skew): x = 20                      p = 7.744216431044074e-06  (flagged)
     * [3400, 3300, 3300, 3100] @ 25% each: x = 14.50381679389313     p = 0.0022937355688359765
     * </pre>
     */
    @Test
    void sampleRatioMismatch() {
        List<Variant> two = twoArms();
        SrmResult a = SampleRatioMismatch.test(two, java.util.Map.of("control", 50500L, "treatment", 49500L));
        close(a.chiSquare(), 10.0);
        close(a.pValue(), 0.0015654022580025488);
        assertThat(a.flagged()).isFalse();
        List<Variant> three = List.of(new Variant("a", 0.5, true), new Variant("b", 0.25, false),
                new Variant("c", 0.25, false));
        SrmResult b = SampleRatioMismatch.test(three, java.util.Map.of("a", 5100L, "b", 2400L, "c", 2500L));
        close(b.chiSquare(), 6.0);
        close(b.pValue(), 0.049787068367863944);
        assertThat(b.degreesOfFreedom()).isEqualTo(2);
        SrmResult c = SampleRatioMismatch.test(two, java.util.Map.of("control", 101000L, "treatment", 99000L));
        close(c.chiSquare(), 20.0);
        close(c.pValue(), 7.744216431044074e-06);
        assertThat(c.flagged()).isTrue();
        List<Variant> four = List.of(new Variant("a", 0.25, true), new Variant("b", 0.25, false),
                new Variant("c", 0.25, false), new Variant("d", 0.25, false));
        SrmResult d = SampleRatioMismatch.test(four,
                java.util.Map.of("a", 3400L, "b", 3300L, "c", 3300L, "d", 3100L));
        close(d.chiSquare(), 14.50381679389313);
        close(d.pValue(), 0.0022937355688359765);
    }

    /**
     * F: Benjamini-Hochberg by hand. p = [0.01, 0.04, 0.03, 0.005, 0.5], m = 5.
     * <pre>
     * sorted: 0.005 (rank 1) -> 5*0.005/1 = 0.025;  0.01 (2) -> 0.025;  0.03 (3) -> 0.05;  0.04 (4) -> 0.05;  0.5 (5) -> 0.5
     * running minimum from the largest rank down: 0.5, 0.05, 0.05, 0.025, 0.025
     * in input order: [0.025, 0.05, 0.05, 0.025, 0.5]
     * </pre>
     */
    @Test
    void benjaminiHochberg() {
        double[] adj = BenjaminiHochberg.adjust(new double[] {0.01, 0.04, 0.03, 0.005, 0.5});
        double[] expected = {0.025, 0.05, 0.05, 0.025, 0.5};
        for (int i = 0; i < adj.length; i++) close(adj[i], expected[i]);
    }

    /**
     * G: quantile with unit-clustered interval. 8 units, event values per unit:
     * [3,12,25] [8,9] [15,33,41,47] [22] [5,18,28,36] [11,44] [2,7,13] [31,38,49]; edges 0,10,20,30,40,50.
     * <pre>
     * counts = [6,5,3,4,4]; sum S_i(b)^2 = [10,23,34,48,68]; sum S_i(b) M_i = [17,33,41,55,68]; E = 22; sum M^2 = 68
     * p = 0.9: rank 19.8 in bucket (40,50], t = (19.8-18)/4 = 0.45 -> q = 44.5
     *   interpolated sums: S^2: 48*0.55 + 68*0.45; S*M: 55*0.55 + 68*0.45
     *   var F = (S2 - 2 p SM + p^2 68) / ((n-1) n Mbar^2) = 0.00602125147579694
     *   ranks 22 (0.9 -+ 1.96 sqrt(varF)) -> values 36.135226929570294 and 50 (clamped at the top)
     *   se = (50 - 36.1352...) / (2 * 1.96) = 3.5369968988698943
     * p = 0.5: rank 11 = top of (10,20] -> q = 20; var F = 0.01652892561983471;
     *   values 9.093974504335481 .. 36.359038243496784, se 6.95550121181426
     * </pre>
     */
    @Test
    void quantileUnitClustered() {
        QuantileSums q = new QuantileSums(8, 22, 68, new double[] {0, 10, 20, 30, 40, 50}, new long[] {6, 5, 3, 4, 4},
                new double[] {10, 23, 34, 48, 68}, new double[] {17, 33, 41, 55, 68});
        MetricEstimate p90 = MetricEstimate.of(q, 0.9);
        close(p90.value(), 44.5);
        close(Math.sqrt(p90.unitVariance() / p90.n()), 3.5369968988698943);
        MetricEstimate p50 = MetricEstimate.of(q, 0.5);
        close(p50.value(), 20);
        close(Math.sqrt(p50.unitVariance() / p50.n()), 6.95550121181426);
    }

    /**
     * H: guardrails on data A (relative scale: est 0.04, rel var = 0.01825978193636595^2, n = 2100).
     * <pre>
     * harm = increase, margin 2 %:  upper = 0.04 + hw_one(var n, n) = 0.09248790827857742 (> 0.02),
     *   lower = 0.04 - hw_two = -0.01685568680205455 (< 0) -> INCONCLUSIVE; observed harm 0.04 >= margin -> no unit count
     * harm = decrease, margin 1 %:  harm = -0.04, upper = 0.01248790827857734 (> 0.01) -> INCONCLUSIVE;
     *   beta per guardrail = 0.2 / (1 guardrail + 1) = 0.1, z = 1.2815515655446008; solve
     *   hw_one(s2, N) + z sqrt(s2/N) = 0.01 - max(0, harm) by doubling then bisection to 0.5 unit: N = 136650.47607421875
     *   additional units = ceil((N - 2100) / 1.0) = 134551
     * </pre>
     */
    @Test
    void guardrailInconclusive() {
        ExperimentObservation obs = observation("revenue", new MeanSums(1000, 5000, 28996),
                new MeanSums(1100, 5720, 34590.59));
        SuccessMetric s = SuccessMetric.of("other", MetricKind.MEAN, Direction.INCREASE);
        ExperimentReport up = ExperimentAnalyzer.analyze(definition(List.of(s), List.of(
                GuardrailMetric.of("revenue", MetricKind.MEAN, Direction.INCREASE, Margin.relative(0.02)))), obs);
        GuardrailResult g = guardrailOf(up);
        assertThat(g.status()).isEqualTo(GuardrailStatus.INCONCLUSIVE);
        close(g.observedHarm(), 0.040000000000000036);
        close(g.harmUpperBound(), 0.09248790827857742);
        close(g.harmLowerBound(), -0.01685568680205455);
        assertThat(g.additionalUnitsNeeded()).isNull();

        ExperimentReport down = ExperimentAnalyzer.analyze(definition(List.of(s), List.of(
                GuardrailMetric.of("revenue", MetricKind.MEAN, Direction.DECREASE, Margin.relative(0.01)))), obs);
        GuardrailResult g2 = guardrailOf(down);
        assertThat(g2.status()).isEqualTo(GuardrailStatus.INCONCLUSIVE);
        close(g2.harmUpperBound(), 0.01248790827857734);
        close(g2.powerPerGuardrail(), 0.9);
        assertThat(g2.additionalUnitsNeeded()).isEqualTo(134551L);
    }

    /**
     * H3: proportion guardrail, 12000 vs 13000 of 100000 units per arm, harm = increase, absolute margin 0.005.
     * <pre>
     * est 0.01; upper = 0.014722106981749007 (> 0.005); two-sided always-valid lower 0.004921688521590077 (> 0) -> FAIL
     * margin 0.02 instead: upper 0.0147 < 0.02 -> PASS (pass is checked first)
     * </pre>
     */
    @Test
    void guardrailFailAndPass() {
        ExperimentObservation obs = observation("errors", new ProportionSums(100000, 12000),
                new ProportionSums(100000, 13000));
        GuardrailResult fail = guardrailOf(ExperimentAnalyzer.analyze(definition(List.of(), List.of(
                GuardrailMetric.of("errors", MetricKind.PROPORTION, Direction.INCREASE, Margin.absolute(0.005)))), obs));
        assertThat(fail.status()).isEqualTo(GuardrailStatus.FAIL);
        close(fail.observedHarm(), 0.010000000000000009);
        close(fail.harmUpperBound(), 0.014722106981749007);
        close(fail.harmLowerBound(), 0.004921688521590077);
        GuardrailResult pass = guardrailOf(ExperimentAnalyzer.analyze(definition(List.of(), List.of(
                GuardrailMetric.of("errors", MetricKind.PROPORTION, Direction.INCREASE, Margin.absolute(0.02)))), obs));
        assertThat(pass.status()).isEqualTo(GuardrailStatus.PASS);
    }

    static GuardrailResult guardrailOf(ExperimentReport report) {
        return report.metrics().stream().filter(m -> m.role() == MetricRole.GUARDRAIL).findFirst().orElseThrow()
                .guardrail();
    }
}
