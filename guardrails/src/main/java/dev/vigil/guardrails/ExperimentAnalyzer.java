package dev.vigil.guardrails;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Entry point: turns an {@link ExperimentDefinition} and the sufficient statistics of an
 * {@link ExperimentObservation} into an {@link ExperimentReport}. Pure and stateless; safe to call concurrently.
 *
 * <p>Pipeline: validate the definition; sample ratio mismatch test; per metric, linearise every variant's sums
 * ({@link MetricEstimate}), pool the CUPED theta over all variants, compare each variant with the control
 * (fixed-horizon and always-valid inference, absolute and relative); Benjamini-Hochberg over the success
 * metrics x variants; non-inferiority verdict per guardrail (no alpha correction, beta / (G + 1) for the sample
 * still needed); decision per variant and per experiment.
 */
public final class ExperimentAnalyzer {

    private ExperimentAnalyzer() {
    }

    private record Spec(String id, MetricRole role, MetricKind kind, Double quantile, boolean cuped,
                        Direction goodDirection, GuardrailMetric guardrail) {
    }

    /** Mutable working row, frozen into a {@link MetricResult} at the end. */
    private static final class Row {
        Spec spec;
        String variantId, controlId;
        long controlUnits, variantUnits;
        Double controlValue, variantValue;
        EffectFigures absolute, relative;
        CupedResult cuped;
        Double bh;
        Boolean significant;
        MetricResult.Movement movement;
        GuardrailResult guardrail;
        final List<String> notes = new ArrayList<>();

        boolean available() {
            return absolute != null;
        }

        EffectFigures primaryAbsolute() {
            return cuped != null ? cuped.absolute() : absolute;
        }

        EffectFigures primaryRelative() {
            return cuped != null ? cuped.relative() : relative;
        }
    }

    public static ExperimentReport analyze(ExperimentDefinition def, ExperimentObservation obs) {
        List<String> errors = def.validate();
        if (!errors.isEmpty()) {
            List<String> reasons = new ArrayList<>();
            reasons.add("The experiment definition is invalid, so nothing was computed.");
            errors.forEach(e -> reasons.add("Definition problem: " + e + "."));
            return new ExperimentReport(def.id(), def.version(), obs.asOf(), def.alpha(), null, Decision.INVALID,
                    reasons, List.of(), List.of(), ReportGlossary.ENTRIES);
        }
        double alpha = def.alpha();
        double tuning = def.sequentialTuningParameter();
        double zFixed = Normal.quantile(1 - alpha / 2);
        int guardrailCount = def.guardrailMetrics().size();
        double beta = 1 - def.power();
        double betaPerGuardrail = beta / (guardrailCount + (def.successMetrics().isEmpty() ? 0 : 1));
        double zBeta = Normal.quantile(1 - betaPerGuardrail);
        double powerPerGuardrail = 1 - betaPerGuardrail;

        SrmResult srm = SampleRatioMismatch.test(def.variants(), obs.assignedUnits());
        Variant control = def.control();
        List<Variant> treatments = def.variants().stream().filter(v -> !v.control()).toList();

        List<Spec> specs = new ArrayList<>();
        for (SuccessMetric m : def.successMetrics())
            specs.add(new Spec(m.metricId(), MetricRole.SUCCESS, m.kind(), m.quantile(), m.cuped(), m.goodDirection(), null));
        for (GuardrailMetric g : def.guardrailMetrics())
            specs.add(new Spec(g.metricId(), MetricRole.GUARDRAIL, g.kind(), g.quantile(), g.cuped(),
                    g.harmDirection() == Direction.INCREASE ? Direction.DECREASE : Direction.INCREASE, g));

        List<Row> rows = new ArrayList<>();
        for (Spec spec : specs) {
            analyseMetric(def, obs, spec, control, treatments, alpha, tuning, zFixed, rows);
        }

        // Benjamini-Hochberg over success metrics x variants, on the (primary) always-valid p-values.
        List<Row> success = rows.stream().filter(r -> r.spec.role() == MetricRole.SUCCESS && r.available()).toList();
        double[] p = new double[success.size()];
        for (int i = 0; i < p.length; i++) p[i] = success.get(i).primaryAbsolute().alwaysValidPValue();
        double[] adj = BenjaminiHochberg.adjust(p);
        for (int i = 0; i < p.length; i++) {
            Row r = success.get(i);
            r.bh = adj[i];
            r.significant = adj[i] <= alpha;
            double oriented = r.primaryAbsolute().estimate() * r.spec.goodDirection().sign();
            r.movement = !r.significant ? MetricResult.Movement.UNCHANGED
                    : oriented > 0 ? MetricResult.Movement.IMPROVED : MetricResult.Movement.WORSENED;
        }

        // Guardrails: non-inferiority, no alpha correction.
        for (Row r : rows) {
            if (r.spec.role() != MetricRole.GUARDRAIL) continue;
            Variant variant = def.variants().stream().filter(v -> v.id().equals(r.variantId)).findFirst().orElseThrow();
            double pairShare = control.allocation() + variant.allocation();
            r.guardrail = guardrail(r, alpha, tuning, zBeta, powerPerGuardrail, pairShare);
        }

        boolean trusted = !srm.flagged();
        List<MetricResult> results = new ArrayList<>(rows.size());
        for (Row r : rows) {
            results.add(new MetricResult(r.spec.id(), r.spec.role(), r.spec.kind(), r.spec.quantile(), r.variantId,
                    r.controlId, r.controlUnits, r.variantUnits, r.controlValue, r.variantValue, r.absolute, r.relative,
                    r.cuped, r.cuped != null, r.bh, r.significant, r.movement, r.guardrail,
                    trusted && r.available(), r.notes));
        }

        // Decisions.
        boolean ended = obs.asOf() != null && !obs.asOf().isBefore(def.end());
        List<VariantDecision> variantDecisions = new ArrayList<>();
        for (Variant t : treatments) {
            variantDecisions.add(decide(def, t, results, srm, ended));
        }
        Decision overall;
        List<String> reasons = new ArrayList<>();
        if (srm.flagged()) {
            overall = Decision.INVALID;
            reasons.add(srmReason(srm));
        } else if (variantDecisions.stream().anyMatch(d -> d.decision() == Decision.SHIP)) {
            overall = Decision.SHIP;
            for (VariantDecision d : variantDecisions)
                if (d.decision() == Decision.SHIP) reasons.add("Ship variant '" + d.variantId() + "'.");
        } else if (variantDecisions.stream().allMatch(d -> d.decision() == Decision.DO_NOT_SHIP)) {
            overall = Decision.DO_NOT_SHIP;
            reasons.add(variantDecisions.size() == 1 ? "Do not ship the variant." : "Do not ship any variant.");
        } else {
            overall = Decision.KEEP_RUNNING;
            reasons.add("Keep the experiment running: no variant has enough evidence yet.");
        }
        for (VariantDecision d : variantDecisions)
            for (String s : d.reasons()) reasons.add("Variant '" + d.variantId() + "': " + s);
        return new ExperimentReport(def.id(), def.version(), obs.asOf(), alpha, srm, overall, reasons,
                variantDecisions, results, ReportGlossary.ENTRIES);
    }

