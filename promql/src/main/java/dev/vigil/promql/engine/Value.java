package dev.vigil.promql.engine;

import java.util.List;

/** A query result value. */
public sealed interface Value {
    record Scalar(long timestamp, double value) implements Value {}
    record Str(long timestamp, String value) implements Value {}
    record Vector(List<Sample> samples) implements Value {}
    record Matrix(List<Series> series) implements Value {}
}
