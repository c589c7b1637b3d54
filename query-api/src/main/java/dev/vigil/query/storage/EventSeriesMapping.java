package dev.vigil.query.storage;

import java.math.BigDecimal;

/**
 * The documented mapping from event rollups to PromQL series (docs/query-api.md, "Events as
 * series"). For event type {@code T} with dims {@code D} and measure {@code M}:
 * <ul>
 *   <li>{@code T_events_total{D}}: counter, cumulative number of events;</li>
 *   <li>{@code T_M_sum{D}}, {@code T_M_count{D}}: counters, cumulative sum / number of values;</li>
 *   <li>{@code T_M_bucket{D, le}}: classic-histogram counters from the log-bucket histogram;</li>
 *   <li>{@code T_M_min{D}}, {@code T_M_max{D}}: gauges, smallest / largest value per rollup bucket.</li>
 * </ul>
 * Characters of {@code T} and {@code M} outside {@code [a-zA-Z0-9_:]} become {@code _}.
 */
public final class EventSeriesMapping {
    private EventSeriesMapping() {
    }

    /** Which synthetic series of an event (type, measure) a metric name denotes. */
    public enum Suffix {
        EVENTS_TOTAL("_events_total", "counter"), SUM("_sum", "counter"), COUNT("_count", "counter"),
        BUCKET("_bucket", "histogram"), MIN("_min", "gauge"), MAX("_max", "gauge");

        public final String suffix;
        public final String promType;

        Suffix(String suffix, String promType) {
            this.suffix = suffix;
            this.promType = promType;
        }

        public boolean counter() {
            return this != MIN && this != MAX;
        }
    }

    /** One synthetic metric: the rollup rows it reads and how they become samples. */
    public record EventMetric(String metricName, String type, String measure, Suffix suffix) {
        public String help() {
            return switch (suffix) {
                case EVENTS_TOTAL -> "Number of '" + type + "' events (Vigil event rollup).";
                case SUM -> "Sum of measure '" + measure + "' of '" + type + "' events (Vigil event rollup).";
                case COUNT -> "Number of '" + type + "' events carrying measure '" + measure + "' (Vigil event rollup).";
                case BUCKET -> "Log-bucket histogram (1% wide buckets) of measure '" + measure + "' of '" + type + "' events (Vigil event rollup).";
                case MIN -> "Smallest value of measure '" + measure + "' of '" + type + "' events per rollup bucket, stamped at the bucket end.";
                case MAX -> "Largest value of measure '" + measure + "' of '" + type + "' events per rollup bucket, stamped at the bucket end.";
            };
        }
    }

    public static String sanitize(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            sb.append(ok ? c : '_');
        }
        if (sb.isEmpty() || Character.isDigit(sb.charAt(0))) {
            sb.insert(0, '_');
        }
        return sb.toString();
    }

    /** The synthetic metrics of one (type, measure) rollup key; measure '' is the event-count row. */
    public static java.util.List<EventMetric> metricsOf(String type, String measure) {
        if (measure.isEmpty()) {
            return java.util.List.of(new EventMetric(sanitize(type) + Suffix.EVENTS_TOTAL.suffix, type, measure, Suffix.EVENTS_TOTAL));
        }
        String base = sanitize(type) + "_" + sanitize(measure);
        java.util.List<EventMetric> out = new java.util.ArrayList<>();
        for (Suffix s : Suffix.values()) {
            if (s != Suffix.EVENTS_TOTAL) {
                out.add(new EventMetric(base + s.suffix, type, measure, s));
            }
        }
        return out;
    }

    /** Formats an {@code le} bound the way Prometheus clients do ("+Inf", "0.25", "1e-05"). */
    public static String formatLe(double v) {
        if (v == Double.POSITIVE_INFINITY) {
            return "+Inf";
        }
        if (v == Double.NEGATIVE_INFINITY) {
            return "-Inf";
        }
        if (v == 0) {
            return "0";
        }
        double a = Math.abs(v);
        if (a >= 1e-4 && a < 1e21) {
            return new BigDecimal(Double.toString(v)).stripTrailingZeros().toPlainString();
        }
        String s = Double.toString(v).replace('E', 'e');
        int e = s.indexOf('e');
        String mant = s.substring(0, e);
        if (mant.endsWith(".0")) {
            mant = mant.substring(0, mant.length() - 2);
        }
        String exp = s.substring(e + 1);
        boolean neg = exp.startsWith("-");
        String digits = neg ? exp.substring(1) : exp;
        if (digits.length() < 2) {
            digits = "0" + digits;
        }
        return mant + "e" + (neg ? "-" : "+") + digits;
    }
}