    private static void analyseMetric(ExperimentDefinition def, ExperimentObservation obs, Spec spec, Variant control,
                                      List<Variant> treatments, double alpha, double tuning, double zFixed,
                                      List<Row> out) {
        Map<String, MetricSums> byVariant = obs.metrics().getOrDefault(spec.id(), Map.of());
        Map<String, MetricEstimate> est = new LinkedHashMap<>();
        Map<String, String> problems = new LinkedHashMap<>();
        for (Variant v : def.variants()) {
            MetricSums s = byVariant.get(v.id());
            if (s == null) { problems.put(v.id(), "no sufficient statistics for variant '" + v.id() + "'"); continue; }
            if (s.kind() != spec.kind()) {
                problems.put(v.id(), "variant '" + v.id() + "' sent " + s.kind() + " sums for a " + spec.kind() + " metric");
                continue;
            }
            try {
                est.put(v.id(), MetricEstimate.of(s, spec.quantile()));
            } catch (IllegalArgumentException e) {
                problems.put(v.id(), "variant '" + v.id() + "' data unusable: " + e.getMessage());
            }
        }

        // CUPED: pooled theta over every variant, pooled pre-period mean.
        boolean cuped = def.prePeriod() != null && spec.cuped() && spec.kind() != MetricKind.QUANTILE
                && problems.isEmpty() && est.values().stream().allMatch(MetricEstimate::hasCovariate);
        double theta = Double.NaN, preMean = Double.NaN;
        if (cuped) {
            double num = 0, den = 0, wn = 0, wh = 0;
            for (MetricEstimate e : est.values()) {
                num += (e.n() - 1) * e.unitCovariance();
                den += (e.n() - 1) * e.covariateUnitVariance();
                wn += e.n();
                wh += e.n() * e.covariateValue();
            }
            if (den > 0 && Double.isFinite(num)) {
                theta = num / den;
                preMean = wh / wn;
            } else {
                cuped = false;
            }
        }

        MetricEstimate c = est.get(control.id());
        for (Variant t : treatments) {
            Row r = new Row();
            r.spec = spec;
            r.variantId = t.id();
            r.controlId = control.id();
            MetricSums cs = byVariant.get(control.id()), ts = byVariant.get(t.id());
            r.controlUnits = cs == null ? 0 : cs.units();
            r.variantUnits = ts == null ? 0 : ts.units();
            out.add(r);
            if (problems.containsKey(control.id())) r.notes.add(problems.get(control.id()));
            if (problems.containsKey(t.id())) r.notes.add(problems.get(t.id()));
            MetricEstimate v = est.get(t.id());
            if (c == null || v == null) continue;
            r.controlValue = c.value();
            r.variantValue = v.value();
            double nTotal = c.n() + v.n();
            r.absolute = figures(v.value() - c.value(), v.variance() + c.variance(), nTotal, alpha, tuning, zFixed);
            r.relative = relative(c.value(), c.variance(), v.value(), v.variance(), nTotal, alpha, tuning, zFixed);
            if (r.absolute == null) {
                r.notes.add("the metric has zero variance in both groups, so no interval can be computed");
                continue;
            }
            if (cuped) {
                double cAdj = c.value() - theta * (c.covariateValue() - preMean);
                double vAdj = v.value() - theta * (v.covariateValue() - preMean);
                double cVar = adjustedUnitVariance(c, theta) / c.n();
                double vVar = adjustedUnitVariance(v, theta) / v.n();
                EffectFigures abs = figures(vAdj - cAdj, vVar + cVar, nTotal, alpha, tuning, zFixed);
                if (abs != null) {
                    EffectFigures rel = relative(cAdj, cVar, vAdj, vVar, nTotal, alpha, tuning, zFixed);
                    double reduction = 1 - (vVar + cVar) / (v.variance() + c.variance());
                    r.cuped = new CupedResult(theta, reduction, cAdj, vAdj, abs, rel);
                }
            }
        }
    }

