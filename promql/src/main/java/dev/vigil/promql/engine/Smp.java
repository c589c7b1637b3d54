package dev.vigil.promql.engine;

import dev.vigil.promql.Labels;

/** Internal: an element of a vector at one step; {@code ord} is the index of its input series. */
record Smp(Labels metric, double f, long t, boolean dropName, int ord) {
    Smp withF(double v) { return new Smp(metric, v, t, dropName, ord); }
}
