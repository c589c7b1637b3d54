package dev.vigil.promql.storage;

import dev.vigil.promql.Labels;

/**
 * One series as returned by a {@link Querier}: labels plus float samples in timestamp order
 * (timestamps in ms). Only the first {@code size} entries of the arrays are valid.
 * Staleness markers are stored as {@link StaleNaN#VALUE}.
 *
 * <p>{@code startTimestamps} optionally holds each sample's start timestamp (ms, "created
 * timestamp" of a cumulative counter or start of a delta interval); {@code null} when the series
 * has none, and an entry of 0 means "unknown" for that sample.
 */
public record SeriesData(Labels labels, long[] timestamps, double[] values, int size, long[] startTimestamps) {
    public SeriesData(Labels labels, long[] timestamps, double[] values) {
        this(labels, timestamps, values, timestamps.length, null);
    }

    public SeriesData(Labels labels, long[] timestamps, double[] values, int size) {
        this(labels, timestamps, values, size, null);
    }

    /** Start timestamp of sample i in ms, 0 if unknown. */
    public long startTimestamp(int i) {
        return startTimestamps == null ? 0 : startTimestamps[i];
    }
}
