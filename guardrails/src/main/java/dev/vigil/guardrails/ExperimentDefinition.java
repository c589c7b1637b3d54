package dev.vigil.guardrails;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The declared goal state of an experiment. Plain record: Jackson (or any mapper that understands records)
 * can read and write it without annotations. Call {@link #validate()} (list of problems) or
 * {@link #requireValid()} (throws) before analysing.
 *
 * @param id                        experiment key, as used in exposure assignments ("exp-42")
 * @param version                   definition version; bumped on every change and echoed in every report
 * @param variants                  arms with planned allocation; exactly one is the control
 * @param start                     start of exposure (inclusive)
 * @param end                       planned end (exclusive); after it, an undecided variant is not shipped
 * @param randomisationUnit         what was randomised, e.g. "user_id"; all per-unit statistics are per this unit
 * @param successMetrics            metrics the change is meant to improve (may be empty)
 * @param guardrailMetrics          metrics that must not get worse beyond their margin (may be empty)
 * @param alpha                     false-positive rate of every test, e.g. 0.05
 * @param power                     desired power (1 - beta) used for "units still needed", e.g. 0.8
 * @param prePeriod                 window for the CUPED covariate, or null for no CUPED
 * @param sequentialTuningParameter total units (all compared arms) at which the always-valid interval is
 *                                  tightest (GrowthBook's "N", default 5000)
 */
public record ExperimentDefinition(
        String id,
        long version,
        List<Variant> variants,
        Instant start,
        Instant end,
        String randomisationUnit,
        List<SuccessMetric> successMetrics,
        List<GuardrailMetric> guardrailMetrics,
        double alpha,
        double power,
        PrePeriod prePeriod,
        double sequentialTuningParameter) {

    public static final double DEFAULT_ALPHA = 0.05;
    public static final double DEFAULT_POWER = 0.8;
    public static final double DEFAULT_SEQUENTIAL_TUNING_PARAMETER = 5000;
    /** Plausible range for a quantile metric's probability. */
    private static final double MIN_QUANTILE = 0.001, MAX_QUANTILE = 0.999;

    public ExperimentDefinition {
        // defensive copies that keep null elements, so validate() can report them instead of a constructor NPE
        variants = variants == null ? List.of() : java.util.Collections.unmodifiableList(new ArrayList<>(variants));
        successMetrics = successMetrics == null ? List.of()
                : java.util.Collections.unmodifiableList(new ArrayList<>(successMetrics));
        guardrailMetrics = guardrailMetrics == null ? List.of()
                : java.util.Collections.unmodifiableList(new ArrayList<>(guardrailMetrics));
    }

    /** The control variant; call only on a valid definition. */
    public Variant control() {
        return variants.stream().filter(Variant::control).findFirst()
                .orElseThrow(() -> new IllegalStateException("experiment " + id + " has no control variant"));
    }

    /** Every problem with this definition, in plain words; empty when valid. */
    public List<String> validate() {
        List<String> errors = new ArrayList<>();
        if (id == null || id.isBlank()) errors.add("id is missing");
        if (version < 0) errors.add("version must be >= 0, got " + version);
        if (variants.size() < 2) errors.add("at least two variants are needed, got " + variants.size());
        Set<String> variantIds = new HashSet<>();
        double total = 0;
        int controls = 0;
        for (Variant v : variants) {
            if (v == null) { errors.add("a variant is null"); continue; }
            if (v.id() == null || v.id().isBlank()) errors.add("a variant has no id");
            else if (!variantIds.add(v.id())) errors.add("variant id '" + v.id() + "' is used twice");
            if (!(v.allocation() > 0 && v.allocation() <= 1))
                errors.add("variant '" + v.id() + "' allocation must be in (0, 1], got " + v.allocation());
            total += v.allocation();
            if (v.control()) controls++;
        }
        if (!variants.isEmpty() && Math.abs(total - 1.0) > 1e-9)
            errors.add("variant allocations must sum to 1, they sum to " + total);
        if (controls != 1) errors.add("exactly one variant must be the control, found " + controls);
        if (start == null) errors.add("start is missing");
        if (end == null) errors.add("end is missing");
        if (start != null && end != null && !end.isAfter(start)) errors.add("end must be after start");
        if (randomisationUnit == null || randomisationUnit.isBlank()) errors.add("randomisationUnit is missing");
        if (!(alpha > 0 && alpha < 0.5)) errors.add("alpha must be in (0, 0.5), got " + alpha);
        if (!(power > 0.5 && power < 1)) errors.add("power must be in (0.5, 1), got " + power);
        if (!(sequentialTuningParameter > 0) || Double.isInfinite(sequentialTuningParameter))
            errors.add("sequentialTuningParameter must be a positive number, got " + sequentialTuningParameter);
        if (successMetrics.isEmpty() && guardrailMetrics.isEmpty())
            errors.add("at least one success or guardrail metric is needed");
        Set<String> metricIds = new HashSet<>();
        for (SuccessMetric m : successMetrics) {
            if (m == null) { errors.add("a success metric is null"); continue; }
            checkMetric("success metric", m.metricId(), m.kind(), m.quantile(), metricIds, errors);
            if (m.goodDirection() == null) errors.add("success metric '" + m.metricId() + "' has no goodDirection");
        }
        for (GuardrailMetric g : guardrailMetrics) {
            if (g == null) { errors.add("a guardrail metric is null"); continue; }
            checkMetric("guardrail metric", g.metricId(), g.kind(), g.quantile(), metricIds, errors);
            if (g.harmDirection() == null) errors.add("guardrail metric '" + g.metricId() + "' has no harmDirection");
            if (g.margin() == null || g.margin().type() == null)
                errors.add("guardrail metric '" + g.metricId() + "' has no margin");
            else if (!(g.margin().value() > 0) || Double.isInfinite(g.margin().value()))
                errors.add("guardrail metric '" + g.metricId() + "' margin must be a positive number, got "
                        + g.margin().value());
        }
        if (prePeriod != null) {
            if (prePeriod.start() == null || prePeriod.end() == null) errors.add("prePeriod needs start and end");
            else {
                if (!prePeriod.end().isAfter(prePeriod.start())) errors.add("prePeriod end must be after its start");
                if (start != null && prePeriod.end().isAfter(start))
                    errors.add("prePeriod must end before the experiment starts (CUPED needs pre-exposure data)");
            }
        }
        return errors;
    }

    private static void checkMetric(String what, String metricId, MetricKind kind, Double quantile, Set<String> ids,
                                    List<String> errors) {
        if (metricId == null || metricId.isBlank()) { errors.add("a " + what + " has no metricId"); return; }
        if (!ids.add(metricId)) errors.add("metric '" + metricId + "' is listed twice");
        if (kind == null) { errors.add(what + " '" + metricId + "' has no kind"); return; }
        if (kind == MetricKind.QUANTILE) {
            if (quantile == null || !(quantile >= MIN_QUANTILE && quantile <= MAX_QUANTILE))
                errors.add(what + " '" + metricId + "' is a quantile metric and needs quantile in ["
                        + MIN_QUANTILE + ", " + MAX_QUANTILE + "], got " + quantile);
        } else if (quantile != null) {
            errors.add(what + " '" + metricId + "' sets quantile but is of kind " + kind);
        }
    }

    /** Returns this definition, or throws {@link InvalidDefinitionException} listing every problem. */
    public ExperimentDefinition requireValid() {
        List<String> errors = validate();
        if (!errors.isEmpty()) throw new InvalidDefinitionException(id, errors);
        return this;
    }

    /** Thrown by {@link #requireValid()}; {@link #errors()} lists each problem in plain words. */
    public static final class InvalidDefinitionException extends IllegalArgumentException {
        private final List<String> errors;

        public InvalidDefinitionException(String id, List<String> errors) {
            super("invalid experiment definition '" + id + "': " + String.join("; ", errors));
            this.errors = List.copyOf(errors);
        }

        public List<String> errors() {
            return errors;
        }
    }
}
