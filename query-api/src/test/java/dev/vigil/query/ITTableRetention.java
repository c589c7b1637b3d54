package dev.vigil.query;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vigil.aggregator.ClickHouse;
import dev.vigil.aggregator.Migrations;
import dev.vigil.aggregator.Retention;
import dev.vigil.promql.storage.SelectHints;
import dev.vigil.query.experiments.JdbcDataSource;
import dev.vigil.query.storage.ClickHouseStorage;
import dev.vigil.query.storage.TableRetention;

/**
 * The query API reads the rollup tables' retention from their TTLs, as the aggregator sets them, and what they hold
 * from their parts, and chooses its resolution by both.
 */
class ITTableRetention {
    private static final long HOUR = 3_600_000L;
    private static final long DAY = 24 * HOUR;

    @Test
    void resolutionFollowsTheRetentionTheAggregatorSetAndWhatTheTablesHold() throws Exception {
        try (TestTables t = TestTables.create("it_retention"); ClickHouse ch = new ClickHouse(t.jdbcUrl, "default", "")) {
            long now = (System.currentTimeMillis() / HOUR) * HOUR; // whole hours: every table's buckets align
            // two hours of data (the views write the 1 m and 1 h rows of what goes into the 10 s table)
            ch.execute("INSERT INTO vigil_rollup_10s (tenant, kind, name, measure, series_id, bucket, count) VALUES ('acme', 'event', 'x', '', 1, "
                    + "toDateTime(" + (now - 2 * HOUR) / 1000 + ", 'UTC'), 1)");
            // a 10 s step over a range that starts 30 hours ago: only the 10 s table has that step
            SelectHints h = new SelectHints(now - 30 * HOUR, now, 10_000, "rate", 60_000, List.of(), false);
            assertEquals(TableRetention.ROLLUP_10S, storage(t, now).chooseResolution(h).table(), "within the default 7 d of the 10 s table");

            Retention.apply(ch, Map.of(Migrations.ROLLUP_10S, Duration.ofDays(1), Migrations.ROLLUP_1M, Duration.ofDays(20),
                    Migrations.ROLLUP_1H, Duration.ofDays(400)));
            ClickHouseStorage shorter = storage(t, now);
            assertEquals(Duration.ofDays(1), shorter.retention().of(TableRetention.ROLLUP_10S));
            // 30 hours back is beyond the 10 s table's day: the 1 m table answers (the finest that holds the range)
            assertEquals(TableRetention.ROLLUP_1M, shorter.chooseResolution(h).table());
            // 20 hours back is within it (a day less its margin of an hour)
            assertEquals(TableRetention.ROLLUP_10S, shorter.chooseResolution(new SelectHints(now - 20 * HOUR, now, 10_000, "rate", 60_000, List.of(), false)).table());
            // 25 days back is beyond the 1 m table's 20 d: the 1 h table, even for a 1 m step
            assertEquals(TableRetention.ROLLUP_1H, shorter.chooseResolution(new SelectHints(now - 25 * DAY, now, 60_000, "rate", 300_000, List.of(), false)).table());

            // the 1 m table holds ten days that the 10 s table dropped; its retention is then made longer (14 d): the new TTL
            // keeps rows longer from now on, but the dropped days stay dropped, so three days back is still the 1 m table's
            ch.execute("INSERT INTO vigil_rollup_1m (tenant, kind, name, measure, series_id, bucket, count) VALUES ('acme', 'event', 'x', '', 1, "
                    + "toDateTime(" + (now - 10 * DAY) / 1000 + ", 'UTC'), 1)");
            Retention.apply(ch, Map.of(Migrations.ROLLUP_10S, Duration.ofDays(14), Migrations.ROLLUP_1M, Duration.ofDays(20)));
            ClickHouseStorage longer = storage(t, now);
            assertEquals(Duration.ofDays(14), longer.retention().of(TableRetention.ROLLUP_10S));
            SelectHints threeDays = new SelectHints(now - 3 * DAY, now, 10_000, "rate", 60_000, List.of(), false);
            assertEquals(TableRetention.ROLLUP_1M, longer.chooseResolution(threeDays).table());
            assertEquals(now - 2 * HOUR, longer.retention().completeSince(TableRetention.ROLLUP_10S, HOUR), "from its oldest row on");
            assertEquals(TableRetention.ROLLUP_10S, longer.chooseResolution(new SelectHints(now - HOUR, now, 10_000, "rate", 60_000, List.of(), false)).table());

            // the ML-health module reads the same through JDBC
            TableRetention jdbc = TableRetention.of(new JdbcDataSource(t.jdbcUrl, "default", ""), () -> now);
            assertEquals(Duration.ofDays(20), jdbc.of(TableRetention.ROLLUP_1M));
            assertEquals(now - 2 * HOUR, jdbc.completeSince(TableRetention.ROLLUP_10S, HOUR));
        }
    }

    private static ClickHouseStorage storage(TestTables t, long now) {
        return new ClickHouseStorage(t.ch, new ClickHouseStorage.Settings(10, 300_000L, 0, () -> now), List.of());
    }
}
