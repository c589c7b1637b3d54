package dev.vigil.common.http;

import java.util.List;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;

/** What is wrong with a JSON request body, in words for the client who sent it (the services' admin and JSON APIs). */
public final class JsonProblems {
    private JsonProblems() {
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
            sb.append(message(e));
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

    /**
     * Jackson's message without its own location suffix, and with the locations it nests ("start marker at [Source:
     * REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 12]") cut to line and column.
     */
    public static String message(JsonProcessingException e) {
        String m = e.getOriginalMessage();
        return m == null ? e.getClass().getSimpleName() : m.replaceAll("\\[Source: [^;\\]]*; ", "[");
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

}