    private static double adjustedUnitVariance(MetricEstimate e, double theta) {
        return Math.max(0, e.unitVariance() - 2 * theta * e.unitCovariance() + theta * theta * e.covariateUnitVariance());
    }

    /** Both kinds of inference for an estimate with the given variance; null when the variance is not positive. */
    static EffectFigures figures(double estimate, double variance, double nTotal, double alpha, double tuning,
                                 double zFixed) {
        if (!(variance > 0) || !Double.isFinite(variance) || !Double.isFinite(estimate)) return null;
        double se = Math.sqrt(variance);
        Interval fixed = new Interval(estimate - zFixed * se, estimate + zFixed * se);
        double pFixed = Math.min(1.0, 2 * Normal.sf(Math.abs(estimate) / se));
        double hw = SequentialTest.halfWidthTwoSided(variance * nTotal, nTotal, tuning, alpha);
        double pSeq = SequentialTest.pValue(estimate, variance, nTotal, tuning, alpha);
        return new EffectFigures(estimate, se, fixed, pFixed, new Interval(estimate - hw, estimate + hw), pSeq);
    }

    /** Relative effect variant/control - 1 with delta-method variance (independent groups). */
    static EffectFigures relative(double cValue, double cVar, double vValue, double vVar, double nTotal, double alpha,
                                  double tuning, double zFixed) {
        if (cValue == 0 || !Double.isFinite(cValue)) return null;
        double c2 = cValue * cValue;
        double var = vVar / c2 + vValue * vValue * cVar / (c2 * c2);
        return figures(vValue / cValue - 1, var, nTotal, alpha, tuning, zFixed);
    }

