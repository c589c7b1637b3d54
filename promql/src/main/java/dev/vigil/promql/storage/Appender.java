package dev.vigil.promql.storage;

import dev.vigil.promql.Labels;

/** Writes samples into a storage (used by tests and the conformance runner). */
public interface Appender {
    void append(Labels labels, long timestampMs, double value);

    /** Makes appended samples visible. */
    default void commit() {}
}
