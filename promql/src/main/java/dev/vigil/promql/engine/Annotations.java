package dev.vigil.promql.engine;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Warnings and infos collected during evaluation (deduplicated, in insertion order). */
public final class Annotations {
    private final Set<String> warnings = new LinkedHashSet<>();
    private final Set<String> infos = new LinkedHashSet<>();

    void warn(String msg) { warnings.add("PromQL warning: " + msg); }
    void info(String msg) { infos.add("PromQL info: " + msg); }

    public List<String> warnings() { return new ArrayList<>(warnings); }
    public List<String> infos() { return new ArrayList<>(infos); }
}
