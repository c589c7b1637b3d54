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
    @Test
    void readsTheTtlsOnceAMinuteAndKeepsWhatItHadWhenAReadFails() {
        AtomicLong clock = new AtomicLong(1_000_000);
        AtomicInteger reads = new AtomicInteger();
        AtomicReference<Map<String, String>> tables = new AtomicReference<>(Map.of(
                TableRetention.ROLLUP_10S, "AggregatingMergeTree ORDER BY bucket TTL bucket + toIntervalDay(2) SETTINGS index_granularity = 8192"));
        TableRetention r = new TableRetention(() -> {
            reads.incrementAndGet();
            Map<String, String> m = tables.get();
            if (m == null) {
                throw new IllegalStateException("ClickHouse unreachable");
            }
            return m;
        }, clock::get);
        assertEquals(Duration.ofDays(2), r.of(TableRetention.ROLLUP_10S));
        assertEquals(Duration.ofDays(90), r.of(TableRetention.ROLLUP_1M), "a table not read keeps the shipped default");
        assertEquals(1, reads.get());

        tables.set(Map.of(TableRetention.ROLLUP_10S, "MergeTree ORDER BY bucket TTL bucket + toIntervalHour(12)"));
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

        tables.set(Map.of(TableRetention.ROLLUP_10S, "MergeTree ORDER BY bucket TTL bucket + toIntervalDay(7) WHERE kind = 1"));
        clock.addAndGet(60_000);
        assertEquals(Duration.ofDays(7), r.of(TableRetention.ROLLUP_10S), "a TTL of another shape: the default");
        assertThrows(IllegalArgumentException.class, () -> r.of("vigil_samples"));
    }
}
