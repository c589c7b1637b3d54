package dev.vigil.common.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Validated configuration of one service: every key of its {@link ConfigDef} parsed from the
 * environment ({@code VIGIL_*}) and an optional properties file ({@code VIGIL_CONFIG_FILE}).
 * All errors are collected and reported together, each naming its key and accepted values.
 */
public final class Config {
    private final Map<String, Object> values;
    private final Map<String, String> sources;

    private Config(Map<String, Object> values, Map<String, String> sources) {
        this.values = values;
        this.sources = sources;
    }

    /** Loads from the process environment and {@code VIGIL_CONFIG_FILE} if set. */
    public static Config load(ConfigDef def) {
        return load(def, System.getenv());
    }

    public static Config load(ConfigDef def, Map<String, String> env) {
        Properties file = new Properties();
        String fileName = env.get("VIGIL_CONFIG_FILE");
        if (fileName != null && !fileName.isBlank()) {
            Path p = Path.of(fileName);
            try (Reader r = Files.newBufferedReader(p)) {
                file.load(r);
            } catch (IOException e) {
                throw new ConfigException("config key VIGIL_CONFIG_FILE: cannot read " + p + ": " + e.getMessage());
            }
            for (String name : file.stringPropertyNames()) {
                if (def.key(name) == null) {
                    throw new ConfigException("config file " + p + " has unknown key '" + name + "'; known keys: "
                            + String.join(", ", def.names()));
                }
            }
        }
        return from(def, env, file);
    }

    static Config from(ConfigDef def, Map<String, String> env, Properties file) {
        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, String> sources = new LinkedHashMap<>();
        List<String> errors = new ArrayList<>();
        for (ConfigKey<?> key : def.keys()) {
            String raw = env.get(key.envName());
            String source = "environment variable " + key.envName();
            if (raw == null) {
                raw = file.getProperty(key.name());
                source = "config file";
            }
            if (raw == null) {
                raw = key.defaultValue();
                source = "default";
            }
            if (raw == null) {
                errors.add("config key " + key.name() + " is required (set " + key.envName() + "); accepted values: " + key.accepted());
                continue;
            }
            try {
                values.put(key.name(), key.parse(raw, source));
                sources.put(key.name(), source);
            } catch (ConfigException e) {
                errors.add(e.getMessage());
            }
        }
        if (!errors.isEmpty()) {
            throw new ConfigException(String.join("; ", errors));
        }
        return new Config(values, sources);
    }

    @SuppressWarnings("unchecked")
    public <T> T get(ConfigKey<T> key) {
        if (!values.containsKey(key.name())) {
            throw new IllegalArgumentException("key " + key.name() + " is not part of this service's ConfigDef");
        }
        return (T) values.get(key.name());
    }

    /**
     * Key = value lines for the startup log; values of keys whose name contains "password", "api-keys" or "secret" are
     * masked, and URLs anywhere show no user info or query ({@link Redact#urls}: webhook tokens, passwords in URLs).
     */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        values.forEach((k, v) -> {
            boolean secret = k.contains("password") || k.contains("api-keys") || k.contains("secret");
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            sb.append(k).append('=').append(secret ? "***" : Redact.urls(String.valueOf(v)));
        });
        return sb.toString();
    }
}
