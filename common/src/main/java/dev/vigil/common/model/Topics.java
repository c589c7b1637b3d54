package dev.vigil.common.model;

/** Kafka topic names, one per stream kind. Prefix configurable for shared clusters. */
public final class Topics {
    private Topics() {
    }

    public static String events(String prefix) {
        return prefix + "events";
    }

    public static String samples(String prefix) {
        return prefix + "samples";
    }

    public static String deadLetters(String prefix) {
        return prefix + "dead-letters";
    }

    public static final String DEFAULT_PREFIX = "vigil.";
}
