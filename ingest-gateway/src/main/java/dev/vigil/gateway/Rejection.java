package dev.vigil.gateway;

/**
 * Why one item (event, log record, data point, sample) of a request was not accepted.
 *
 * @param index   position of the item in the request (0-based; for OTLP/remote write, in flattening order)
 * @param field   the offending field, e.g. {@code ts}, {@code dims.region}, {@code measures.score}
 * @param reason  a stable reason code (also the {@code reason} tag of the rejection counters)
 * @param message a human-readable explanation
 */
public record Rejection(int index, String field, String reason, String message) {
    public static final String MISSING = "missing";
    public static final String WRONG_TYPE = "wrong_type";
    public static final String INVALID_NAME = "invalid_name";
    public static final String INVALID_VALUE = "invalid_value";
    public static final String TOO_LONG = "too_long";
    public static final String TOO_MANY = "too_many";
    public static final String TOO_LARGE = "too_large";
    public static final String NOT_FINITE = "not_finite";
    public static final String OUT_OF_WINDOW = "out_of_window";
    public static final String DUPLICATE_KEY = "duplicate_key";
    public static final String UNKNOWN_FIELD = "unknown_field";
    public static final String UNSUPPORTED = "unsupported";

    public Rejection withIndex(int i) {
        return new Rejection(i, field, reason, message);
    }
}
