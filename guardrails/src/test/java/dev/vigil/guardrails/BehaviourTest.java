package dev.vigil.guardrails;

import static dev.vigil.guardrails.Fixtures.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Definition validation, decisions and internal consistency. */
class BehaviourTest {

    @Test
    void validationListsEveryProblemInPlainWords() {
        ExperimentDefinition bad = new ExperimentDefinition("", -1,
                List.of(new Variant("a", 0.6, true), new Variant("a", 0.6, true)), END, START, " ",
                List.of(new SuccessMetric("q", MetricKind.QUANTILE, null, Direction.INCREASE, true)),
                List.of(GuardrailMetric.of("q", MetricKind.MEAN, Direction.INCREASE, Margin.relative(-0.1))),
                0.7, 0.3, new PrePeriod(START, END.plusSeconds(3600)), 0);
        List<String> errors = bad.validate();
        assertThat(errors).anyMatch(e -> e.contains("id is missing"))
                .anyMatch(e -> e.contains("version"))
                .anyMatch(e -> e.contains("used twice"))
                .anyMatch(e -> e.contains("sum to 1"))
                .anyMatch(e -> e.contains("exactly one variant must be the control"))
                .anyMatch(e -> e.contains("end must be after start"))
                .anyMatch(e -> e.contains("randomisationUnit"))
                .anyMatch(e -> e.contains("alpha"))
                .anyMatch(e -> e.contains("power"))
                .anyMatch(e -> e.contains("sequentialTuningParameter"))
                .anyMatch(e -> e.contains("needs quantile"))
                .anyMatch(e -> e.contains("listed twice"))
                .anyMatch(e -> e.contains("margin must be a positive"))
                .anyMatch(e -> e.contains("prePeriod must end before"));
        assertThatThrownBy(bad::requireValid).isInstanceOf(ExperimentDefinition.InvalidDefinitionException.class)
                .hasMessageContaining("sum to 1");
        ExperimentReport r = ExperimentAnalyzer.analyze(bad, observation("q", new MeanSums(10, 1, 1),
                new MeanSums(10, 1, 1)));
        assertThat(r.decision()).isEqualTo(Decision.INVALID);
        assertThat(r.reasons()).anyMatch(s -> s.contains("sum to 1"));
        assertThat(successOnly("m", MetricKind.MEAN).validate()).isEmpty();
    }

    @Test
    void sampleRatioMismatchMakesEverythingUntrustworthy() {
        ExperimentObservation obs = new ExperimentObservation("exp-1", MID,
                Map.of("control", 101_000L, "treatment", 99_000L),
                Map.of("m", Map.of("control", new ProportionSums(101_000, 12_000),
                        "treatment", new ProportionSums(99_000, 14_000))));
        ExperimentReport r = ExperimentAnalyzer.analyze(successOnly("m", MetricKind.PROPORTION), obs);
        assertThat(r.srm().flagged()).isTrue();
        assertThat(r.decision()).isEqualTo(Decision.INVALID);
        assertThat(r.metrics()).allMatch(m -> !m.trustworthy());
        assertThat(r.variants()).allMatch(v -> v.decision() == Decision.INVALID);
        assertThat(r.reasons().getFirst()).contains("Sample ratio mismatch");
    }

    ExperimentDefinition shipDefinition() {
        return definition(List.of(SuccessMetric.of("converted", MetricKind.PROPORTION, Direction.INCREASE)),
                List.of(GuardrailMetric.of("latency", MetricKind.MEAN, Direction.INCREASE, Margin.relative(0.05))));
    }

    ExperimentObservation obs(Instant asOf, long n, long cConv, long tConv, double tLatencyMean) {
        Map<String, Map<String, MetricSums>> metrics = new LinkedHashMap<>();
        metrics.put("converted", Map.of("control", new ProportionSums(n, cConv), "treatment", new ProportionSums(n, tConv)));
        // latency: mean 100 ms, sd 20 ms in both arms
        metrics.put("latency", Map.of(
                "control", new MeanSums(n, 100.0 * n, (400.0 + 100.0 * 100.0) * n),
                "treatment", new MeanSums(n, tLatencyMean * n, (400.0 + tLatencyMean * tLatencyMean) * n)));
        return new ExperimentObservation("exp-1", asOf, Map.of("control", n, "treatment", n), metrics);
    }

