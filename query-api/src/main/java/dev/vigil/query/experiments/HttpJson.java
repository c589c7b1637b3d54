package dev.vigil.query.experiments;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;

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

    /**
     * What is wrong with a request body, for the client: where (the field's path, e.g. {@code variants[1].allocation},
     * and line and column) and what, with the fields that are accepted instead of Jackson's class names for an unknown one.
     */
    public static String describe(JsonProcessingException e) {
        StringBuilder sb = new StringBuilder();
        if (e instanceof UnrecognizedPropertyException u) {
            List<String> known = u.getKnownPropertyIds() == null ? List.of()
                    : u.getKnownPropertyIds().stream().map(String::valueOf).sorted().toList();
            sb.append("unknown field '").append(u.getPropertyName()).append('\'');
            appendPath(sb, u, true);
            if (!known.isEmpty()) {
                sb.append(" (expected one of: ").append(String.join(", ", known)).append(')');
            }
        } else {
            sb.append(e.getOriginalMessage());
            if (e instanceof JsonMappingException m) {
                appendPath(sb, m, false);
            }
        }
        JsonLocation at = e.getLocation();
        if (at != null && at.getLineNr() > 0) {
            sb.append(" at line ").append(at.getLineNr()).append(", column ").append(at.getColumnNr());
        }
        return sb.toString();
    }

    /** " in variants[1].allocation": the path to the value (for an unknown field, to the object that holds it). */
    private static void appendPath(StringBuilder sb, JsonMappingException m, boolean parentOnly) {
        List<JsonMappingException.Reference> path = m.getPath();
        int n = parentOnly ? path.size() - 1 : path.size();
        if (n <= 0) {
            return;
        }
        sb.append(" in ");
        for (int i = 0; i < n; i++) {
            JsonMappingException.Reference r = path.get(i);
            if (r.getFieldName() != null) {
                if (i > 0) {
                    sb.append('.');
                }
                sb.append(r.getFieldName());
            } else {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
    }

    private static FullHttpResponse write(HttpResponseStatus status, Object body) {
        try {
            return Responses.bytes(status, "application/json", ExperimentJson.MAPPER.writeValueAsBytes(body));
        } catch (Exception e) {
            throw new IllegalStateException("cannot serialise response", e);
        }
    }
}
