package dev.vigil.common.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class TtlClauseTest {
    @Test
    void readsTheTtlAsClickHouseShowsItInEngineFull() {
        // engine_full as the embedded ClickHouse (26.7) prints it for the migrations' tables
        TtlClause.Ttl t = TtlClause.parse("AggregatingMergeTree PARTITION BY toYYYYMMDD(bucket) ORDER BY (tenant, kind, name, measure, series_id, bucket)"
                + " TTL bucket + toIntervalDay(7) SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1, index_granularity = 8192").orElseThrow();
        assertEquals("bucket", t.expression());
        assertEquals(Duration.ofDays(7), t.retention());
        TtlClause.Ttl s = TtlClause.parse("MergeTree ORDER BY ts TTL toDateTime(ts) + toIntervalHour(36) SETTINGS index_granularity = 8192").orElseThrow();
        assertEquals("toDateTime(ts)", s.expression());
        assertEquals(Duration.ofHours(36), s.retention());
        assertEquals(Duration.ofMinutes(90), TtlClause.parse("MergeTree ORDER BY x TTL x + toIntervalMinute(90)").orElseThrow().retention());
        assertEquals(Duration.ofDays(14), TtlClause.parse("MergeTree ORDER BY x TTL x + toIntervalWeek(2) SETTINGS a = 1").orElseThrow().retention());
    }

    @Test
    void aTtlOfAnotherShapeIsNotGuessedAt() {
        assertTrue(TtlClause.parse("MergeTree ORDER BY x SETTINGS index_granularity = 8192").isEmpty());
        assertTrue(TtlClause.parse(null).isEmpty());
        // months are not a fixed length; a WHERE or a second expression is a hand-written TTL
        assertTrue(TtlClause.parse("MergeTree ORDER BY x TTL x + toIntervalMonth(3)").isEmpty());
        assertTrue(TtlClause.parse("MergeTree ORDER BY x TTL x + toIntervalDay(7) WHERE y = 1 SETTINGS a = 1").isEmpty());
        assertTrue(TtlClause.parse("MergeTree ORDER BY x TTL x + toIntervalDay(7), x + toIntervalDay(1) TO VOLUME 'cold'").isEmpty());
        assertTrue(TtlClause.parse("MergeTree ORDER BY x TTL x + toIntervalDay(7), x + toIntervalDay(1)").isEmpty());
        // a count no Duration holds: not a TTL it can read, rather than an exception that stops the caller
        assertTrue(TtlClause.parse("MergeTree ORDER BY x TTL x + toIntervalDay(99999999999999999999)").isEmpty());
        assertTrue(TtlClause.parse("MergeTree ORDER BY x TTL x + toIntervalWeek(9223372036854775807)").isEmpty());
        assertTrue(TtlClause.hasTtl("MergeTree ORDER BY x TTL x + toIntervalMonth(3)"));
        assertFalse(TtlClause.hasTtl("MergeTree ORDER BY x SETTINGS index_granularity = 8192"));
    }

    @Test
    void writesTheLargestWholeUnit() {
        assertEquals("INTERVAL 7 DAY", TtlClause.interval(Duration.ofDays(7)));
        assertEquals("INTERVAL 36 HOUR", TtlClause.interval(Duration.ofHours(36)));
        assertEquals("INTERVAL 90 MINUTE", TtlClause.interval(Duration.ofMinutes(90)));
        assertEquals("INTERVAL 61 SECOND", TtlClause.interval(Duration.ofSeconds(61)));
        assertThrows(IllegalArgumentException.class, () -> TtlClause.interval(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> TtlClause.interval(Duration.ofMillis(1500)));
    }

    @Test
    void whatIsWrittenReadsBackTheSame() {
        for (Duration d : new Duration[] {Duration.ofHours(1), Duration.ofHours(25), Duration.ofDays(730), Duration.ofSeconds(3601)}) {
            String unit = TtlClause.interval(d).split(" ")[2];
            String fn = "toInterval" + unit.charAt(0) + unit.substring(1).toLowerCase();
            String n = TtlClause.interval(d).split(" ")[1];
            assertEquals(d, TtlClause.parse("MergeTree ORDER BY b TTL b + " + fn + "(" + n + ")").orElseThrow().retention());
        }
    }
}
