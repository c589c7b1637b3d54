package dev.vigil.common.model;

import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;

/**
 * One event as it travels from the gateway through Kafka to the aggregator: the contract
 * between the modules (see docs/architecture.md, "Data model").
 *
 * @param tenant      the tenant resolved from the caller's API key; never taken from the body
 * @param timeMillis  event time, epoch milliseconds
 * @param type        event type, e.g. {@code inference}, {@code exposure}, {@code purchase}
 * @param dims        low-cardinality string labels (model, version, region...), sorted by name
 * @param measures    named finite numbers (latency_ms, error, score...), sorted by name
 * @param unitId      randomisation unit (e.g. user id), or {@code null}
 * @param experiments experiment id to variant, sorted by experiment id (empty when none)
 * @param eventId     the client's idempotency id, or one derived from {@code batch_id} and the
 *                    event's index; {@code null} when the client gave neither
 * @param ingestMillis when the gateway accepted the event (for freshness)
 */
public record Event(
        String tenant,
        long timeMillis,
        String type,
        SortedMap<String, String> dims,
        SortedMap<String, Double> measures,
        String unitId,
        SortedMap<String, String> experiments,
        String eventId,
        long ingestMillis) {

    public Event {
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(dims, "dims");
        Objects.requireNonNull(measures, "measures");
        Objects.requireNonNull(experiments, "experiments");
    }

    /** Tenant, type and dims: the identity of the series this event rolls up into. */
    public String seriesKey() {
        StringBuilder sb = new StringBuilder(64).append(tenant).append('\u0000').append(type);
        for (Map.Entry<String, String> d : dims.entrySet()) {
            sb.append('\u0000').append(d.getKey()).append('=').append(d.getValue());
        }
        return sb.toString();
    }
}
