package dev.vigil.gateway;

/**
 * Events already encoded for Kafka by the parser (series key and {@code RecordCodec} value as
 * {@link dev.vigil.common.codec.EventRecordWriter} writes them), so the hot path never builds
 * {@code Event} objects, sorted maps or key strings.
 */
public record EncodedEvents(byte[][] keys, byte[][] values) {
    public int size() {
        return values.length;
    }
}
