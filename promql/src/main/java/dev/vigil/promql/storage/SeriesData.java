package dev.vigil.promql.storage;

import dev.vigil.promql.Labels;

/**
 * One series as returned by a {@link Querier}: labels plus float samples in timestamp order
 * (timestamps in ms). Only the first {@code size} entries of the arrays are valid.
 * Staleness markers are stored as {@link StaleNaN#VALUE}.
 */
public record SeriesData(Labels labels, long[] timestamps, double[] values, int size) {
    public SeriesData(Labels labels, long[] timestamps, double[] values) {
        this(labels, timestamps, values, timestamps.length);
    }
}
