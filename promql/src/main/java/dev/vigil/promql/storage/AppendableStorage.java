package dev.vigil.promql.storage;

/** A storage that can be loaded with samples and cleared (conformance runner contract). */
public interface AppendableStorage extends Storage, AutoCloseable {
    Appender appender();

    /** Removes all data. */
    void clear();

    @Override default void close() {}
}
