package dev.vigil.query.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

class TableRetentionTest {
    private static final long HOUR = 3_600_000L;
    private static final long DAY = 24 * HOUR;

    private static String ttl(String interval) {
        return "AggregatingMergeTree PARTITION BY toYYYYMMDD(bucket) ORDER BY (tenant, bucket) TTL bucket + " + interval
                + " SETTINGS ttl_only_drop_parts = 1, index_granularity = 8192";
    }

    @Test
    void readsTheTtlsOnceAMinuteAndKeepsWhatItHadWhenAReadFails() {
        AtomicLong clock = new AtomicLong(1_000_000);
        AtomicInteger reads = new AtomicInteger();
        AtomicReference<Map<String, String>> tables = new AtomicReference<>(Map.of(TableRetention.ROLLUP_10S, ttl("toIntervalDay(2)")));
        TableRetention r = new TableRetention(() -> {
            reads.incrementAndGet();
            Map<String, String> m = tables.get();
            if (m == null) {
                throw new IllegalStateException("ClickHouse unreachable");
            }
            return new TableRetention.Read(m, Map.of());
        }, clock::get);
        assertEquals(Duration.ofDays(2), r.of(TableRetention.ROLLUP_10S));
        assertEquals(Duration.ofDays(90), r.of(TableRetention.ROLLUP_1M), "a table not found keeps the shipped default");
        assertEquals(1, reads.get());

        tables.set(Map.of(TableRetention.ROLLUP_10S, ttl("toIntervalHour(12)")));
        clock.addAndGet(59_000);
        assertEquals(Duration.ofDays(2), r.of(TableRetention.ROLLUP_10S), "not re-read within the minute");
        clock.addAndGet(1_000);
        assertEquals(Duration.ofHours(12), r.of(TableRetention.ROLLUP_10S));
        assertEquals(2, reads.get());

        tables.set(null);
        clock.addAndGet(60_000);
        assertEquals(Duration.ofHours(12), r.of(TableRetention.ROLLUP_10S), "a failed read keeps the last values");
        assertEquals(Duration.ofHours(12), r.of(TableRetention.ROLLUP_10S));
        assertEquals(3, reads.get(), "and is retried a minute later, not by every query");

        tables.set(Map.of(TableRetention.ROLLUP_10S, "MergeTree ORDER BY bucket TTL bucket + toIntervalDay(3) WHERE kind = 1"));
        clock.addAndGet(60_000);
        assertEquals(Duration.ofDays(7), r.of(TableRetention.ROLLUP_10S), "a TTL of another shape: the default, not its 3 days");
        assertThrows(IllegalArgumentException.class, () -> r.of("vigil_samples"));
    }

    @Test
    void aTableIsCompleteWithinItsRetentionUnlessItDroppedWhatTheCoarserOneStillHolds() {
        long now = 1_800_000_000_000L;
        AtomicReference<TableRetention.Read> read = new AtomicReference<>();
        AtomicLong clock = new AtomicLong(now);
        TableRetention r = new TableRetention(read::get, clock::get);
        Map<String, String> engines = Map.of(TableRetention.ROLLUP_10S, ttl("toIntervalDay(14)"), TableRetention.ROLLUP_1M, ttl("toIntervalDay(90)"),
                TableRetention.ROLLUP_1H, ttl("toIntervalDay(730)"));

        // a young install: every table's oldest row is its first hour (the coarser ones' truncated to the minute, the hour)
        read.set(new TableRetention.Read(engines, Map.of(TableRetention.ROLLUP_10S, now - 5 * HOUR + 20_000,
                TableRetention.ROLLUP_1M, now - 5 * HOUR, TableRetention.ROLLUP_1H, now - 6 * HOUR + 1)));
        assertEquals(now - 14 * DAY + HOUR, r.completeSince(TableRetention.ROLLUP_10S, HOUR), "the TTL less its margin");
        assertEquals(now - 90 * DAY + DAY, r.completeSince(TableRetention.ROLLUP_1M, DAY));

        // the 10 s retention was 7 d until recently: the table holds 8 days, the 1 m table 90; 14 d of TTL do not make 14 d of rows
        clock.addAndGet(60_000);
        read.set(new TableRetention.Read(engines, Map.of(TableRetention.ROLLUP_10S, now - 8 * DAY, TableRetention.ROLLUP_1M, now - 91 * DAY,
                TableRetention.ROLLUP_1H, now - 700 * DAY)));
        assertEquals(now - 8 * DAY, r.completeSince(TableRetention.ROLLUP_10S, HOUR));
        assertEquals(now - 89 * DAY + 60_000, r.completeSince(TableRetention.ROLLUP_1M, DAY), "beyond its own oldest row, the TTL bounds it");

        // a short retention: the margin is at most a tenth of it
        clock.addAndGet(60_000);
        read.set(new TableRetention.Read(Map.of(TableRetention.ROLLUP_10S, ttl("toIntervalHour(2)")), Map.of()));
        assertEquals(now + 120_000 - 2 * HOUR + 12 * 60_000, r.completeSince(TableRetention.ROLLUP_10S, HOUR));
    }
}