    @Test
    void shipWhenSuccessImprovesAndGuardrailsPass() {
        ExperimentReport r = ExperimentAnalyzer.analyze(shipDefinition(), obs(MID, 50_000, 5_000, 5_600, 100.2));
        assertThat(r.decision()).as(r.reasons().toString()).isEqualTo(Decision.SHIP);
        assertThat(r.definitionVersion()).isEqualTo(3);
        assertThat(r.reasons()).anyMatch(s -> s.contains("improved significantly"))
                .anyMatch(s -> s.contains("Every guardrail passed"));
    }

    @Test
    void doNotShipWhenAGuardrailFails() {
        ExperimentReport r = ExperimentAnalyzer.analyze(shipDefinition(), obs(MID, 50_000, 5_000, 5_600, 110));
        assertThat(r.decision()).isEqualTo(Decision.DO_NOT_SHIP);
        assertThat(r.reasons()).anyMatch(s -> s.contains("Guardrail 'latency' fails"));
    }

    @Test
    void keepRunningWhenUndecidedAndDoNotShipAfterTheEnd() {
        ExperimentReport running = ExperimentAnalyzer.analyze(shipDefinition(), obs(MID, 100, 10, 11, 100.5));
        assertThat(running.decision()).isEqualTo(Decision.KEEP_RUNNING);
        MetricResult latency = running.metrics().stream().filter(m -> m.metricId().equals("latency")).findFirst()
                .orElseThrow();
        assertThat(latency.guardrail().status()).isEqualTo(GuardrailStatus.INCONCLUSIVE);
        assertThat(latency.guardrail().additionalUnitsNeeded()).isPositive();
        assertThat(running.reasons()).anyMatch(s -> s.contains("more units"))
                .anyMatch(s -> s.contains("No success metric has improved"));
        ExperimentReport ended = ExperimentAnalyzer.analyze(shipDefinition(),
                obs(END.plusSeconds(1), 100, 10, 11, 100.5));
        assertThat(ended.decision()).isEqualTo(Decision.DO_NOT_SHIP);
        assertThat(ended.reasons()).anyMatch(s -> s.contains("planned end"));
    }

    @Test
    void missingDataIsReportedNotThrown() {
        ExperimentObservation o = new ExperimentObservation("exp-1", MID, Map.of("control", 100L, "treatment", 100L),
                Map.of("m", Map.of("control", new MeanSums(100, 10, 20))));
        ExperimentReport r = ExperimentAnalyzer.analyze(successOnly("m", MetricKind.MEAN), o);
        assertThat(r.decision()).isEqualTo(Decision.KEEP_RUNNING);
        assertThat(only(r).notes()).anyMatch(s -> s.contains("no sufficient statistics for variant 'treatment'"));
        assertThat(only(r).trustworthy()).isFalse();
    }

    @Test
    void benjaminiHochbergSpansMetricsAndVariants() {
        ExperimentDefinition def = new ExperimentDefinition("exp-1", 1,
                List.of(new Variant("control", 0.4, true), new Variant("b", 0.3, false), new Variant("c", 0.3, false)),
                START, END, "user_id",
                List.of(SuccessMetric.of("m1", MetricKind.PROPORTION, Direction.INCREASE),
                        SuccessMetric.of("m2", MetricKind.PROPORTION, Direction.INCREASE)),
                List.of(), 0.05, 0.8, null, 5000);
        Map<String, Map<String, MetricSums>> metrics = Map.of(
                "m1", Map.of("control", new ProportionSums(40_000, 4_000), "b", new ProportionSums(30_000, 3_400),
                        "c", new ProportionSums(30_000, 3_000)),
                "m2", Map.of("control", new ProportionSums(40_000, 8_000), "b", new ProportionSums(30_000, 6_050),
                        "c", new ProportionSums(30_000, 6_000)));
        ExperimentReport r = ExperimentAnalyzer.analyze(def, new ExperimentObservation("exp-1", MID,
                Map.of("control", 40_000L, "b", 30_000L, "c", 30_000L), metrics));
        assertThat(r.metrics()).hasSize(4);
        double[] raw = r.metrics().stream().mapToDouble(m -> m.absolute().alwaysValidPValue()).toArray();
        double[] adj = BenjaminiHochberg.adjust(raw);
        for (int i = 0; i < 4; i++) assertThat(r.metrics().get(i).bhAdjustedPValue()).isEqualTo(adj[i]);
        assertThat(r.variants()).extracting(VariantDecision::decision).contains(Decision.SHIP);
    }

