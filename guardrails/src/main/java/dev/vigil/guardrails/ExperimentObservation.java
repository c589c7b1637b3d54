package dev.vigil.guardrails;

import java.time.Instant;
import java.util.Map;

/**
 * What the data store knows about an experiment at one moment: the input of {@link ExperimentAnalyzer}.
 *
 * @param experimentId  the experiment
 * @param asOf          when the sums were read (compared with the definition's end date)
 * @param assignedUnits units exposed per variant id (used for the sample ratio mismatch test)
 * @param metrics       metric id to (variant id to sufficient statistics)
 */
public record ExperimentObservation(String experimentId, Instant asOf, Map<String, Long> assignedUnits,
                                    Map<String, Map<String, MetricSums>> metrics) {
    public ExperimentObservation {
        assignedUnits = assignedUnits == null ? Map.of() : Map.copyOf(assignedUnits);
        metrics = metrics == null ? Map.of() : Map.copyOf(metrics);
    }
}
