package dev.vigil.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * One complete ingest request handed from the event loop to a worker.
 *
 * @param endpoint  which ingest endpoint
 * @param tenant    resolved from the API key
 * @param headers   the request headers
 * @param body      the body as received (still encoded); released by the connection handler
 * @param startNanos when its first byte was read
 */
public record IngestRequest(Endpoint endpoint, String tenant, HttpHeaders headers, ByteBuf body, long startNanos) {
    public String header(CharSequence name) {
        return headers.get(name);
    }
}
