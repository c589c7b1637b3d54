package dev.vigil.aggregator;

import java.nio.ByteBuffer;

/** Copies out of a Kafka record's key or value, which the consumer hands over in place (Kafka's ByteBufferDeserializer). */
final class Records {
    private Records() {
    }

    /** A copy of at most the first {@code max} remaining bytes of {@code b} (its position untouched); null for null. */
    static byte[] head(ByteBuffer b, int max) {
        if (b == null) {
            return null;
        }
        byte[] a = new byte[Math.min(max, b.remaining())];
        b.get(b.position(), a);
        return a;
    }

    /** A copy of the remaining bytes of {@code b} (its position untouched); null for null. */
    static byte[] bytes(ByteBuffer b) {
        return head(b, Integer.MAX_VALUE);
    }
}
