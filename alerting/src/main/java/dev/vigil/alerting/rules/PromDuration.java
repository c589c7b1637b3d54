package dev.vigil.alerting.rules;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Prometheus' duration syntax ({@code model.ParseDuration}): 1y2w3d4h5m6s7ms, each unit at most once, in order. */
public final class PromDuration {
    private static final Pattern P = Pattern.compile("^(?:(\\d+)y)?(?:(\\d+)w)?(?:(\\d+)d)?(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?(?:(\\d+)ms)?$");
    private static final long[] UNIT = {365L * 86_400_000L, 7L * 86_400_000L, 86_400_000L, 3_600_000L, 60_000L, 1000L, 1L};
    private static final String[] NAME = {"y", "w", "d", "h", "m", "s", "ms"};

    private PromDuration() {
    }

    /** Parses to milliseconds; throws {@link IllegalArgumentException} with Prometheus' message. */
    public static long parseMillis(String s) {
        if (s == null || s.isEmpty()) {
            throw new IllegalArgumentException("empty duration string");
        }
        if (s.equals("0")) {
            return 0;
        }
        Matcher m = P.matcher(s);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a valid duration string: \"" + s + "\"");
        }
        long total = 0;
        for (int i = 0; i < UNIT.length; i++) {
            String g = m.group(i + 1);
            if (g != null) {
                total = Math.addExact(total, Math.multiplyExact(Long.parseLong(g), UNIT[i]));
            }
        }
        return total;
    }

    /** Prometheus' {@code model.Duration.String()}: 90s -> 1m30s, 0 -> 0s. */
    public static String format(long ms) {
        if (ms == 0) {
            return "0s";
        }
        StringBuilder sb = new StringBuilder();
        long rest = ms;
        for (int i = 0; i < UNIT.length; i++) {
            long u = rest / UNIT[i];
            if (u > 0) {
                sb.append(u).append(NAME[i]);
                rest -= u * UNIT[i];
            }
        }
        return sb.toString();
    }
}
