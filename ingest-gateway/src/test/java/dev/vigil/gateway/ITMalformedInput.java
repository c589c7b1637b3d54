package dev.vigil.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.xerial.snappy.Snappy;

import com.github.luben.zstd.Zstd;

import dev.vigil.gateway.prompb.Remote.WriteRequest;
import dev.vigil.gateway.prompb.Types;

/**
 * The malformed-input suite: every case gets its documented status and error code over a raw
 * socket; afterwards the gateway is still ready and its accepted counts match Kafka exactly.
 */
class ITMalformedInput {
    static Gateway gw;
    static String bootstrap;
    static final String PREFIX = "it-malformed.";
    static final AtomicLong expectedAccepted = new AtomicLong();

    @BeforeAll
    static void start() throws Exception {
        bootstrap = TestSupport.sharedBroker().bootstrapServers();
        gw = TestSupport.gateway(bootstrap, PREFIX, Map.of(
                "VIGIL_GATEWAY_REQUEST_READ_TIMEOUT", "1s",
                "VIGIL_GATEWAY_MAX_BODY_BYTES", "256KiB",
                "VIGIL_GATEWAY_MAX_DECOMPRESSED_BYTES", "1MiB",
                "VIGIL_GATEWAY_MAX_EVENTS_PER_BATCH", "100",
                "VIGIL_GATEWAY_MAX_EVENT_BYTES", "2048"));
    }

    record Case(String name, byte[] request, int status, String expect, int accepted) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final String KEY = TestSupport.ACME_KEY;

    static long now() {
        return System.currentTimeMillis();
    }

    static String ev(String inner) {
        return "{\"type\":\"inference\",\"ts\":" + now() + (inner.isEmpty() ? "" : "," + inner) + "}";
    }

    static String batch(String... events) {
        return "{\"batch_id\":\"mal-" + System.nanoTime() + "\",\"events\":[" + String.join(",", events) + "]}";
    }

    static byte[] http(String method, String path, Map<String, String> headers, byte[] body) {
        StringBuilder sb = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        boolean hasLength = false;
        for (Map.Entry<String, String> h : headers.entrySet()) {
            sb.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
            hasLength |= h.getKey().equalsIgnoreCase("Content-Length") || h.getKey().equalsIgnoreCase("Transfer-Encoding");
        }
        if (!hasLength && body != null) {
            sb.append("Content-Length: ").append(body.length).append("\r\n");
        }
        sb.append("\r\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (body != null) {
            out.writeBytes(body);
        }
        return out.toByteArray();
    }

