package dev.vigil.common.http;

import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;

/** A handler for one path of a {@link SimpleHttpServer}. Runs off the event loop. */
@FunctionalInterface
public interface Route {
    FullHttpResponse handle(FullHttpRequest request, String path) throws Exception;
}
