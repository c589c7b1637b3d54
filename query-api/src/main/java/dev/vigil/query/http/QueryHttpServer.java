package dev.vigil.query.http;

import java.util.Map;

import dev.vigil.common.http.Responses;
import dev.vigil.common.http.Route;
import dev.vigil.common.http.SimpleHttpServer;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The query API's HTTP server: common's {@link SimpleHttpServer} (path/prefix routes on a bounded
 * worker pool, keep-alive) set up for queries: the request's connection is visible to handlers
 * ({@link RequestScope}) so a query is canceled when its client goes away, no read timeout while a
 * long query runs, request lines up to 16 KiB (PromQL in the URL), gzip for large JSON answers,
 * and the server's own answers (404, 400, 414, 431, 500, the 503 of a full queue) in the Prometheus API's error format.
 */
public final class QueryHttpServer implements AutoCloseable {
    private static final SimpleHttpServer.RequestHook REQUEST_SCOPE = new SimpleHttpServer.RequestHook() {
        @Override
        public void before(Channel connection) {
            RequestScope.set(connection);
        }

        @Override
        public void after() {
            RequestScope.clear();
        }
    };

    private final SimpleHttpServer server;

    public QueryHttpServer(int maxBodyBytes, int workerThreads, int queueSize) {
        server = new SimpleHttpServer(new SimpleHttpServer.Options(maxBodyBytes, workerThreads, queueSize, "query-worker-",
                16384, 0, true, REQUEST_SCOPE, QueryHttpServer::error));
    }

    /** The server's own answers (no route, malformed request, busy, failure) in the Prometheus API's error format. */
    private static io.netty.handler.codec.http.FullHttpResponse error(HttpResponseStatus status, String message) {
        String type = switch (status.code()) {
            case 404 -> "not_found";
            case 500 -> "internal";
            case 503 -> "unavailable";
            default -> "bad_data";
        };
        return Responses.json(status, Map.of("status", "error", "errorType", type, "error", message));
    }

    public QueryHttpServer route(String path, Route route) {
        server.route(path, route);
        return this;
    }

    public QueryHttpServer prefix(String prefix, Route route) {
        server.prefix(prefix, route);
        return this;
    }

    public QueryHttpServer start(String host, int port) throws InterruptedException {
        server.start(host, port);
        return this;
    }

    public int port() {
        return server.port();
    }

    @Override
    public void close() {
        server.close();
    }
}
