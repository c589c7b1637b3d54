package dev.vigil.query.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.vigil.common.http.Responses;
import io.netty.handler.codec.http.HttpResponseStatus;

/** What the query API's server adds to the admin servers, checked over loopback with real clients. */
class QueryHttpServerTest {
    private final HttpClient client = HttpClient.newHttpClient();
    private QueryHttpServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private String url(String pathAndQuery) {
        return "http://127.0.0.1:" + server.port() + pathAndQuery;
    }

    @Test
    void largeAnswersAreGzippedForClientsThatAcceptIt() throws Exception {
        String big = "x".repeat(20_000);
        server = new QueryHttpServer(1 << 20, 2, 16)
                .route("/big", (req, path) -> Responses.text(HttpResponseStatus.OK, big))
                .start("127.0.0.1", 0);
        HttpResponse<byte[]> gz = client.send(HttpRequest.newBuilder(URI.create(url("/big")))
                .header("Accept-Encoding", "gzip").build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(gz.headers().firstValue("content-encoding")).contains("gzip");
        assertThat(gz.body().length).isLessThan(big.length() / 10);
        try (var in = new GZIPInputStream(new ByteArrayInputStream(gz.body()))) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(big);
        }
        HttpResponse<String> plain = client.send(HttpRequest.newBuilder(URI.create(url("/big"))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(plain.headers().firstValue("content-encoding")).isEmpty();
        assertThat(plain.body()).isEqualTo(big);
    }

    @Test
    void requestLinesOfPromqlLengthAreAccepted() throws Exception {
        server = new QueryHttpServer(1 << 20, 2, 16)
                .route("/q", (req, path) -> Responses.text(HttpResponseStatus.OK, String.valueOf(req.uri().length())))
                .start("127.0.0.1", 0);
        String query = "/q?query=" + "a".repeat(12_000); // above the admin servers' 8 KiB, below 16 KiB
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url(query))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(String.valueOf(query.length()));
    }

    @Test
    void aHandlerLearnsWhenItsClientGoesAway() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        CompletableFuture<String> gone = new CompletableFuture<>();
        server = new QueryHttpServer(1 << 20, 2, 16)
                .route("/slow", (req, path) -> {
                    try (AutoCloseable ignored = RequestScope.onClientGone(() -> gone.complete("client gone"))) {
                        running.countDown();
                        gone.get(10, TimeUnit.SECONDS); // a long query, until its client leaves
                    }
                    return Responses.text(HttpResponseStatus.OK, "done");
                })
                .start("127.0.0.1", 0);
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            OutputStream out = s.getOutputStream();
            out.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(gone.get(10, TimeUnit.SECONDS)).isEqualTo("client gone");
    }

    @Test
    void aFullQueueIsAnsweredInThePrometheusErrorFormat() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        server = new QueryHttpServer(1 << 20, 1, 1)
                .route("/block", (req, path) -> {
                    release.await(20, TimeUnit.SECONDS);
                    return Responses.text(HttpResponseStatus.OK, "ok");
                })
                .start("127.0.0.1", 0);
        try {
            // one request runs, one waits in the queue; the rest find it full
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                all.add(client.sendAsync(HttpRequest.newBuilder(URI.create(url("/block"))).build(), HttpResponse.BodyHandlers.ofString()));
            }
            HttpResponse<String> busy = CompletableFuture.anyOf(all.toArray(CompletableFuture[]::new))
                    .thenApply(r -> (HttpResponse<String>) r).get(10, TimeUnit.SECONDS);
            assertThat(busy.statusCode()).isEqualTo(503);
            assertThat(busy.headers().firstValue("retry-after")).contains("1");
            assertThat(busy.body()).contains("\"status\":\"error\"").contains("\"errorType\":\"unavailable\"");
        } finally {
            release.countDown();
        }
    }
}
