package dev.vigil.common.schema;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A table's retention as ClickHouse shows it in {@code system.tables.engine_full}
 * ({@code ... TTL bucket + toIntervalDay(7) SETTINGS ...}) and as the aggregator writes it
 * ({@code bucket + INTERVAL 7 DAY}). The aggregator sets the rollup tables' retention from its
 * configuration; the query API reads it back from ClickHouse to choose a resolution that still holds
 * the data. The table definition is the one place both agree on.
 */
public final class TtlClause {
    /** {@code TTL <expression> + toInterval<Unit>(<n>)}, ending the clause (a SETTINGS clause or nothing follows). */
    private static final Pattern TTL = Pattern.compile("\\bTTL ((?:(?!toInterval).)+?) \\+ toInterval(Second|Minute|Hour|Day|Week)\\((\\d+)\\)(?: SETTINGS |$)");

    private TtlClause() {
    }

    /** A table's TTL: the time expression rows age by, and how long they are kept. */
    public record Ttl(String expression, Duration retention) {
    }

    /**
     * The TTL of {@code engineFull}, or empty if the table has none or one of another shape (several
     * expressions, a WHERE or GROUP BY, months or years): a hand-written TTL, which callers report
     * rather than guess at.
     */
    public static Optional<Ttl> parse(String engineFull) {
        if (engineFull == null) {
            return Optional.empty();
        }
        Matcher m = TTL.matcher(engineFull);
        if (!m.find()) {
            return Optional.empty();
        }
        try {
            long n = Long.parseLong(m.group(3));
            Duration d = switch (m.group(2)) {
                case "Second" -> Duration.ofSeconds(n);
                case "Minute" -> Duration.ofMinutes(n);
                case "Hour" -> Duration.ofHours(n);
                case "Day" -> Duration.ofDays(n);
                default -> Duration.ofDays(Math.multiplyExact(7, n));
            };
            return Optional.of(new Ttl(m.group(1), d));
        } catch (ArithmeticException | NumberFormatException e) { // a count beyond what a Duration holds
            return Optional.empty();
        }
    }

    /** Whether {@code engineFull} has a TTL clause at all (of whatever shape). */
    public static boolean hasTtl(String engineFull) {
        return engineFull != null && engineFull.contains(" TTL ");
    }

    /** {@code INTERVAL n UNIT} in the largest of DAY, HOUR, MINUTE, SECOND that holds {@code d} whole. */
    public static String interval(Duration d) {
        long s = d.toSeconds();
        if (s <= 0 || d.toNanosPart() != 0) {
            throw new IllegalArgumentException("a retention must be a positive whole number of seconds: " + d);
        }
        if (s % 86_400 == 0) {
            return "INTERVAL " + s / 86_400 + " DAY";
        }
        if (s % 3_600 == 0) {
            return "INTERVAL " + s / 3_600 + " HOUR";
        }
        if (s % 60 == 0) {
            return "INTERVAL " + s / 60 + " MINUTE";
        }
        return "INTERVAL " + s + " SECOND";
    }
}
