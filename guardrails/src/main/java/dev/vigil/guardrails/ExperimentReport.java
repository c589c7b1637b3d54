package dev.vigil.guardrails;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Everything the guardrail endpoint returns for one experiment.
 *
 * @param experimentId      experiment key
 * @param definitionVersion version of the definition the report was computed with
 * @param asOf              when the underlying sums were read
 * @param alpha             false-positive rate used by every test
 * @param srm               sample ratio mismatch check (null when the definition was invalid)
 * @param decision          SHIP, DO_NOT_SHIP, KEEP_RUNNING or INVALID
 * @param reasons           why, in plain words
 * @param variants          decision per non-control variant
 * @param metrics           per metric and variant results
 * @param glossary          one plain-words sentence per number in the report, keyed by field name
 */
public record ExperimentReport(String experimentId, long definitionVersion, Instant asOf, double alpha,
                               SrmResult srm, Decision decision, List<String> reasons,
                               List<VariantDecision> variants, List<MetricResult> metrics,
                               Map<String, String> glossary) {
    public ExperimentReport {
        reasons = List.copyOf(reasons);
        variants = List.copyOf(variants);
        metrics = List.copyOf(metrics);
    }
}
