package dev.vigil.common.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * What the services' HTTP server answers by itself, over a real socket: a request it cannot decode gets the status that
 * names the problem (Netty passes such a request on as "/bad-request", which used to be answered 404 or routed), a URL
 * with a bad escape gets 400 (it used to close the connection without an answer), in the server's error format.
 */
class SimpleHttpServerTest {
    private static SimpleHttpServer server;

    @BeforeAll
    static void start() throws InterruptedException {
        server = new SimpleHttpServer(new SimpleHttpServer.Options(1024, 1, 16, "test-worker-", 1024, 10, false, null,
                SimpleHttpServer.ErrorBody.JSON))
                .prefix("/api/", (req, path) -> Responses.json(HttpResponseStatus.OK, java.util.Map.of("path", path)))
                .route("/boom", (req, path) -> {
                    throw new IllegalStateException("handler failed");
                })
                .start("127.0.0.1", 0);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    record Answer(int status, String body) {
    }

    private static Answer send(String raw) throws IOException {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(5_000);
            s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] b = new byte[8192];
            try {
                for (int n; (n = in.read(b)) > 0; ) {
                    buf.write(b, 0, n);
                }
            } catch (SocketTimeoutException | java.net.SocketException e) {
                // keep what arrived
            }
            String text = buf.toString(StandardCharsets.UTF_8);
            assertThat(text).as("an answer to " + raw.substring(0, Math.min(60, raw.length()))).startsWith("HTTP/1.1 ");
            return new Answer(Integer.parseInt(text.substring(9, 12)), text.substring(text.indexOf("\r\n\r\n") + 4));
        }
    }

    private static String get(String target, String extraHeaders) {
        return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extraHeaders + "Connection: close\r\n\r\n";
    }

    @Test
    void aRoutedRequestIsAnsweredByItsRoute() throws IOException {
        Answer a = send(get("/api/x%20y?q=1", ""));
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.body()).contains("\"path\":\"/api/x y\"");
    }

    @Test
    void aBadEscapeIs400NotAClosedConnection() throws IOException {
        for (String target : new String[] {"/api/%zz", "/api/x?query=%zz", "/api/%"}) {
            Answer a = send(get(target, ""));
            assertThat(a.status()).as(target).isEqualTo(400);
            assertThat(a.body()).as(target).contains("malformed URL");
        }
    }

    @Test
    void aTooLongRequestLineIs414() throws IOException {
        Answer a = send(get("/api/" + "a".repeat(2_000), ""));
        assertThat(a.status()).isEqualTo(414);
        assertThat(a.body()).contains("request line (or a chunk-size line) longer than 1024 bytes");
    }

    @Test
    void tooLargeHeadersAre431() throws IOException {
        Answer a = send(get("/api/x", "X-Big: " + "b".repeat(SimpleHttpServer.MAX_HEADER_BYTES + 100) + "\r\n"));
        assertThat(a.status()).isEqualTo(431);
    }

    @Test
    void aGarbageRequestLineIs400() throws IOException {
        Answer a = send("NOT A REQUEST\r\n\r\n");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.body()).contains("malformed HTTP request");
    }

    @Test
    void noRouteAndAFailedHandlerAnswerInTheServersErrorFormat() throws IOException {
        Answer a = send(get("/nothing", ""));
        assertThat(a.status()).isEqualTo(404);
        assertThat(a.body()).isEqualTo("{\"error\":\"no route for /nothing\"}");
        a = send(get("/boom", ""));
        assertThat(a.status()).isEqualTo(500);
        assertThat(a.body()).contains("\"error\":\"internal error: handler failed\"");
    }
}
