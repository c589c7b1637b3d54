package dev.vigil.promql;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** An immutable, sorted set of label name/value pairs. Hash code is cached. */
public final class Labels implements Comparable<Labels> {
    public static final String METRIC_NAME = "__name__";
    public static final Labels EMPTY = new Labels(new String[0], new String[0]);

    private final String[] names;
    private final String[] values;
    private int hash;

    private Labels(String[] names, String[] values) {
        this.names = names;
        this.values = values;
    }

    /** Builds labels from alternating name, value arguments (need not be sorted). */
    public static Labels of(String... kv) {
        Builder b = new Builder();
        for (int i = 0; i + 1 < kv.length; i += 2) b.set(kv[i], kv[i + 1]);
        return b.build();
    }

    public static Labels fromMap(Map<String, String> m) {
        Builder b = new Builder();
        m.forEach(b::set);
        return b.build();
    }

    public int size() { return names.length; }
    public String name(int i) { return names[i]; }
    public String value(int i) { return values[i]; }

    public String get(String name) {
        int i = Arrays.binarySearch(names, name);
        return i >= 0 ? values[i] : "";
    }

    public boolean has(String name) { return Arrays.binarySearch(names, name) >= 0; }

    public String metricName() {
        // __name__ sorts first unless a label name starts with an upper-case letter or digit
        if (names.length > 0 && names[0].equals(METRIC_NAME)) return values[0];
        return get(METRIC_NAME);
    }

    public Map<String, String> toMap() {
        Map<String, String> m = new TreeMap<>();
        for (int i = 0; i < names.length; i++) m.put(names[i], values[i]);
        return m;
    }

    public Labels withoutName() {
        if (!has(METRIC_NAME)) return this;
        return without(List.of(METRIC_NAME));
    }

    /** Drops __name__ and other reserved metadata labels (__type__, __unit__). */
    public Labels dropMetricName() {
        boolean any = false;
        for (String n : names) if (isMetadataLabel(n)) { any = true; break; }
        if (!any) return this;
        Builder b = new Builder();
        for (int i = 0; i < names.length; i++) if (!isMetadataLabel(names[i])) b.set(names[i], values[i]);
        return b.build();
    }

    public static boolean isMetadataLabel(String n) {
        return n.equals(METRIC_NAME) || n.equals("__type__") || n.equals("__unit__");
    }

    public Labels without(Collection<String> drop) {
        Builder b = new Builder();
        for (int i = 0; i < names.length; i++) if (!drop.contains(names[i])) b.set(names[i], values[i]);
        return b.build();
    }

    public Labels keep(Collection<String> keep) {
        Builder b = new Builder();
        for (int i = 0; i < names.length; i++) if (keep.contains(names[i])) b.set(names[i], values[i]);
        return b.build();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        for (int i = 0; i < names.length; i++) b.set(names[i], values[i]);
        return b;
    }

    @Override public int hashCode() {
        int h = hash;
        if (h == 0) {
            h = 1;
            for (int i = 0; i < names.length; i++) {
                h = 31 * h + names[i].hashCode();
                h = 31 * h + values[i].hashCode();
            }
            if (h == 0) h = 1;
            hash = h;
        }
        return h;
    }

    @Override public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof Labels l)) return false;
        if (hashCode() != l.hashCode()) return false;
        return Arrays.equals(names, l.names) && Arrays.equals(values, l.values);
    }

    @Override public int compareTo(Labels o) {
        int n = Math.min(names.length, o.names.length);
        for (int i = 0; i < n; i++) {
            int c = names[i].compareTo(o.names[i]);
            if (c != 0) return c;
            c = values[i].compareTo(o.values[i]);
            if (c != 0) return c;
        }
        return Integer.compare(names.length, o.names.length);
    }

    /** Prometheus-style rendering: {@code name{a="b", c="d"}}. */
    @Override public String toString() {
        StringBuilder sb = new StringBuilder();
        String name = get(METRIC_NAME);
        boolean plainName = !name.isEmpty() && isLegacyMetricName(name);
        if (plainName) sb.append(name);
        sb.append('{');
        boolean first = true;
        if (!name.isEmpty() && !plainName) { sb.append(Strings.quote(name)); first = false; }
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals(METRIC_NAME)) continue;
            if (!first) sb.append(", ");
            first = false;
            sb.append(isLegacyLabelName(names[i]) ? names[i] : Strings.quote(names[i])).append('=').append(Strings.quote(values[i]));
        }
        return sb.append('}').toString();
    }

    /** Go-style {__name__="x", a="b"} rendering as used in Prometheus error messages. */
    public String toGoString() {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < names.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(names[i]).append('=').append(Strings.quote(values[i]));
        }
        return sb.append('}').toString();
    }

    public static boolean isLegacyMetricName(String s) {
        if (s.isEmpty()) return false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
            if (!ok) return false;
        }
        return true;
    }

    public static boolean isLegacyLabelName(String s) {
        if (s.isEmpty()) return false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9');
            if (!ok) return false;
        }
        return true;
    }

    /** UTF-8 validity check for label names (Prometheus 3 allows any valid UTF-8, non-empty). */
    public static boolean isValidLabelName(String s) {
        return !s.isEmpty() && Strings.isValidUtf8(s);
    }

    public static final class Builder {
        private final TreeMap<String, String> m = new TreeMap<>();
        public Builder set(String name, String value) {
            if (value == null || value.isEmpty()) m.remove(name); else m.put(name, value);
            return this;
        }
        public Builder del(String name) { m.remove(name); return this; }
        public String get(String name) { return m.getOrDefault(name, ""); }
        public Labels build() {
            if (m.isEmpty()) return EMPTY;
            String[] n = new String[m.size()];
            String[] v = new String[m.size()];
            int i = 0;
            for (var e : m.entrySet()) { n[i] = e.getKey(); v[i] = e.getValue(); i++; }
            return new Labels(n, v);
        }
    }

    public List<String> names() { return new ArrayList<>(Arrays.asList(names)); }
}
