package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * What the exactly-once argument assumes of ClickHouse when one flush's block spans partitions (a flush holding events
 * of two days, or a late event): the insert is stored as a part per partition, not atomically, and a replay with the
 * same insert_deduplication_token must drop exactly the parts already stored, whatever the order of the replay's rows
 * (a replayed buffer may iterate its rows in another order) and whichever parts the first attempt stored.
 * docs/exactly-once.md, "Blocks that span partitions".
 */
class ITPartitionedDedup {
    private static final String DDL = "CREATE TABLE %s (d Date, k UInt32, c UInt64) ENGINE = SummingMergeTree ORDER BY k PARTITION BY d"
            + " SETTINGS non_replicated_deduplication_window = 100";

    private static List<Map<String, Object>> totals(ClickHouse ch, String table) throws Exception {
        return ch.query("SELECT toString(d) AS d, toString(sum(c)) AS s FROM " + table + " GROUP BY d ORDER BY d");
    }

    private static List<Map<String, Object>> once() {
        return List.of(Map.of("d", "2026-01-01", "s", "1"), Map.of("d", "2026-01-02", "s", "1"));
    }

    @Test
    void aReplayedBlockOverTwoPartitionsStoresEachPartitionOnce() throws Exception {
        try (TestEnv env = new TestEnv("partdedup"); ClickHouse ch = env.ch()) {
            ch.execute(DDL.formatted("reordered"));
            ch.execute("INSERT INTO reordered SETTINGS insert_deduplication_token = 'T' VALUES ('2026-01-01', 1, 1), ('2026-01-02', 2, 1)");
            ch.execute("INSERT INTO reordered SETTINGS insert_deduplication_token = 'T' VALUES ('2026-01-02', 2, 1), ('2026-01-01', 1, 1)");
            assertThat(totals(ch, "reordered")).as("the same block, rows in another order").isEqualTo(once());

            ch.execute(DDL.formatted("second_stored"));
            ch.execute("INSERT INTO second_stored SETTINGS insert_deduplication_token = 'U' VALUES ('2026-01-02', 2, 1)");
            ch.execute("INSERT INTO second_stored SETTINGS insert_deduplication_token = 'U' VALUES ('2026-01-01', 1, 1), ('2026-01-02', 2, 1)");
            assertThat(totals(ch, "second_stored")).as("only the second partition's part stored before the replay").isEqualTo(once());

            ch.execute(DDL.formatted("first_stored"));
            ch.execute("INSERT INTO first_stored SETTINGS insert_deduplication_token = 'V' VALUES ('2026-01-01', 1, 1)");
            ch.execute("INSERT INTO first_stored SETTINGS insert_deduplication_token = 'V' VALUES ('2026-01-02', 2, 1), ('2026-01-01', 1, 1)");
            assertThat(totals(ch, "first_stored")).as("only the first partition's part stored before the replay").isEqualTo(once());
        }
    }
}
