package dev.vigil.alerting;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** Go's time.RFC3339Nano rendering of UTC instants (trailing zeros of the fraction dropped). */
public final class Times {
    private static final DateTimeFormatter BASE = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss").withZone(ZoneOffset.UTC);
    /** Go's zero time, which Alertmanager uses for "no end time". */
    public static final String GO_ZERO = "0001-01-01T00:00:00Z";

    private Times() {
    }

    public static String rfc3339(long epochMillis) {
        if (epochMillis == Alert.NONE) {
            return GO_ZERO;
        }
        Instant t = Instant.ofEpochMilli(epochMillis);
        String s = BASE.format(t);
        int ms = t.getNano() / 1_000_000;
        if (ms != 0) {
            String f = String.format("%03d", ms);
            while (f.endsWith("0")) {
                f = f.substring(0, f.length() - 1);
            }
            s = s + "." + f;
        }
        return s + "Z";
    }
}
