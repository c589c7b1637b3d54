package dev.vigil.query.api;

import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;

/**
 * A handler for one path of the query API, called after authentication with the caller's
 * tenant. Everything it reads must be confined to that tenant. Runs off the event loop.
 */
@FunctionalInterface
public interface TenantRoute {
    FullHttpResponse handle(FullHttpRequest request, String path, String tenant) throws Exception;
}
