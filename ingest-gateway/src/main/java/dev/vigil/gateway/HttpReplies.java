package dev.vigil.gateway;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/** Response builders shared by the endpoints. */
public final class HttpReplies {
    static final ObjectMapper JSON = new ObjectMapper();
    /** At most this many rejections are listed in one answer (all are counted). */
    static final int MAX_LISTED_ERRORS = 100;

    private HttpReplies() {
    }

    public static FullHttpResponse bytes(int status, String contentType, byte[] body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.wrappedBuffer(body));
        if (contentType != null) {
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        return r;
    }

    public static FullHttpResponse json(int status, Object body) {
        try {
            return bytes(status, "application/json", JSON.writeValueAsBytes(body));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static FullHttpResponse text(int status, String body) {
        return bytes(status, "text/plain; charset=utf-8", body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** The JSON error body: {"error": code, "message": ..., details...}, with Retry-After when set. */
    public static FullHttpResponse jsonError(RequestException e) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("error", e.code());
        b.put("message", e.getMessage());
        b.putAll(e.details());
        return retryAfter(json(e.status(), b), e);
    }

    public static FullHttpResponse retryAfter(FullHttpResponse r, RequestException e) {
        if (e.retryAfterSeconds() > 0) {
            r.headers().set(HttpHeaderNames.RETRY_AFTER, Integer.toString(e.retryAfterSeconds()));
        }
        return r;
    }

    static List<Map<String, Object>> errorList(List<Rejection> rejections) {
        return rejections.stream().limit(MAX_LISTED_ERRORS).map(r -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("index", r.index());
            m.put("field", r.field());
            m.put("reason", r.reason());
            m.put("message", r.message());
            return m;
        }).toList();
    }

    /** One line summary of the first rejections, for text and OTLP error messages. */
    static String summary(List<Rejection> rejections) {
        StringBuilder sb = new StringBuilder();
        sb.append(rejections.size()).append(" rejected");
        int n = 0;
        for (Rejection r : rejections) {
            if (n++ == 10) {
                sb.append("; ...");
                break;
            }
            sb.append("; #").append(r.index()).append(' ').append(r.field()).append(": ").append(r.reason()).append(" (").append(r.message()).append(')');
        }
        return sb.toString();
    }
}
