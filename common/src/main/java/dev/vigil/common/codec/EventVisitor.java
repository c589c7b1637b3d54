package dev.vigil.common.codec;

/**
 * Receives the fields of one encoded event record, in encoding order, as ranges of the record's
 * bytes (UTF-8, not copied) and primitives: the allocation-free alternative to
 * {@link RecordCodec#decodeEvent(byte[])} used by hot consumers (see
 * {@link RecordCodec#visitEvent(byte[], EventVisitor)}).
 *
 * <p>{@link RecordCodec#visitEvent} validates the whole record before the first callback, so a
 * visitor never sees part of a record that is then rejected. Ranges are valid only during the
 * call (the array belongs to the caller). Maps arrive as they are encoded: the encoder writes
 * them sorted by key without duplicates, but a hand-made record may not be (decodeEvent sorts and
 * keeps the last of duplicate keys); visitors that care must check.
 */
public interface EventVisitor {
    /** First call: tenant and type as byte ranges of {@code buf}, and the event time. */
    void begin(byte[] buf, int tenantOff, int tenantLen, long timeMillis, int typeOff, int typeLen);

    /**
     * The whole encoded dims map ({@code n:uvarint (key value)*}) as one byte range, before the
     * individual {@link #dim} calls: a ready-made identity of the dims for caching.
     */
    default void dims(byte[] buf, int off, int len, int count) {
    }

    default void dim(byte[] buf, int keyOff, int keyLen, int valueOff, int valueLen) {
    }

    /** False for visitors that need only the {@link #dims} range: the codec then skips the {@link #dim} calls. */
    default boolean wantsEachDim() {
        return true;
    }

    /** Called once with the number of measures, before the {@link #measure} calls. */
    default void measures(int count) {
    }

    default void measure(byte[] buf, int nameOff, int nameLen, double value) {
    }

    /** Only when the record has a unit id. */
    default void unit(byte[] buf, int off, int len) {
    }

    /** Called once with the number of experiments, before the {@link #experiment} calls. */
    default void experiments(int count) {
    }

    default void experiment(byte[] buf, int idOff, int idLen, int variantOff, int variantLen) {
    }

    /** Only when the record has an event id. */
    default void eventId(byte[] buf, int off, int len) {
    }

    /** Last call. */
    default void end(long ingestMillis) {
    }
}
