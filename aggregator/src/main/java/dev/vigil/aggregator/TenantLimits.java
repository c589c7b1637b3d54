package dev.vigil.aggregator;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Cardinality limits of one tenant (goal state kind {@code tenant_limits}, name = tenant; the
 * name {@code *} sets the default for tenants without their own).
 *
 * @param maxSeries          distinct series (name + labels) per tenant per job in the current window
 * @param maxSeriesPerMetric distinct series per metric (event type / sample name) per tenant
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record TenantLimits(@JsonProperty("max_series") int maxSeries,
                           @JsonProperty("max_series_per_metric") int maxSeriesPerMetric) {
    public TenantLimits {
        if (maxSeries < 1 || maxSeriesPerMetric < 1) {
            throw new IllegalArgumentException("max_series and max_series_per_metric must be >= 1");
        }
    }
}
