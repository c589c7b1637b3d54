package dev.vigil.gateway;

import java.util.List;

import dev.vigil.common.model.Event;
import dev.vigil.common.model.Sample;

/**
 * What an endpoint made of a request body: the valid items to write, and the rejected ones.
 *
 * @param total   items in the request (accepted + rejected)
 * @param batchId the JSON batch id, if any
 * @param json    for OTLP: whether the request (and so the response) is JSON
 * @param encoded for /v1/events: the accepted events already encoded as Kafka records (then
 *                {@code events} is empty and {@code samples} too); null otherwise
 */
public record Decoded(List<Event> events, List<Sample> samples, List<Rejection> rejections, int total, String batchId, boolean json,
                      EncodedEvents encoded) {
    public Decoded(List<Event> events, List<Sample> samples, List<Rejection> rejections, int total, String batchId, boolean json) {
        this(events, samples, rejections, total, batchId, json, null);
    }

    public int accepted() {
        return events.size() + samples.size() + (encoded == null ? 0 : encoded.size());
    }
}
