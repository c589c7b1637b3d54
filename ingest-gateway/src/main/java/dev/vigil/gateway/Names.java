package dev.vigil.gateway;

/**
 * Character and length rules for names and label values, shared by every ingest path.
 * Checked by hand (no regex) because they run for every dim of every event.
 */
public final class Names {
    private final int maxName;
    private final int maxValue;

    public Names(int maxName, int maxValue) {
        this.maxName = maxName;
        this.maxValue = maxValue;
    }

    private static boolean letter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    }

    private static boolean digit(char c) {
        return c >= '0' && c <= '9';
    }

    /** Label-style name ({@code [A-Za-z_][A-Za-z0-9_]*}): dims, measures, sample label names. Null if fine. */
    public Rejection labelName(String field, String s) {
        if (s.isEmpty()) {
            return new Rejection(0, field, Rejection.INVALID_NAME, "empty name");
        }
        if (s.length() > maxName) {
            return new Rejection(0, field, Rejection.TOO_LONG, "name longer than " + maxName + " characters");
        }
        if (!letter(s.charAt(0))) {
            return new Rejection(0, field, Rejection.INVALID_NAME, "name must start with a letter or '_'");
        }
        for (int i = 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!letter(c) && !digit(c)) {
                return new Rejection(0, field, Rejection.INVALID_NAME, "name may contain only A-Z a-z 0-9 _ (got '" + printable(c) + "')");
            }
        }
        return null;
    }

    /** Event type: {@code [A-Za-z_][A-Za-z0-9_.:-]*}. */
    public Rejection typeName(String field, String s) {
        return dotted(field, s, true);
    }

    /** Metric name: {@code [A-Za-z_:][A-Za-z0-9_:]*}. */
    public Rejection metricName(String field, String s) {
        if (s.isEmpty()) {
            return new Rejection(0, field, Rejection.INVALID_NAME, "empty metric name");
        }
        if (s.length() > maxName) {
            return new Rejection(0, field, Rejection.TOO_LONG, "metric name longer than " + maxName + " characters");
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!letter(c) && c != ':' && !(i > 0 && digit(c))) {
                return new Rejection(0, field, Rejection.INVALID_NAME, "metric name may contain only A-Z a-z 0-9 _ : and not start with a digit");
            }
        }
        return null;
    }

    /** Experiment id: {@code [A-Za-z0-9_.:-]+}. */
    public Rejection experimentId(String field, String s) {
        return dotted(field, s, false);
    }

    private Rejection dotted(String field, String s, boolean letterFirst) {
        if (s.isEmpty()) {
            return new Rejection(0, field, Rejection.INVALID_NAME, "empty name");
        }
        if (s.length() > maxName) {
            return new Rejection(0, field, Rejection.TOO_LONG, "name longer than " + maxName + " characters");
        }
        if (letterFirst && !letter(s.charAt(0))) {
            return new Rejection(0, field, Rejection.INVALID_NAME, "name must start with a letter or '_'");
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!letter(c) && !digit(c) && c != '.' && c != ':' && c != '-') {
                return new Rejection(0, field, Rejection.INVALID_NAME, "name may contain only A-Z a-z 0-9 _ . : - (got '" + printable(c) + "')");
            }
        }
        return null;
    }

    /** Label value, variant, unit id, event id: 1..maxValue characters, no control characters. */
    public Rejection value(String field, String s) {
        if (s.isEmpty()) {
            return new Rejection(0, field, Rejection.INVALID_VALUE, "empty value");
        }
        if (s.length() > maxValue) {
            return new Rejection(0, field, Rejection.TOO_LONG, "value longer than " + maxValue + " characters");
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return new Rejection(0, field, Rejection.INVALID_VALUE, "value contains control character U+" + String.format("%04X", (int) c));
            }
        }
        return null;
    }

    /** Sanitises an OTLP name into a label or metric name: invalid characters become '_'. */
    public static String sanitize(String s, boolean metric) {
        if (s.isEmpty()) {
            return "_";
        }
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = letter(c) || (digit(c) && i > 0) || (metric && c == ':');
            if (!ok) {
                if (sb == null) {
                    sb = new StringBuilder(s.length() + 1).append(s, 0, i);
                }
                if (i == 0 && digit(c)) {
                    sb.append('_').append(c);
                } else {
                    sb.append('_');
                }
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? s : sb.toString();
    }

    private static String printable(char c) {
        return c < 0x20 || c == 0x7f ? String.format("U+%04X", (int) c) : String.valueOf(c);
    }
}
