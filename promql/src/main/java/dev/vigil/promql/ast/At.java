package dev.vigil.promql.ast;

/** The {@code @} modifier: a fixed timestamp (ms) or start()/end() of the query. */
public record At(Kind kind, long timestampMs) {
    public enum Kind { TIMESTAMP, START, END }
}
