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

/** The query API reads the rollup tables' retention from their TTLs, as the aggregator sets them, and chooses its resolution by it. */
class ITTableRetention {
    private static final long HOUR = 3_600_000L;

    @Test
    void resolutionFollowsTheRetentionTheAggregatorSet() throws Exception {
        try (TestTables t = TestTables.create("it_retention")) {
            long now = (System.currentTimeMillis() / HOUR) * HOUR; // whole hours: every table's buckets align
            ClickHouseStorage before = new ClickHouseStorage(t.ch, new ClickHouseStorage.Settings(10, 300_000L, 0, () -> now), List.of());
            // a 10 s step over a range that starts 30 hours ago: only the 10 s table has that step
            SelectHints h = new SelectHints(now - 30 * HOUR, now, 10_000, "rate", 60_000, List.of(), false);
            assertEquals(TableRetention.ROLLUP_10S, before.chooseResolution(h).table(), "within the default 7 d of the 10 s table");
            assertEquals(Duration.ofDays(90), before.retention().of(TableRetention.ROLLUP_1M));

            try (ClickHouse ch = new ClickHouse(t.jdbcUrl, "default", "")) {
                Retention.apply(ch, Map.of(Migrations.ROLLUP_10S, Duration.ofDays(1), Migrations.ROLLUP_1M, Duration.ofDays(20),
                        Migrations.ROLLUP_1H, Duration.ofDays(400)));
            }
            ClickHouseStorage after = new ClickHouseStorage(t.ch, new ClickHouseStorage.Settings(10, 300_000L, 0, () -> now), List.of());
            assertEquals(Duration.ofDays(1), after.retention().of(TableRetention.ROLLUP_10S));
            // 30 hours back is beyond the 10 s table's day: the 1 m table answers (the finest the retention allows)
            assertEquals(TableRetention.ROLLUP_1M, after.chooseResolution(h).table());
            // 20 hours back is within it (a day less its margin of an hour)
            assertEquals(TableRetention.ROLLUP_10S, after.chooseResolution(new SelectHints(now - 20 * HOUR, now, 10_000, "rate", 60_000, List.of(), false)).table());
            // 25 days back is beyond the 1 m table's 20 d: the 1 h table, even for a 1 m step
            assertEquals(TableRetention.ROLLUP_1H, after.chooseResolution(new SelectHints(now - 25 * 24 * HOUR, now, 60_000, "rate", 300_000, List.of(), false)).table());

            // the ML-health module reads it through JDBC
            assertEquals(Duration.ofDays(20), TableRetention.of(new JdbcDataSource(t.jdbcUrl, "default", ""), () -> now).of(TableRetention.ROLLUP_1M));
        }
    }
}