    private static GuardrailResult guardrail(Row r, double alpha, double tuning, double zBeta, double powerPerGuardrail,
                                             double pairShare) {
        GuardrailMetric g = r.spec.guardrail();
        boolean relativeScale = g.margin().type() == Margin.Type.RELATIVE;
        EffectFigures f = relativeScale ? r.primaryRelative() : r.primaryAbsolute();
        String name = "'" + g.metricId() + "'";
        if (f == null) {
            String why = !r.notes.isEmpty() ? String.join("; ", r.notes)
                    : relativeScale && r.absolute != null ? "the control value is 0, so a relative margin has no meaning"
                    : "no usable data";
            return new GuardrailResult(GuardrailStatus.NO_DATA, g.harmDirection(), g.margin(), null, null, null,
                    powerPerGuardrail, null, "Guardrail " + name + " cannot be judged: " + why + ".");
        }
        double sign = g.harmDirection().sign();
        double harm = sign * f.estimate();
        double var = f.standardError() * f.standardError();
        double nTotal = r.controlUnits + r.variantUnits;
        double upper = harm + SequentialTest.halfWidthOneSided(var * nTotal, nTotal, tuning, alpha);
        double twoSidedHw = (f.alwaysValid().upper() - f.alwaysValid().lower()) / 2;
        double lower = harm - twoSidedHw;
        double m = g.margin().value();
        String worse = g.harmDirection() == Direction.INCREASE ? "increase" : "decrease";
        String marginText = fmtMargin(g.margin());
        if (upper < m) {
            return new GuardrailResult(GuardrailStatus.PASS, g.harmDirection(), g.margin(), harm, upper, lower,
                    powerPerGuardrail, null, "Guardrail " + name + " passes: the worst plausible " + worse + " is "
                    + fmtHarm(upper, relativeScale) + ", within the tolerated " + marginText + ".");
        }
        if (lower > 0) {
            return new GuardrailResult(GuardrailStatus.FAIL, g.harmDirection(), g.margin(), harm, upper, lower,
                    powerPerGuardrail, null, "Guardrail " + name + " fails: it shows a significant " + worse
                    + " of " + fmtHarm(harm, relativeScale) + " (at least " + fmtHarm(lower, relativeScale)
                    + "), and an " + worse + " beyond the tolerated " + marginText + " cannot be ruled out.");
        }
        Long more = additionalUnits(var, nTotal, m, harm, alpha, tuning, zBeta, pairShare);
        String tail = more == null
                ? " The observed " + worse + " (" + fmtHarm(harm, relativeScale) + ") is already at or beyond the margin,"
                  + " so more data is unlikely to make it pass."
                : " About " + more + " more units (all variants together) should be enough for it to pass if the true "
                  + worse + " is no larger than observed.";
        return new GuardrailResult(GuardrailStatus.INCONCLUSIVE, g.harmDirection(), g.margin(), harm, upper, lower,
                powerPerGuardrail, more, "Guardrail " + name + " is inconclusive: an " + worse + " of up to "
                + fmtHarm(upper, relativeScale) + " is still plausible, above the tolerated " + marginText + "." + tail);
    }

    /**
     * Extra experiment-wide units before the one-sided always-valid harm bound is expected (with the per-guardrail
     * power) to fall below the margin, keeping the observed per-unit variance and assuming the true harm equals
     * max(0, observed harm). Solves {@code hw1(N) + z_beta * sqrt(s2 / N) <= margin - max(0, harm)} for the total
     * units N of the compared pair and scales the missing units by the pair's share of traffic.
     * Returns null when the margin is already reached by the observed harm.
     */
    static Long additionalUnits(double variance, double nTotal, double margin, double harm, double alpha,
                                double tuning, double zBeta, double pairShare) {
        double s2 = variance * nTotal;
        double target = margin - Math.max(0, harm);
        if (!(target > 0)) return null;
        java.util.function.DoubleUnaryOperator gap =
                n -> SequentialTest.halfWidthOneSided(s2, n, tuning, alpha) + zBeta * Math.sqrt(s2 / n) - target;
        if (gap.applyAsDouble(nTotal) <= 0) return 0L;
        double lo = nTotal, hi = Math.max(2 * nTotal, 2);
        while (gap.applyAsDouble(hi) > 0) {
            lo = hi;
            hi *= 2;
            if (hi > 1e15) return null;
        }
        for (int i = 0; i < 200 && hi - lo > 0.5; i++) {
            double mid = 0.5 * (lo + hi);
            if (gap.applyAsDouble(mid) > 0) lo = mid; else hi = mid;
        }
        return (long) Math.ceil((hi - nTotal) / pairShare);
    }

