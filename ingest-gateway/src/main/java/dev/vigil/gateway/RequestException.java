package dev.vigil.gateway;

import java.util.Map;

/**
 * A whole request is refused. {@code code} is a stable machine-readable error code (also the
 * {@code reason} tag of the request rejection counter); {@code details} adds fields to the JSON
 * error body (for example the parse position).
 */
public final class RequestException extends RuntimeException {
    private final int status;
    private final String code;
    private final int retryAfterSeconds;
    private final Map<String, Object> details;

    public RequestException(int status, String code, String message) {
        this(status, code, message, 0, Map.of());
    }

    public RequestException(int status, String code, String message, int retryAfterSeconds, Map<String, Object> details) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
        this.details = details;
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public Map<String, Object> details() {
        return details;
    }

    public static RequestException badRequest(String code, String message) {
        return new RequestException(400, code, message);
    }

    public static RequestException tooLarge(String code, String message) {
        return new RequestException(413, code, message);
    }

    public static RequestException overloaded(String code, String message, int retryAfter) {
        return new RequestException(429, code, message, retryAfter, Map.of());
    }

    public static RequestException unavailable(String code, String message, int retryAfter) {
        return new RequestException(503, code, message, retryAfter, Map.of());
    }
}
