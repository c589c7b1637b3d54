package dev.vigil.alerting;

import java.util.Collections;
import java.util.Iterator;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An immutable set of label name/value pairs, sorted by name (the identity of a series or an
 * alert). Empty values are dropped, as in Prometheus. Compares like Prometheus'
 * {@code labels.Compare}.
 */
public final class LabelSet implements Comparable<LabelSet>, Iterable<Map.Entry<String, String>> {
    public static final String METRIC_NAME = "__name__";
    public static final String ALERT_NAME = "alertname";
    public static final LabelSet EMPTY = new LabelSet(new TreeMap<>());

    private final SortedMap<String, String> map;
    private int hash;

    private LabelSet(TreeMap<String, String> m) {
        this.map = Collections.unmodifiableSortedMap(m);
    }

    public static LabelSet of(Map<String, String> m) {
        TreeMap<String, String> t = new TreeMap<>();
        if (m != null) {
            m.forEach((k, v) -> {
                if (v != null && !v.isEmpty()) {
                    t.put(k, v);
                }
            });
        }
        return t.isEmpty() ? EMPTY : new LabelSet(t);
    }

    /** From alternating name, value arguments. */
    public static LabelSet of(String... kv) {
        TreeMap<String, String> t = new TreeMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) {
            if (kv[i + 1] != null && !kv[i + 1].isEmpty()) {
                t.put(kv[i], kv[i + 1]);
            }
        }
        return t.isEmpty() ? EMPTY : new LabelSet(t);
    }

    public String get(String name) {
        return map.getOrDefault(name, "");
    }

    public boolean has(String name) {
        return map.containsKey(name);
    }

    public int size() {
        return map.size();
    }

    public boolean isEmpty() {
        return map.isEmpty();
    }

    /** An unmodifiable sorted view. */
    public SortedMap<String, String> asMap() {
        return map;
    }

    public Builder toBuilder() {
        return new Builder(map);
    }

    public LabelSet without(String name) {
        if (!map.containsKey(name)) {
            return this;
        }
        return toBuilder().del(name).build();
    }

    @Override
    public Iterator<Map.Entry<String, String>> iterator() {
        return map.entrySet().iterator();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LabelSet l && (this == l || (hashCode() == l.hashCode() && map.equals(l.map)));
    }

    @Override
    public int hashCode() {
        int h = hash;
        if (h == 0) {
            h = map.hashCode();
            if (h == 0) {
                h = 1;
            }
            hash = h;
        }
        return h;
    }

    @Override
    public int compareTo(LabelSet o) {
        Iterator<Map.Entry<String, String>> a = map.entrySet().iterator();
        Iterator<Map.Entry<String, String>> b = o.map.entrySet().iterator();
        while (a.hasNext() && b.hasNext()) {
            Map.Entry<String, String> x = a.next();
            Map.Entry<String, String> y = b.next();
            int c = x.getKey().compareTo(y.getKey());
            if (c != 0) {
                return c;
            }
            c = x.getValue().compareTo(y.getValue());
            if (c != 0) {
                return c;
            }
        }
        return Boolean.compare(a.hasNext(), b.hasNext());
    }

    /** Prometheus' rendering: {@code {a="b", c="d"}} (all labels, including the name). */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, String> e : map.entrySet()) {
            if (!first) {
                sb.append(", ");
            }
            first = false;
            sb.append(e.getKey()).append('=').append(quote(e.getValue()));
        }
        return sb.append('}').toString();
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                default -> sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    /** Mutable builder; setting an empty value deletes the label. */
    public static final class Builder {
        private final TreeMap<String, String> m;

        public Builder() {
            m = new TreeMap<>();
        }

        Builder(Map<String, String> init) {
            m = new TreeMap<>(init);
        }

        public Builder set(String name, String value) {
            if (value == null || value.isEmpty()) {
                m.remove(name);
            } else {
                m.put(name, value);
            }
            return this;
        }

        public Builder del(String name) {
            m.remove(name);
            return this;
        }

        public LabelSet build() {
            return m.isEmpty() ? EMPTY : new LabelSet(new TreeMap<>(m));
        }
    }
}
