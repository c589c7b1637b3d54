package dev.vigil.query.experiments;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** SQL literal helpers (ClickHouse syntax). Every value placed in SQL text goes through {@link #str}. */
public final class Sql {
    private static final DateTimeFormatter DT64 =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS").withZone(ZoneOffset.UTC);

    private Sql() {
    }

    /** A ClickHouse string literal: quotes and backslashes escaped. */
    public static String str(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('\'');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '\'' -> b.append("\\'");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\0' -> b.append("\\0");
                default -> b.append(c);
            }
        }
        return b.append('\'').toString();
    }

    /** {@code toDateTime64('...', 3, 'UTC')} */
    public static String dateTime64(Instant t) {
        return "toDateTime64(" + str(DT64.format(t)) + ", 3, 'UTC')";
    }

    /** {@code toDateTime(<epoch seconds>, 'UTC')} */
    public static String dateTime(long epochSeconds) {
        return "toDateTime(" + epochSeconds + ", 'UTC')";
    }

    /** Days since the epoch of the UTC day of {@code t}. */
    public static long dayNumber(Instant t) {
        return LocalDate.ofInstant(t, ZoneOffset.UTC).toEpochDay();
    }
}
