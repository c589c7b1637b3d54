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

    /** The limits of each tenant, and which tenants have limits of their own. */
    @FunctionalInterface
    public interface Source extends java.util.function.Function<String, TenantLimits> {
        /**
         * Whether the tenant's limits are declared under its own name (not {@code *}, not the default): such a tenant
         * always keeps its own state in a job's limiter and takes none of {@code aggregator.limits.max-tenants}' places,
         * so that tenants an operator declared cannot be pushed out by others arriving first. Bounded by the goal state.
         */
        default boolean declared(String tenant) {
            return false;
        }
    }
}
