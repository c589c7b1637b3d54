package dev.vigil.query.experiments;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.vigil.common.http.Responses;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * JSON envelopes of the experiment and ML-health endpoints, in the Prometheus API style:
 * {@code {"status":"success","data":...}} and {@code {"status":"error","errorType":...,"error":...}}.
 */
public final class HttpJson {
    private HttpJson() {
    }

    public static FullHttpResponse ok(Object data) {
        return ok(HttpResponseStatus.OK, data);
    }

    public static FullHttpResponse ok(HttpResponseStatus status, Object data) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", "success");
        body.put("data", data);
        return write(status, body);
    }

    public static FullHttpResponse error(HttpResponseStatus status, String type, String message) {
        return error(status, type, message, null);
    }

    public static FullHttpResponse error(HttpResponseStatus status, String type, String message, List<String> problems) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("status", "error");
        body.put("errorType", type);
        body.put("error", message);
        if (problems != null) body.put("problems", problems);
        return write(status, body);
    }

    private static FullHttpResponse write(HttpResponseStatus status, Object body) {
        try {
            return Responses.bytes(status, "application/json", ExperimentJson.MAPPER.writeValueAsBytes(body));
        } catch (Exception e) {
            throw new IllegalStateException("cannot serialise response", e);
        }
    }
}