    static Map<String, String> h(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    static byte[] events(String json) {
        return events(json.getBytes(StandardCharsets.UTF_8), "application/json");
    }

    static byte[] events(byte[] body, String contentType, String... extra) {
        Map<String, String> m = h("Authorization", "Bearer " + KEY, "Content-Type", contentType);
        m.putAll(h(extra));
        return http("POST", "/v1/events", m, body);
    }

    static Case c(String name, byte[] req, int status, String expect) {
        return new Case(name, req, status, expect, 0);
    }

    static Case ok(String name, byte[] req, int status, String expect, int accepted) {
        return new Case(name, req, status, expect, accepted);
    }

    static byte[] gzip(byte[] b) {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
                gz.write(b);
            }
            return bos.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] zipBomb() {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
                byte[] spaces = new byte[1 << 20];
                java.util.Arrays.fill(spaces, (byte) ' ');
                gz.write("{\"events\":[".getBytes(StandardCharsets.UTF_8));
                for (int i = 0; i < 100; i++) {   // 100 MiB of whitespace
                    gz.write(spaces);
                }
                gz.write("]}".getBytes(StandardCharsets.UTF_8));
            }
            return bos.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] rw(WriteRequest wr) {
        try {
            return http("POST", "/api/v1/write", h("Authorization", "Bearer " + KEY, "Content-Type", "application/x-protobuf",
                    "Content-Encoding", "snappy"), Snappy.compress(wr.toByteArray()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Types.TimeSeries.Builder series(String name, double v, long ts) {
        Types.TimeSeries.Builder b = Types.TimeSeries.newBuilder();
        if (name != null) {
            b.addLabels(Types.Label.newBuilder().setName("__name__").setValue(name));
        }
        return b.addSamples(Types.Sample.newBuilder().setValue(v).setTimestamp(ts));
    }

    static Stream<Case> cases() throws IOException {
        List<Case> cs = new ArrayList<>();
        String big = "9".repeat(2000);
        StringBuilder deep = new StringBuilder();
        deep.append("[".repeat(100)).append("]".repeat(100));
        String many = String.join(",", java.util.Collections.nCopies(101, ev("")));
        StringBuilder dims40 = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            dims40.append(i == 0 ? "" : ",").append("\"d").append(i).append("\":\"v\"");
        }
        StringBuilder measures70 = new StringBuilder();
        for (int i = 0; i < 70; i++) {
            measures70.append(i == 0 ? "" : ",").append("\"m").append(i).append("\":1");
        }
        StringBuilder largeDims = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            largeDims.append(i == 0 ? "" : ",").append("\"d").append(i).append("\":\"").append("x".repeat(200)).append('"');
        }
        byte[] invalidUtf8 = ("{\"events\":[{\"type\":\"x\",\"ts\":" + now() + ",\"dims\":{\"a\":\"\\u0001\"}}]}").getBytes(StandardCharsets.UTF_8);
        byte[] badUtf8 = batch(ev("\"dims\":{\"a\":\"ZZ\"}")).getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i + 1 < badUtf8.length; i++) {
            if (badUtf8[i] == 'Z' && badUtf8[i + 1] == 'Z') {
                badUtf8[i] = (byte) 0xC3;
                badUtf8[i + 1] = (byte) 0x28;
                break;
            }
        }

        // Unparseable JSON: 400 with position.
        cs.add(c("empty body", events(""), 400, "empty_body"));
        cs.add(c("truncated JSON", events("{\"events\":[{\"type\":\"x\""), 400, "invalid_json"));
        cs.add(c("not JSON", events("hello world"), 400, "invalid_json"));
        cs.add(c("top-level number", events("42"), 400, "invalid_json"));
        cs.add(c("top-level string", events("\"events\""), 400, "invalid_json"));
        cs.add(c("events not an array", events("{\"events\":{}}"), 400, "invalid_json"));
        cs.add(c("events missing", events("{\"batch_id\":\"x\"}"), 400, "missing field"));
        cs.add(c("unknown top-level field", events("{\"events\":[],\"extra\":1}"), 400, "unknown top-level field"));
        cs.add(c("trailing garbage", events("{\"events\":[]} xyz"), 400, "invalid_json"));
        cs.add(c("duplicate events key", events("{\"events\":[],\"events\":[]}"), 400, "duplicate key"));
        cs.add(c("batch_id not a string", events("{\"batch_id\":7,\"events\":[]}"), 400, "batch_id must be a string"));
        cs.add(c("batch_id with control char", events("{\"batch_id\":\"a\\u0001\",\"events\":[]}"), 400, "invalid_batch_id"));
        cs.add(c("deep nesting array", events(deep.toString()), 400, "invalid_json"));
        cs.add(c("deep nesting in dims", events(batch(ev("\"dims\":" + "{\"a\":".repeat(40) + "1" + "}".repeat(40)))), 400, "nesting depth"));
        cs.add(c("huge number literal", events(batch(ev("\"measures\":{\"x\":" + big + "}"))), 400, "invalid_json"));
        cs.add(c("invalid UTF-8", events(badUtf8, "application/json"), 400, "invalid_utf8")); // the documented code (was invalid_json)
        cs.add(c("raw control char in string", events(batch(ev("\"dims\":{\"a\":\"x\u0002y\"}"))), 400, "invalid_json"));
        cs.add(c("unquoted key", events("{events:[]}"), 400, "invalid_json"));
        cs.add(c("single quotes", events("{'events':[]}"), 400, "invalid_json"));
        cs.add(c("ndjson non-object line", events("{\"type\":\"x\",\"ts\":1}\n[1,2]\n".getBytes(StandardCharsets.UTF_8), "application/x-ndjson"), 400, "invalid_json"));
        cs.add(c("ndjson truncated last line", events(("{\"type\":\"x\",\"ts\":" + now() + "}\n{\"type\":").getBytes(StandardCharsets.UTF_8), "application/x-ndjson"), 400, "invalid_json"));
        cs.add(c("gzip bytes without Content-Encoding", events(gzip(batch(ev("")).getBytes()), "application/json"), 400, "invalid_json"));

        // Per-event rejections: the only event is bad, so nothing is written (400 all_rejected) with the reason.
        cs.add(c("NaN measure", events(batch(ev("\"measures\":{\"x\":NaN}"))), 400, "not_finite"));
        cs.add(c("Infinity measure", events(batch(ev("\"measures\":{\"x\":-Infinity}"))), 400, "not_finite"));
        cs.add(c("overflowing float", events(batch(ev("\"measures\":{\"x\":1e999}"))), 400, "not_finite"));
        cs.add(c("duplicate dim key", events(batch(ev("\"dims\":{\"a\":\"1\",\"a\":\"2\"}"))), 400, "duplicate_key"));
        cs.add(c("duplicate event field", events(batch("{\"type\":\"a\",\"type\":\"b\",\"ts\":" + now() + "}")), 400, "duplicate_key"));
        cs.add(c("ts boolean", events(batch("{\"type\":\"a\",\"ts\":true}")), 400, "wrong_type"));
        cs.add(c("ts float", events(batch("{\"type\":\"a\",\"ts\":1.5}")), 400, "wrong_type"));
        cs.add(c("dim value number", events(batch(ev("\"dims\":{\"a\":1}"))), 400, "wrong_type"));
        cs.add(c("dims array", events(batch(ev("\"dims\":[\"a\"]"))), 400, "wrong_type"));
        cs.add(c("measure string", events(batch(ev("\"measures\":{\"x\":\"1\"}"))), 400, "wrong_type"));
        cs.add(c("measure null", events(batch(ev("\"measures\":{\"x\":null}"))), 400, "wrong_type"));
        cs.add(c("event is a number", events(batch("5")), 400, "wrong_type"));
        cs.add(c("type missing", events(batch("{\"ts\":" + now() + "}")), 400, "missing"));
        cs.add(c("ts missing", events(batch("{\"type\":\"a\"}")), 400, "missing"));
        cs.add(c("far-future ts", events(batch("{\"type\":\"a\",\"ts\":" + (now() + 86_400_000L * 365 * 10) + "}")), 400, "out_of_window"));
        cs.add(c("ancient ts", events(batch("{\"type\":\"a\",\"ts\":0}")), 400, "out_of_window"));
        cs.add(c("ts beyond long", events(batch("{\"type\":\"a\",\"ts\":100000000000000000000000}")), 400, "out_of_window"));
        cs.add(c("ts not RFC 3339", events(batch("{\"type\":\"a\",\"ts\":\"yesterday\"}")), 400, "invalid_value"));
        cs.add(c("ts without offset", events(batch("{\"type\":\"a\",\"ts\":\"2024-01-01T00:00:00\"}")), 400, "invalid_value"));
        cs.add(c("type with spaces", events(batch("{\"type\":\"bad type\",\"ts\":" + now() + "}")), 400, "invalid_name"));
        cs.add(c("type too long", events(batch("{\"type\":\"" + "t".repeat(200) + "\",\"ts\":" + now() + "}")), 400, "too_long"));
        cs.add(c("dim name with dash", events(batch(ev("\"dims\":{\"a-b\":\"1\"}"))), 400, "invalid_name"));
        cs.add(c("dim name starts with digit", events(batch(ev("\"dims\":{\"1a\":\"1\"}"))), 400, "invalid_name"));
        cs.add(c("dim value too long", events(batch(ev("\"dims\":{\"a\":\"" + "v".repeat(300) + "\"}"))), 400, "too_long"));
        cs.add(c("dim value control char", events(invalidUtf8, "application/json"), 400, "invalid_value"));
        cs.add(c("dim value empty", events(batch(ev("\"dims\":{\"a\":\"\"}"))), 400, "invalid_value"));
        cs.add(c("too many dims", events(batch(ev("\"dims\":{" + dims40 + "}"))), 400, "too_many"));
        cs.add(c("too many measures", events(batch(ev("\"measures\":{" + measures70 + "}"))), 400, "too_many"));
        cs.add(c("event too large", events(batch(ev("\"dims\":{" + largeDims + "}"))), 400, "too_large"));
        cs.add(c("unknown event field", events(batch(ev("\"color\":\"red\""))), 400, "unknown_field"));
        cs.add(c("experiment variant not string", events(batch(ev("\"experiments\":{\"exp-1\":2}"))), 400, "wrong_type"));
        cs.add(c("experiment id invalid", events(batch(ev("\"experiments\":{\"exp 1\":\"a\"}"))), 400, "invalid_name"));
        cs.add(c("unit_id number", events(batch(ev("\"unit_id\":7"))), 400, "wrong_type"));
        cs.add(c("event_id empty", events(batch(ev("\"event_id\":\"\""))), 400, "invalid_value"));

        // Partial batches: the good events are written and counted.
        cs.add(ok("mixed batch", events(batch(ev(""), ev("\"measures\":{\"x\":\"bad\"}"), ev("\"dims\":{\"m\":\"a\"}"))), 200, "\"rejected\":1", 2));
        cs.add(ok("big integer measure is finite", events(batch(ev("\"measures\":{\"x\":99999999999999999999999}"))), 200, "\"accepted\":1", 1));

        // Size limits and decompression.
        cs.add(c("too many events", events(batch(many)), 413, "too_many_events"));
        cs.add(c("body too large (Content-Length)", events(new byte[300 * 1024], "application/json"), 413, "body_too_large"));
        byte[] chunked = chunked(new byte[300 * 1024]);
        cs.add(c("body too large (chunked)", http("POST", "/v1/events", h("Authorization", "Bearer " + KEY, "Content-Type", "application/json",
                "Transfer-Encoding", "chunked"), chunked), 413, "body_too_large"));
        cs.add(c("gzip bomb", events(zipBomb(), "application/json", "Content-Encoding", "gzip"), 413, "decompressed_too_large"));
        byte[] zbomb = new byte[50 << 20];
        java.util.Arrays.fill(zbomb, (byte) ' ');
        cs.add(c("zstd bomb", events(Zstd.compress(zbomb, 3), "application/json", "Content-Encoding", "zstd"), 413, "decompressed_too_large"));
        byte[] corruptGz = gzip(batch(ev("")).getBytes());
        for (int i = 12; i < corruptGz.length - 8; i++) {
            corruptGz[i] ^= 0x5A;
        }
        cs.add(c("corrupt gzip", events(corruptGz, "application/json", "Content-Encoding", "gzip"), 400, "corrupt_body"));
        // inflates in full, to bytes that are not JSON, and only the trailer's CRC says the body is corrupt: the
        // parser fails first, and the answer must still name the encoding
        byte[] badCrc = gzip("\u0010 not json at all".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        badCrc[badCrc.length - 8] ^= 0x01;
        cs.add(c("gzip whose CRC is wrong, of bytes that are not JSON", events(badCrc, "application/json", "Content-Encoding", "gzip"), 400, "corrupt_body"));
        // inflates cleanly to bytes that are not JSON: the JSON's error, not the encoding's (was corrupt_body "Stream closed")
        cs.add(c("clean gzip of invalid JSON", events(gzip("{\"events\":[{\"type\": nope}]}".getBytes()), "application/json", "Content-Encoding", "gzip"),
                400, "invalid_json"));
        cs.add(c("clean gzip of an NDJSON line that is not JSON", events(gzip("{\"type\": nope}\n".getBytes()), "application/x-ndjson",
                "Content-Encoding", "gzip"), 400, "invalid_json"));
        cs.add(c("clean zstd of invalid JSON", events(Zstd.compress("[{\"type\": nope}]".getBytes()), "application/json", "Content-Encoding", "zstd"),
                400, "invalid_json"));
        cs.add(c("empty X-Vigil-Batch-Id header", events(ev("").getBytes(), "application/x-ndjson", "X-Vigil-Batch-Id", ""), 400,
                "invalid_batch_id"));
        // a gzip body of bytes that are not UTF-8 inflates cleanly: the parser's code stands, not corrupt_body
        byte[] notUtf8 = ("{\"events\":[{\"type\":\"caf\u00e9\",\"ts\":1}]}").getBytes(StandardCharsets.ISO_8859_1); // a Latin-1 é
        cs.add(c("clean gzip of a body not UTF-8", events(gzip(notUtf8), "application/json", "Content-Encoding", "gzip"), 400, "invalid_utf8"));
        cs.add(c("not gzip at all", events("plain".getBytes(), "application/json", "Content-Encoding", "gzip"), 400, "corrupt_body"));
        cs.add(c("corrupt zstd", events(new byte[] {0x28, (byte) 0xB5, 0x2F, (byte) 0xFD, 1, 2, 3, 4, 5, 6}, "application/json", "Content-Encoding", "zstd"), 400, "corrupt_body"));
        cs.add(c("unsupported encoding", events("{}".getBytes(), "application/json", "Content-Encoding", "br"), 415, "unsupported_encoding"));
        cs.add(c("unsupported content type", events("<x/>".getBytes(), "application/xml"), 415, "unsupported_media_type"));

        // Auth and routing.
        cs.add(c("missing auth", http("POST", "/v1/events", h("Content-Type", "application/json"), batch(ev("")).getBytes()), 401, "missing_api_key"));
        cs.add(c("wrong key", http("POST", "/v1/events", h("Authorization", "Bearer nope", "Content-Type", "application/json"), batch(ev("")).getBytes()), 401, "invalid_api_key"));
        cs.add(c("basic auth scheme", http("POST", "/v1/events", h("Authorization", "Basic " + KEY, "Content-Type", "application/json"), batch(ev("")).getBytes()), 401, "invalid_api_key"));
        cs.add(c("GET on ingest path", http("GET", "/v1/events", h("Authorization", "Bearer " + KEY), null), 405, "method_not_allowed"));
        cs.add(c("unknown path", http("POST", "/v2/nothing", h("Authorization", "Bearer " + KEY), "{}".getBytes()), 404, "not_found"));

        // Remote write.
        long t = now();
        cs.add(c("remote write corrupt snappy", http("POST", "/api/v1/write", h("Authorization", "Bearer " + KEY, "Content-Type", "application/x-protobuf",
                "Content-Encoding", "snappy"), new byte[] {10, 1, 2, 3, 4, 5, 6, 7}), 400, "corrupt_body"));
        cs.add(c("remote write snappy bomb header", http("POST", "/api/v1/write", h("Authorization", "Bearer " + KEY, "Content-Type", "application/x-protobuf",
                "Content-Encoding", "snappy"), new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x07, 0, 0, 0}), 413, "decompressed_too_large"));
        cs.add(c("remote write not protobuf", http("POST", "/api/v1/write", h("Authorization", "Bearer " + KEY, "Content-Type", "application/x-protobuf",
                "Content-Encoding", "snappy"), Snappy.compress(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1})), 400, "invalid_protobuf"));
        // Remote-Write 2.0 parses as an empty 1.0 request: refused with 415 (its senders then fall back to 1.0), never 204
        cs.add(c("remote write 2.0", http("POST", "/api/v1/write", h("Authorization", "Bearer " + KEY, "Content-Type",
                "application/x-protobuf;proto=io.prometheus.write.v2.Request", "Content-Encoding", "snappy"),
                Snappy.compress(WriteRequest.newBuilder().addTimeseries(series("m", 1.0, t)).build().toByteArray())), 415, "unsupported_media_type"));
        cs.add(ok("remote write 1.0 named", http("POST", "/api/v1/write", h("Authorization", "Bearer " + KEY, "Content-Type",
                "application/x-protobuf;proto=prometheus.WriteRequest", "Content-Encoding", "snappy"),
                Snappy.compress(WriteRequest.newBuilder().addTimeseries(series("m", 1.0, t)).build().toByteArray())), 204, "", 1));
        cs.add(c("remote write empty body", http("POST", "/api/v1/write", h("Authorization", "Bearer " + KEY, "Content-Type", "application/x-protobuf",
                "Content-Encoding", "snappy"), new byte[0]), 400, "empty_body"));
        cs.add(c("remote write gzip", http("POST", "/api/v1/write", h("Authorization", "Bearer " + KEY, "Content-Type", "application/x-protobuf",
                "Content-Encoding", "gzip"), gzip(new byte[4])), 415, "unsupported_encoding"));
        cs.add(c("remote write NaN value", rw(WriteRequest.newBuilder().addTimeseries(series("m", Double.NaN, t)).build()), 400, "not_finite"));
        cs.add(c("remote write missing name", rw(WriteRequest.newBuilder().addTimeseries(series(null, 1, t)).build()), 400, "missing"));
        cs.add(ok("remote write partial", rw(WriteRequest.newBuilder().addTimeseries(series("ok_metric", 1, t))
                .addTimeseries(series("bad metric", 1, t)).build()), 400, "invalid_name", 1));

        // OTLP.
        cs.add(c("otlp invalid protobuf", http("POST", "/v1/metrics", h("Authorization", "Bearer " + KEY, "Content-Type", "application/x-protobuf"),
                new byte[] {(byte) 0x0A, (byte) 0xFF, (byte) 0xFF, 0x01}), 400, "invalid_protobuf"));
        cs.add(c("otlp invalid JSON", http("POST", "/v1/logs", h("Authorization", "Bearer " + KEY, "Content-Type", "application/json"),
                "{\"resourceLogs\":[{".getBytes()), 400, "invalid_json"));
        // a truncated body: the parser's own words, without the Java class that carried them (java.io.EOFException)
        cs.add(c("otlp truncated JSON", http("POST", "/v1/logs", h("Authorization", "Bearer " + KEY, "Content-Type", "application/json"),
                "{\"resourceLogs\":[{".getBytes()), 400, "cannot parse OTLP JSON: End of input"));
        cs.add(c("otlp empty JSON body", http("POST", "/v1/logs", h("Authorization", "Bearer " + KEY, "Content-Type", "application/json"),
                new byte[0]), 400, "empty_body"));
        cs.add(c("otlp JSON deep nesting", http("POST", "/v1/logs", h("Authorization", "Bearer " + KEY, "Content-Type", "application/json"),
                ("{\"resourceLogs\":" + "[".repeat(200) + "]".repeat(200) + "}").getBytes()), 400, "nested deeper"));
        cs.add(c("otlp wrong content type", http("POST", "/v1/metrics", h("Authorization", "Bearer " + KEY, "Content-Type", "text/csv"),
                "a,b".getBytes()), 415, "unsupported_media_type"));
        cs.add(c("otlp missing auth", http("POST", "/v1/metrics", h("Content-Type", "application/json"), "{}".getBytes()), 401, "missing_api_key"));

        // HTTP framing.
        cs.add(c("Content-Length with Transfer-Encoding", http("POST", "/v1/events", h("Authorization", "Bearer " + KEY,
                "Content-Length", "5", "Transfer-Encoding", "chunked"), "0\r\n\r\n".getBytes()), 400, "conflicting_length"));
        cs.add(c("two different Content-Lengths", http("POST", "/v1/events", h("Authorization", "Bearer " + KEY,
                "Content-Length", "2", "content-length", "3"), "{}x".getBytes()), 400, "malformed_http"));
        cs.add(c("URI too long", http("GET", "/" + "a".repeat(5000), h(), null), 414, "uri_too_long"));
        cs.add(c("headers too large", http("GET", "/health/live", h("X-Big", "b".repeat(20_000)), null), 431, "headers_too_large"));
        cs.add(c("garbage request line", "HELLO\r\n\r\n".getBytes(), 400, "malformed_http"));
        cs.add(c("invalid chunk size", http("POST", "/v1/events", h("Authorization", "Bearer " + KEY, "Content-Type", "application/json",
                "Transfer-Encoding", "chunked"), "zz\r\nabc\r\n0\r\n\r\n".getBytes()), 400, "malformed_http"));
        return cs.stream();
    }

    static byte[] chunked(byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int off = 0; off < body.length; off += 8192) {
            int n = Math.min(8192, body.length - off);
            out.writeBytes((Integer.toHexString(n) + "\r\n").getBytes());
            out.write(body, off, n);
            out.writeBytes("\r\n".getBytes());
        }
        out.writeBytes("0\r\n\r\n".getBytes());
        return out.toByteArray();
    }

    record Resp(int status, String body) {
    }

    static Resp send(byte[] request, int timeoutMillis) throws IOException {
        try (Socket s = new Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(timeoutMillis);
            OutputStream out = s.getOutputStream();
            try {
                out.write(request);
                out.flush();
            } catch (IOException e) {
                // The server may answer and close before reading everything (413 on Content-Length).
            }
            return read(s.getInputStream());
        }
    }

    static Resp read(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] b = new byte[8192];
        try {
            int n;
            while ((n = in.read(b)) > 0) {
                buf.write(b, 0, n);
            }
        } catch (SocketTimeoutException | java.net.SocketException e) {
            // keep what arrived
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        if (!text.startsWith("HTTP/1.")) {
            return new Resp(-1, text);
        }
        int status = Integer.parseInt(text.substring(9, 12));
        int bodyAt = text.indexOf("\r\n\r\n");
        return new Resp(status, bodyAt < 0 ? "" : text.substring(bodyAt + 4));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void caseGetsDocumentedAnswer(Case c) throws IOException {
        Resp r = send(c.request(), 10_000);
        assertThat(r.status()).as(c.name() + " -> " + r.body()).isEqualTo(c.status());
        assertThat(r.body()).as(c.name()).contains(c.expect());
        expectedAccepted.addAndGet(c.accepted());
    }

    @Test
    void slowClientGets408() throws IOException {
        byte[] head = ("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY
                + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"events\":").getBytes();
        long t0 = System.nanoTime();
        try (Socket s = new Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(head);
            Resp r = read(s.getInputStream());
            assertThat(r.status()).isEqualTo(408);
            assertThat(r.body()).contains("request_timeout");
        }
        assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(900L, 5000L);
    }

    @Test
    void slowHeadersGet408() throws Exception {
        try (Socket s = new Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write("POST /v1/events HTTP/1.1\r\n".getBytes());
            Thread.sleep(300);
            out.write("Host: x\r\n".getBytes());
            Resp r = read(s.getInputStream());
            assertThat(r.status()).isEqualTo(408);
        }
    }

    @Test
    void keepAliveAndPipelining() throws IOException {
        String one = "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY + "\r\nContent-Type: application/json\r\n";
        String b1 = batch(ev(""));
        String b2 = "{bad";
        String b3 = batch(ev(""), ev(""));
        String pipelined = one + "Content-Length: " + b1.length() + "\r\n\r\n" + b1
                + one + "Content-Length: " + b2.length() + "\r\n\r\n" + b2
                + "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
                + one + "Content-Length: " + b3.length() + "\r\nConnection: close\r\n\r\n" + b3;
        try (Socket s = new Socket("127.0.0.1", gw.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(pipelined.getBytes(StandardCharsets.UTF_8));
            Resp r = read(s.getInputStream());
            String all = "HTTP/1.1 " + r.status() + " " + r.body();
            // Four answers, in request order.
            int a = all.indexOf("\"accepted\":1");
            int b = all.indexOf("invalid_json");
            int c = all.indexOf("\"status\":\"live\"");
            int d = all.indexOf("\"accepted\":2");
            assertThat(a).as(all).isGreaterThanOrEqualTo(0);
            assertThat(b).as(all).isGreaterThan(a);
            assertThat(c).as(all).isGreaterThan(b);
            assertThat(d).as(all).isGreaterThan(c);
        }
        expectedAccepted.addAndGet(3);
    }

    @AfterAll
    static void gatewayStillHealthyAndCountsExact() throws Exception {
        assertThat(TestSupport.get(gw, "/health/ready").statusCode()).isEqualTo(200);
        HttpResponseCheck.validBatchStillAccepted(gw);
        long expected = expectedAccepted.get() + 1;
        double counted = gw.metrics().sum("vigil.gateway.items.accepted");
        assertThat((long) counted).isEqualTo(expected);
        long inKafka = TestSupport.readAll(bootstrap, PREFIX + "events").size() + TestSupport.readAll(bootstrap, PREFIX + "samples").size();
        assertThat(inKafka).isEqualTo(expected);
        assertThat(gw.metrics().sum("vigil.gateway.items.rejected")).isGreaterThan(30);
        assertThat(gw.budget().used()).isZero();
        gw.close();
    }

    static final class HttpResponseCheck {
        static void validBatchStillAccepted(Gateway g) throws Exception {
            var r = TestSupport.post(g, "/v1/events", KEY, "application/json", batch(ev("")).getBytes());
            assertThat(r.statusCode()).isEqualTo(200);
        }
    }
}
