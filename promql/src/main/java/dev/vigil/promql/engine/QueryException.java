package dev.vigil.promql.engine;

/** An error raised while evaluating a query (bad data, limits, cancellation). */
public class QueryException extends RuntimeException {
    public enum Kind { EXECUTION, TOO_MANY_SAMPLES, TIMEOUT, CANCELED, BAD_DATA }

    private final Kind kind;

    public QueryException(String msg) { this(Kind.EXECUTION, msg); }
    public QueryException(Kind kind, String msg) { super(msg); this.kind = kind; }

    public Kind kind() { return kind; }
}
