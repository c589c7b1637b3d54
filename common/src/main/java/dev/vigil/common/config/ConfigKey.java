package dev.vigil.common.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One typed, documented, validated configuration key, defined once (in the spirit of Kafka's
 * ConfigDef). The key {@code gateway.max-body-bytes} is read from the properties file under that
 * name and from the environment as {@code VIGIL_GATEWAY_MAX_BODY_BYTES}; the environment wins.
 *
 * @param <T> the parsed type
 */
public final class ConfigKey<T> {
    private final String name;
    private final String type;
    private final Function<String, T> parser;
    private final String defaultValue;
    private final Predicate<T> validator;
    private final String accepted;
    private final String doc;

    private ConfigKey(String name, String type, Function<String, T> parser, String defaultValue,
                      Predicate<T> validator, String accepted, String doc) {
        this.name = Objects.requireNonNull(name);
        this.type = type;
        this.parser = parser;
        this.defaultValue = defaultValue;
        this.validator = validator;
        this.accepted = accepted;
        this.doc = doc;
    }

    public static ConfigKey<Integer> intKey(String name, int dflt, int min, int max, String doc) {
        return new ConfigKey<>(name, "int", Integer::parseInt, String.valueOf(dflt),
                v -> v >= min && v <= max, "an integer in [" + min + ", " + max + "]", doc);
    }

    public static ConfigKey<Long> longKey(String name, long dflt, long min, long max, String doc) {
        return new ConfigKey<>(name, "long", Long::parseLong, String.valueOf(dflt),
                v -> v >= min && v <= max, "an integer in [" + min + ", " + max + "]", doc);
    }

    public static ConfigKey<Double> doubleKey(String name, double dflt, double min, double max, String doc) {
        return new ConfigKey<>(name, "double", Double::parseDouble, String.valueOf(dflt),
                v -> v >= min && v <= max, "a number in [" + min + ", " + max + "]", doc);
    }

    public static ConfigKey<Boolean> boolKey(String name, boolean dflt, String doc) {
        return new ConfigKey<>(name, "boolean", ConfigKey::parseBool, String.valueOf(dflt), v -> true, "true or false", doc);
    }

    public static ConfigKey<String> stringKey(String name, String dflt, String doc) {
        return new ConfigKey<>(name, "string", s -> s, dflt, v -> true, "any string", doc);
    }

    /** A string that must be one of {@code choices} (case-sensitive). */
    public static ConfigKey<String> enumKey(String name, String dflt, List<String> choices, String doc) {
        return new ConfigKey<>(name, "enum", s -> s, dflt, choices::contains, "one of " + String.join(", ", choices), doc);
    }

    public static ConfigKey<Path> pathKey(String name, String dflt, String doc) {
        return new ConfigKey<>(name, "path", Path::of, dflt, v -> true, "a file system path", doc);
    }

    /** Durations like {@code 250ms}, {@code 10s}, {@code 5m}, {@code 24h}. */
    public static ConfigKey<Duration> durationKey(String name, String dflt, Duration min, Duration max, String doc) {
        return new ConfigKey<>(name, "duration", Sizes::parseDuration, dflt,
                v -> v.compareTo(min) >= 0 && v.compareTo(max) <= 0,
                "a duration such as 250ms, 10s, 5m, 24h in [" + Sizes.formatDuration(min) + ", " + Sizes.formatDuration(max) + "]", doc);
    }

    /** Byte sizes like {@code 4096}, {@code 64KiB}, {@code 16MiB}, {@code 1GiB}. */
    public static ConfigKey<Long> bytesKey(String name, String dflt, long min, long max, String doc) {
        return new ConfigKey<>(name, "bytes", Sizes::parseBytes, dflt, v -> v >= min && v <= max,
                "a size such as 4096, 64KiB, 16MiB in [" + min + ", " + max + "] bytes", doc);
    }

    /** Comma-separated list; each element trimmed; empty string means the empty list. */
    public static ConfigKey<List<String>> listKey(String name, String dflt, String doc) {
        return new ConfigKey<>(name, "list", ConfigKey::parseList, dflt, v -> true, "a comma-separated list", doc);
    }

    /** A required key with no default: startup fails when it is absent. */
    public ConfigKey<T> required() {
        return new ConfigKey<>(name, type, parser, null, validator, accepted, doc);
    }

    public ConfigKey<T> withDefault(String dflt) {
        return new ConfigKey<>(name, type, parser, dflt, validator, accepted, doc);
    }

    T parse(String raw, String source) {
        T value;
        try {
            value = parser.apply(raw.trim());
        } catch (RuntimeException e) {
            throw new ConfigException("config key " + name + " (" + source + ") has invalid value '" + raw
                    + "'; accepted values: " + accepted);
        }
        if (!validator.test(value)) {
            throw new ConfigException("config key " + name + " (" + source + ") has invalid value '" + raw
                    + "'; accepted values: " + accepted);
        }
        return value;
    }

    public String name() {
        return name;
    }

    public String envName() {
        return "VIGIL_" + name.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    public String type() {
        return type;
    }

    public String defaultValue() {
        return defaultValue;
    }

    public String accepted() {
        return accepted;
    }

    public String doc() {
        return doc;
    }

    private static boolean parseBool(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "1", "on" -> true;
            case "false", "no", "0", "off" -> false;
            default -> throw new IllegalArgumentException(s);
        };
    }

    private static List<String> parseList(String s) {
        if (s.isBlank()) {
            return List.of();
        }
        return java.util.Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
    }
}
