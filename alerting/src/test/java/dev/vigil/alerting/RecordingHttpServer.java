package dev.vigil.alerting;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;

/** A tiny JDK HTTP server standing in for Alertmanager and a webhook: records every POST. */
final class RecordingHttpServer implements AutoCloseable {
    record Post(String path, JsonNode body) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    final List<Post> posts = new CopyOnWriteArrayList<>();
    private HttpServer server;
    volatile int status = 200;

    /** A free port to point targets at before the server runs. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    RecordingHttpServer start(int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        server.createContext("/", ex -> {
            byte[] body = ex.getRequestBody().readAllBytes();
            posts.add(new Post(ex.getRequestURI().getPath(), JSON.readTree(new String(body, StandardCharsets.UTF_8))));
            byte[] resp = "{}".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(status, resp.length);
            ex.getResponseBody().write(resp);
            ex.close();
        });
        server.start();
        return this;
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    RecordingHttpServer start() throws IOException {
        return start(0);
    }

    List<Post> posts(String path) {
        return posts.stream().filter(p -> p.path().equals(path)).toList();
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop(0);
        }
    }
}
