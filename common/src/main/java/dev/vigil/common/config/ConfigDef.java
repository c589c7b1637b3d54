package dev.vigil.common.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The set of keys one service accepts, in documentation order. */
public final class ConfigDef {
    private final Map<String, ConfigKey<?>> keys = new LinkedHashMap<>();

    public ConfigDef define(ConfigKey<?>... ks) {
        for (ConfigKey<?> k : ks) {
            if (keys.putIfAbsent(k.name(), k) != null) {
                throw new IllegalArgumentException("config key defined twice: " + k.name());
            }
        }
        return this;
    }

    public ConfigDef include(ConfigDef other) {
        other.keys().forEach(this::define);
        return this;
    }

    public Collection<ConfigKey<?>> keys() {
        return keys.values();
    }

    public List<String> names() {
        return new ArrayList<>(keys.keySet());
    }

    public ConfigKey<?> key(String name) {
        return keys.get(name);
    }

    /** A Markdown table of every key, for docs/configuration.md. */
    public String toMarkdown() {
        StringBuilder sb = new StringBuilder("| key | environment | type | default | accepted | description |\n|---|---|---|---|---|---|\n");
        for (ConfigKey<?> k : keys.values()) {
            sb.append("| `").append(k.name()).append("` | `").append(k.envName()).append("` | ").append(k.type())
                    .append(" | ").append(k.defaultValue() == null ? "(required)" : "`" + k.defaultValue() + "`")
                    .append(" | ").append(k.accepted().replace("|", "\\|")).append(" | ").append(k.doc().replace("|", "\\|")).append(" |\n");
        }
        return sb.toString();
    }
}
