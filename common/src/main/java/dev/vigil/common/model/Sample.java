package dev.vigil.common.model;

import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;

/**
 * One sample of a metric (from OTLP metrics or Prometheus remote write). Histograms arrive as
 * Prometheus-style {@code _bucket{le=...}}, {@code _sum} and {@code _count} samples.
 *
 * @param tenant     the tenant resolved from the caller's API key
 * @param name       metric name ({@code __name__})
 * @param labels     labels other than the name, sorted by label name
 * @param timeMillis sample time, epoch milliseconds
 * @param value      the value (may be NaN only for Prometheus staleness markers)
 */
public record Sample(String tenant, String name, SortedMap<String, String> labels, long timeMillis, double value) {
    public Sample {
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(labels, "labels");
    }

    /** Tenant, name and labels: the identity of the series. */
    public String seriesKey() {
        StringBuilder sb = new StringBuilder(64).append(tenant).append('\u0000').append(name);
        for (Map.Entry<String, String> l : labels.entrySet()) {
            sb.append('\u0000').append(l.getKey()).append('=').append(l.getValue());
        }
        return sb.toString();
    }
}
