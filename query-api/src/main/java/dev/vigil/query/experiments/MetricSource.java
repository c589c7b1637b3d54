package dev.vigil.query.experiments;

import java.util.Locale;

import dev.vigil.guardrails.MetricKind;

/**
 * Where a metric's per-unit values come from in {@code vigil_experiment_units}: the event
 * {@code type}, the {@code measure} ({@code ""} = the event-count row) and which per-unit figure is
 * used ({@code sum} of the measure or {@code count} of events carrying it). A ratio metric also has
 * a {@code denominator}.
 *
 * <p>Default (no explicit source): the metric id is {@code type.measure} (or just {@code type} for
 * the event count), {@code num/den} for a ratio of two such parts. MEAN uses the per-unit sum,
 * PROPORTION the per-unit count (a unit "has the event" when count > 0), RATIO the sum of the
 * numerator over the denominator's sum, or, for a single part, sum over count (mean per event, e.g.
 * the mean latency of a unit's requests).
 */
public record MetricSource(String type, String measure, String value, MetricSource denominator) {
    public static final String SUM = "sum", COUNT = "count";

    public MetricSource {
        if (type == null || type.isBlank()) throw new IllegalArgumentException("metric source needs an event type");
        measure = measure == null ? "" : measure;
        value = value == null ? SUM : value.toLowerCase(Locale.ROOT);
        if (!value.equals(SUM) && !value.equals(COUNT))
            throw new IllegalArgumentException("metric source value must be 'sum' or 'count', got '" + value + "'");
    }

    public boolean isCount() {
        return value.equals(COUNT) || measure.isEmpty();
    }

    /** The conventional source of a metric id for its kind (see the class comment). */
    public static MetricSource byConvention(String metricId, MetricKind kind) {
        int slash = metricId.indexOf('/');
        if (kind == MetricKind.RATIO) {
            if (slash > 0) {
                MetricSource num = part(metricId.substring(0, slash), SUM);
                MetricSource den = part(metricId.substring(slash + 1), SUM);
                return new MetricSource(num.type, num.measure, num.value, den);
            }
            MetricSource p = part(metricId, SUM);
            return new MetricSource(p.type, p.measure, SUM, new MetricSource(p.type, p.measure, COUNT, null));
        }
        if (slash >= 0)
            throw new IllegalArgumentException("metric '" + metricId + "' looks like a ratio (has '/') but is of kind " + kind);
        return part(metricId, kind == MetricKind.PROPORTION ? COUNT : SUM);
    }

    private static MetricSource part(String s, String value) {
        int dot = s.indexOf('.');
        String type = dot < 0 ? s : s.substring(0, dot);
        String measure = dot < 0 ? "" : s.substring(dot + 1);
        if (type.isBlank())
            throw new IllegalArgumentException("cannot read an event type from '" + s
                    + "': name the metric 'type.measure' or give it an explicit source");
        return new MetricSource(type, measure, value, null);
    }
}
