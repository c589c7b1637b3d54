package dev.vigil.promql.engine;

import dev.vigil.promql.Labels;

/** One element of an instant vector. */
public record Sample(Labels metric, long timestamp, double value) {
}
