package dev.vigil.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import com.github.luben.zstd.Zstd;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;

/**
 * What {@code POST /v1/events} answers for a compressed body: the JSON's own error (with its position) when the body
 * inflates cleanly, {@code corrupt_body} only when the encoding is what is broken.
 */
class EventsEndpointTest {
    private static final long NOW = EventJsonParserTest.NOW;
    private final EventsEndpoint endpoint = new EventsEndpoint(EventJsonParserTest.LIMITS);

    private Decoded decode(byte[] body, String contentType, String encoding) {
        DefaultHttpHeaders h = new DefaultHttpHeaders();
        h.set(HttpHeaderNames.CONTENT_TYPE, contentType);
        h.set(HttpHeaderNames.CONTENT_ENCODING, encoding);
        return endpoint.decode(new IngestRequest(endpoint, "t1", h, Unpooled.wrappedBuffer(body), 0), NOW);
    }

    private RequestException error(byte[] body, String contentType, String encoding) {
        RequestException[] out = new RequestException[1];
        assertThatThrownBy(() -> decode(body, contentType, encoding)).isInstanceOfSatisfying(RequestException.class, e -> out[0] = e);
        return out[0];
    }

    static byte[] gzip(String s) {
        return ITMalformedInput.gzip(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void invalidJsonInACleanGzipBodyIsInvalidJsonWithItsPosition() {
        RequestException e = error(gzip("{\"events\":[\n{\"type\": nope}]}"), "application/json", "gzip");
        assertThat(e.code()).isEqualTo("invalid_json");
        assertThat(e.details()).containsEntry("line", 2);
        // NDJSON: the second line is not JSON
        e = error(gzip("{\"type\":\"a\",\"ts\":" + NOW + "}\n{\"type\": nope}\n"), "application/x-ndjson", "gzip");
        assertThat(e.code()).isEqualTo("invalid_json");
        assertThat(e.details()).containsEntry("line", 2);
    }

    @Test
    void invalidJsonInACleanZstdBodyIsInvalidJson() {
        RequestException e = error(Zstd.compress("{\"events\":[{\"type\": nope}]}".getBytes(StandardCharsets.UTF_8)), "application/json", "zstd");
        assertThat(e.code()).isEqualTo("invalid_json");
    }

    @Test
    void aBrokenEncodingIsCorruptBodyEvenWhenTheParserFailsFirst() {
        // inflates in full to bytes that are not JSON; only the trailer's CRC says the body is corrupt
        byte[] badCrc = gzip("\u0010 not json at all");
        badCrc[badCrc.length - 8] ^= 0x01;
        RequestException e = error(badCrc, "application/json", "gzip");
        assertThat(e.code()).isEqualTo("corrupt_body");
        assertThat(e.getMessage()).contains("gzip").doesNotContain("Stream closed");
        byte[] truncated = gzip("{\"type\":\"a\",\"ts\":" + NOW + "}\n".repeat(50));
        e = error(java.util.Arrays.copyOf(truncated, truncated.length / 2), "application/x-ndjson", "gzip");
        assertThat(e.code()).isEqualTo("corrupt_body");
        assertThat(e.getMessage()).doesNotContain("Stream closed");
    }

    @Test
    void aCleanCompressedBodyIsAccepted() {
        Decoded d = decode(gzip("{\"type\":\"a\",\"ts\":" + NOW + "}\n{\"type\":\"b\",\"ts\":" + NOW + "}\n"), "application/x-ndjson", "gzip");
        assertThat(d.total()).isEqualTo(2);
        assertThat(d.rejections()).isEmpty();
        assertThat(d.accepted()).isEqualTo(2);
    }
}