    private static VariantDecision decide(ExperimentDefinition def, Variant t, List<MetricResult> results,
                                          SrmResult srm, boolean ended) {
        List<String> reasons = new ArrayList<>();
        if (srm.flagged()) {
            reasons.add(srmReason(srm));
            return new VariantDecision(t.id(), Decision.INVALID, reasons);
        }
        List<MetricResult> mine = results.stream().filter(r -> r.variantId().equals(t.id())).toList();
        List<MetricResult> failed = new ArrayList<>(), inconclusive = new ArrayList<>(), worsened = new ArrayList<>(),
                improved = new ArrayList<>(), missing = new ArrayList<>();
        for (MetricResult r : mine) {
            if (r.role() == MetricRole.GUARDRAIL) {
                switch (r.guardrail().status()) {
                    case FAIL -> failed.add(r);
                    case INCONCLUSIVE -> inconclusive.add(r);
                    case NO_DATA -> missing.add(r);
                    case PASS -> { }
                }
            } else if (r.absolute() == null) {
                missing.add(r);
            } else if (r.movement() == MetricResult.Movement.IMPROVED) {
                improved.add(r);
            } else if (r.movement() == MetricResult.Movement.WORSENED) {
                worsened.add(r);
            }
        }
        for (MetricResult r : failed) reasons.add(r.guardrail().explanation());
        for (MetricResult r : worsened) reasons.add(successSentence(r, def.alpha(), "got significantly worse"));
        if (!failed.isEmpty() || !worsened.isEmpty())
            return new VariantDecision(t.id(), Decision.DO_NOT_SHIP, reasons);

        boolean noSuccessMetrics = def.successMetrics().isEmpty();
        boolean guardrailsClear = inconclusive.isEmpty() && missing.isEmpty();
        if (guardrailsClear && (noSuccessMetrics || !improved.isEmpty())) {
            for (MetricResult r : improved) reasons.add(successSentence(r, def.alpha(), "improved significantly"));
            if (noSuccessMetrics) reasons.add("There are no success metrics; every guardrail passed.");
            else if (!def.guardrailMetrics().isEmpty()) reasons.add("Every guardrail passed.");
            for (MetricResult r : mine)
                if (r.role() == MetricRole.GUARDRAIL) reasons.add(r.guardrail().explanation());
            return new VariantDecision(t.id(), Decision.SHIP, reasons);
        }
        for (MetricResult r : missing) {
            reasons.add("Metric '" + r.metricId() + "' has no usable data"
                    + (r.notes().isEmpty() ? "." : ": " + String.join("; ", r.notes()) + "."));
        }
        for (MetricResult r : inconclusive) reasons.add(r.guardrail().explanation());
        if (!noSuccessMetrics && improved.isEmpty())
            reasons.add("No success metric has improved significantly yet.");
        if (!improved.isEmpty())
            for (MetricResult r : improved) reasons.add(successSentence(r, def.alpha(), "improved significantly"));
        if (ended) {
            reasons.add(0, "The experiment reached its planned end without showing that the variant is both better"
                    + " and safe.");
            return new VariantDecision(t.id(), Decision.DO_NOT_SHIP, reasons);
        }
        return new VariantDecision(t.id(), Decision.KEEP_RUNNING, reasons);
    }

    private static String successSentence(MetricResult r, double alpha, String verb) {
        EffectFigures rel = r.primaryRelative();
        EffectFigures abs = r.primaryAbsolute();
        String effect = rel != null
                ? fmtPct(rel.estimate()) + " (always-valid " + conf(alpha) + " interval " + fmtPct(rel.alwaysValid().lower())
                  + " to " + fmtPct(rel.alwaysValid().upper()) + ")"
                : fmt(abs.estimate()) + " (always-valid " + conf(alpha) + " interval " + fmt(abs.alwaysValid().lower())
                  + " to " + fmt(abs.alwaysValid().upper()) + ")";
        return "Success metric '" + r.metricId() + "' " + verb + ": " + effect + ", adjusted p = " + fmt(r.bhAdjustedPValue())
                + (r.cupedApplied() ? ", CUPED-adjusted." : ".");
    }

    private static String srmReason(SrmResult srm) {
        return "Sample ratio mismatch: the traffic split differs from the plan (always-valid p = " + fmt(srm.alwaysValidPValue())
                + " < " + srm.threshold() + "; chi-square " + fmt(srm.chiSquare())
                + "), so assignment or logging is broken and no result of this experiment can be trusted.";
    }

    private static String conf(double alpha) {
        return fmtPlain(100 * (1 - alpha)) + " %";
    }

    static String fmt(double x) {
        return String.format(Locale.ROOT, "%.3g", x);
    }

    private static String fmtPlain(double x) {
        return x == Math.rint(x) ? String.valueOf((long) x) : String.format(Locale.ROOT, "%.1f", x);
    }

    static String fmtPct(double x) {
        return String.format(Locale.ROOT, "%+.2f %%", 100 * x);
    }

    private static String fmtHarm(double harm, boolean relative) {
        return relative ? fmtPct(harm) : fmt(harm);
    }

    private static String fmtMargin(Margin m) {
        return m.type() == Margin.Type.RELATIVE ? "margin of " + String.format(Locale.ROOT, "%.2f %%", 100 * m.value())
                : "margin of " + fmt(m.value());
    }
}
