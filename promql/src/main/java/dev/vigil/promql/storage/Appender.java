package dev.vigil.promql.storage;

import dev.vigil.promql.Labels;

/** Writes samples into a storage (used by tests and the conformance runner). */
public interface Appender {
    void append(Labels labels, long timestampMs, double value);

    /**
     * Appends a sample with its start timestamp (ms; 0 = unknown). Storages without start
     * timestamp support drop it.
     */
    default void append(Labels labels, long timestampMs, double value, long startTimestampMs) {
        append(labels, timestampMs, value);
    }

    /** Makes appended samples visible. */
    default void commit() {}
}