    @Test
    void alwaysValidPValueAgreesWithTheInterval() {
        for (double est : new double[] {0.01, 0.05, 0.1, 0.2, 0.3}) {
            EffectFigures f = ExperimentAnalyzer.figures(est, 0.0025, 4000, 0.05, 5000, 1.96);
            assertThat(f.alwaysValidPValue() < 0.05).isEqualTo(f.alwaysValid().excludesZero());
        }
    }

    @Test
    void ratioCupedWithUnitDenominatorsEqualsMeanCuped() {
        // D = E = 1 for every unit: the ratio is a mean, and its CUPED must match the mean metric's exactly
        MeanSums mc = new MeanSums(1000, 5000, 28996, new CovariateSums(4800, 27036, 26397.6));
        MeanSums mt = new MeanSums(1100, 5720, 34590.59, new CovariateSums(5300, 30152, 30527.3));
        RatioSums rc = new RatioSums(1000, 5000, 28996, 1000, 1000, 5000,
                new RatioCovariateSums(4800, 27036, 1000, 1000, 4800, 26397.6, 5000, 4800, 1000));
        RatioSums rt = new RatioSums(1100, 5720, 34590.59, 1100, 1100, 5720,
                new RatioCovariateSums(5300, 30152, 1100, 1100, 5300, 30527.3, 5720, 5300, 1100));
        CupedResult a = only(ExperimentAnalyzer.analyze(successOnly("m", MetricKind.MEAN), observation("m", mc, mt))).cuped();
        CupedResult b = only(ExperimentAnalyzer.analyze(successOnly("m", MetricKind.RATIO), observation("m", rc, rt))).cuped();
        assertThat(b.theta()).isCloseTo(a.theta(), org.assertj.core.data.Offset.offset(1e-12));
        assertThat(b.absolute().standardError()).isCloseTo(a.absolute().standardError(),
                org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void quantileWithOneEventPerUnitHasTheBinomialVariance() {
        // one event per unit: S_i in {0,1}, so sum S^2 = sum S M = cumulative count, and Var(F) = p(1-p)/(n-1)
        // (the n-1 of the unbiased unit variance)
        long[] counts = {100, 200, 300, 250, 150};
        double[] cum = new double[5];
        double c = 0;
        for (int i = 0; i < 5; i++) { c += counts[i]; cum[i] = c; }
        QuantileSums q = new QuantileSums(1000, 1000, 1000, new double[] {0, 1, 2, 3, 4, 5}, counts, cum, cum);
        MetricEstimate e = MetricEstimate.of(q, 0.5);
        assertThat(e.value()).isCloseTo(2 + 200.0 / 300.0, org.assertj.core.data.Offset.offset(1e-12));
        // sigma_F = sqrt(0.25 / 999); ranks 1000 (0.5 -+ 1.96 sigma_F) fall in bucket (2,3] of density 300 per unit
        double sigmaF = Math.sqrt(0.25 / 999);
        double expectedSe = 1000 * sigmaF / 300.0;
        assertThat(Math.sqrt(e.variance())).isCloseTo(expectedSe, org.assertj.core.data.Offset.offset(1e-12));
    }

    @Test
    void glossaryExplainsEveryNumberInTheReport() {
        java.util.Set<String> names = new java.util.HashSet<>();
        for (String key : ReportGlossary.ENTRIES.keySet()) names.add(key.substring(key.lastIndexOf('.') + 1));
        List<Class<?>> numeric = List.of(double.class, long.class, int.class, boolean.class, Double.class, Long.class,
                Boolean.class, Interval.class);
        for (Class<?> type : List.of(ExperimentReport.class, SrmResult.class, MetricResult.class, EffectFigures.class,
                CupedResult.class, GuardrailResult.class)) {
            for (var c : type.getRecordComponents()) {
                if (numeric.contains(c.getType())) {
                    assertThat(names).as("glossary entry for %s.%s", type.getSimpleName(), c.getName())
                            .contains(c.getName());
                }
            }
        }
        assertThat(ReportGlossary.ENTRIES.values()).allMatch(s -> s.endsWith("."));
    }
}
