package dev.vigil.gateway;

import io.netty.handler.codec.http.FullHttpResponse;

/** One ingest endpoint: how it decodes a body and how it answers. */
public interface Endpoint {
    /** Short name, the {@code endpoint} tag of the metrics. */
    String name();

    /** The item kind for counters: {@code event} or {@code sample}. */
    String kind();

    /** Decodes and validates; throws {@link RequestException} when the request fails as a whole. Runs on a worker. */
    Decoded decode(IngestRequest request, long nowMillis);

    /** The answer once Kafka holds every accepted item. */
    FullHttpResponse success(IngestRequest request, Decoded decoded);

    /** The answer for a request refused as a whole (status, code and message in {@code e}). */
    FullHttpResponse error(io.netty.handler.codec.http.HttpHeaders requestHeaders, RequestException e);
}
