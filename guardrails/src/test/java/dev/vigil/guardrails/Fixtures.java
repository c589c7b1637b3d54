package dev.vigil.guardrails;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small builders shared by the tests. */
final class Fixtures {
    static final Instant START = Instant.parse("2026-01-05T00:00:00Z");
    static final Instant END = Instant.parse("2026-01-26T00:00:00Z");
    static final Instant MID = Instant.parse("2026-01-12T00:00:00Z");
    static final PrePeriod PRE = new PrePeriod(Instant.parse("2025-12-22T00:00:00Z"), START);

    private Fixtures() {
    }

    static List<Variant> twoArms() {
        return List.of(new Variant("control", 0.5, true), new Variant("treatment", 0.5, false));
    }

    static ExperimentDefinition definition(List<SuccessMetric> success, List<GuardrailMetric> guardrails) {
        return new ExperimentDefinition("exp-1", 3, twoArms(), START, END, "user_id", success, guardrails,
                0.05, 0.8, PRE, 5000);
    }

    static ExperimentDefinition successOnly(String metric, MetricKind kind) {
        return definition(List.of(SuccessMetric.of(metric, kind, Direction.INCREASE)), List.of());
    }

    static ExperimentObservation observation(String metric, MetricSums control, MetricSums treatment) {
        Map<String, MetricSums> byVariant = new LinkedHashMap<>();
        byVariant.put("control", control);
        byVariant.put("treatment", treatment);
        return new ExperimentObservation("exp-1", MID,
                Map.of("control", control.units(), "treatment", treatment.units()), Map.of(metric, byVariant));
    }

    static MetricResult only(ExperimentReport report) {
        if (report.metrics().size() != 1) throw new AssertionError("expected one metric result: " + report.metrics());
        return report.metrics().getFirst();
    }
}
