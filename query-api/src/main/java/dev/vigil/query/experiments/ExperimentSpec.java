package dev.vigil.query.experiments;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.vigil.guardrails.ExperimentDefinition;
import dev.vigil.guardrails.GuardrailMetric;
import dev.vigil.guardrails.MetricKind;
import dev.vigil.guardrails.SuccessMetric;

/**
 * An experiment as declared through the API: a {@link ExperimentDefinition} (same JSON field
 * names) plus optional {@code sources} (metric id to {@link MetricSource}). Absent {@code alpha},
 * {@code power} and {@code sequentialTuningParameter} take the guardrails defaults; {@code id} and
 * {@code version} are set by the registry.
 */
public record ExperimentSpec(ExperimentDefinition definition, Map<String, MetricSource> sources, String json) {

    /** Parses the body of {@code PUT /api/v1/experiments/{id}}; {@code version} is the version to assign. */
    public static ExperimentSpec parse(String id, long version, byte[] body) throws JsonProcessingException {
        JsonNode root = ExperimentJson.MAPPER.readTree(new String(body, java.nio.charset.StandardCharsets.UTF_8));
        if (root == null || !root.isObject()) throw new IllegalArgumentException("the body must be a JSON object");
        ObjectNode o = (ObjectNode) root;
        JsonNode bodyId = o.get("id");
        if (bodyId != null && !bodyId.isNull() && !bodyId.asText().equals(id))
            throw new IllegalArgumentException("the body's id '" + bodyId.asText() + "' differs from the path's '" + id + "'");
        o.put("id", id);
        o.put("version", version);
        if (!o.hasNonNull("alpha")) o.put("alpha", ExperimentDefinition.DEFAULT_ALPHA);
        if (!o.hasNonNull("power")) o.put("power", ExperimentDefinition.DEFAULT_POWER);
        if (!o.hasNonNull("sequentialTuningParameter"))
            o.put("sequentialTuningParameter", ExperimentDefinition.DEFAULT_SEQUENTIAL_TUNING_PARAMETER);
        return fromStored(ExperimentJson.MAPPER.writeValueAsString(o));
    }

    /** Reads a stored definition ({@code definition_json} of {@code vigil_experiments}). */
    public static ExperimentSpec fromStored(String json) throws JsonProcessingException {
        ObjectNode o = (ObjectNode) ExperimentJson.MAPPER.readTree(json);
        JsonNode src = o.remove("sources");
        ExperimentDefinition def = ExperimentJson.MAPPER.treeToValue(o, ExperimentDefinition.class);
        Map<String, MetricSource> sources = new LinkedHashMap<>();
        if (src != null && !src.isNull()) {
            if (!src.isObject()) throw new IllegalArgumentException("sources must be an object of metric id to source");
            var it = src.properties().iterator();
            while (it.hasNext()) {
                var e = it.next();
                sources.put(e.getKey(), ExperimentJson.MAPPER.treeToValue(e.getValue(), MetricSource.class));
            }
        }
        return new ExperimentSpec(def, sources, json);
    }

    /** Problems beyond the definition's own validation (sources naming unknown metrics, unreadable metric ids). */
    public List<String> sourceProblems() {
        List<String> errors = new ArrayList<>();
        Map<String, MetricKind> kinds = metricKinds();
        for (String m : sources.keySet())
            if (!kinds.containsKey(m)) errors.add("sources names metric '" + m + "', which is not in the definition");
        for (var e : kinds.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) continue;
            try {
                MetricSource s = source(e.getKey(), e.getValue());
                if (e.getValue() == MetricKind.RATIO && s.denominator() == null)
                    errors.add("ratio metric '" + e.getKey() + "' needs a denominator source");
            } catch (IllegalArgumentException ex) {
                errors.add(ex.getMessage());
            }
        }
        return errors;
    }

    /** Metric id to kind, success metrics first, in declaration order. */
    public Map<String, MetricKind> metricKinds() {
        Map<String, MetricKind> kinds = new LinkedHashMap<>();
        for (SuccessMetric m : definition.successMetrics()) if (m != null) kinds.put(m.metricId(), m.kind());
        for (GuardrailMetric g : definition.guardrailMetrics()) if (g != null) kinds.put(g.metricId(), g.kind());
        return kinds;
    }

    /** The explicit source of a metric, or its conventional one. */
    public MetricSource source(String metricId, MetricKind kind) {
        MetricSource s = sources.get(metricId);
        return s != null ? s : MetricSource.byConvention(metricId, kind);
    }
}
