package dev.vigil.promql.engine;

/** Result of a query: the value plus collected annotations. */
public record QueryResult(Value value, Annotations annotations) {
}
