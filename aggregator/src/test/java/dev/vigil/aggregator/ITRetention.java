package dev.vigil.aggregator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vigil.common.config.Config;
import dev.vigil.common.config.ConfigException;
import dev.vigil.common.schema.TtlClause;

/** The rollup tables' and the samples' retention follow the aggregator's aggregator.retention.* keys. */
class ITRetention {
    private static final String PREFIX = "ret.";

    @Test
    void tablesTakeTheConfiguredRetentionAndAShorterOneDropsWhatItNoLongerCovers() throws Exception {
        try (TestEnv env = new TestEnv("retention")) {
            try (AggregatorMain.Running agg = env.startAggregator(env.aggregatorEnv(PREFIX)); ClickHouse ch = env.ch()) {
                assertEquals(Map.of(Migrations.ROLLUP_10S, Duration.ofDays(7), Migrations.ROLLUP_1M, Duration.ofDays(90),
                        Migrations.ROLLUP_1H, Duration.ofDays(730), Migrations.SAMPLES, Duration.ofDays(30)), retention(ch), "the shipped defaults");
                for (String t : Retention.EXPERIMENT_TABLES) {
                    assertEquals(Duration.ofDays(400), experimentRetention(ch).get(t), t);
                }
                // an experiment unit's row 200 days old (kept by the default 400 days)
                ch.execute("INSERT INTO " + Migrations.EXPERIMENT_UNITS + " (tenant, experiment, variant, type, measure, unit_id, day, count, sum, sum_sq)"
                        + " VALUES ('t1', 'e1', 'a', 'req', '', 'old', today() - 200, 1, 0, 0), ('t1', 'e1', 'a', 'req', '', 'recent', today() - 1, 1, 0, 0)");
                ch.execute("INSERT INTO " + Migrations.EXPOSURES + " (tenant, experiment, variant, unit_id, first_seen, last_seen, events) VALUES"
                        + " ('t1', 'e1', 'a', 'old', now() - INTERVAL 300 DAY, now() - INTERVAL 200 DAY, 2),"
                        + " ('t1', 'e1', 'a', 'recent', now() - INTERVAL 300 DAY, now() - INTERVAL 1 DAY, 2)");
                // a row three days old and one an hour old (different days: separate parts of the 10 s table)
                ch.execute("INSERT INTO " + Migrations.ROLLUP_10S + " (tenant, kind, name, measure, series_id, bucket, count) VALUES "
                        + "('t1', 'event', 'old', '', 1, now() - INTERVAL 3 DAY, 1), ('t1', 'event', 'recent', '', 2, now() - INTERVAL 1 HOUR, 1)");
                assertEquals(2L, ch.queryLong("SELECT count() FROM " + Migrations.ROLLUP_10S + " WHERE name IN ('old', 'recent')"));
            }
            Map<String, String> shorter = env.aggregatorEnv(PREFIX);
            shorter.put("VIGIL_AGGREGATOR_RETENTION_10S", "2d");
            shorter.put("VIGIL_AGGREGATOR_RETENTION_1M", "60h");
            shorter.put("VIGIL_AGGREGATOR_RETENTION_1H", "400d");
            shorter.put("VIGIL_AGGREGATOR_RETENTION_SAMPLES", "90m");
            shorter.put("VIGIL_AGGREGATOR_RETENTION_EXPERIMENTS", "100d");
            try (AggregatorMain.Running agg = env.startAggregator(shorter); ClickHouse ch = env.ch()) {
                assertEquals(Map.of(Migrations.ROLLUP_10S, Duration.ofDays(2), Migrations.ROLLUP_1M, Duration.ofHours(60),
                        Migrations.ROLLUP_1H, Duration.ofDays(400), Migrations.SAMPLES, Duration.ofMinutes(90)), retention(ch));
                // ClickHouse recomputes the existing parts' TTL in the background: the old row goes, the recent one stays
                TestEnv.await("the 3-day-old row dropped", Duration.ofSeconds(60), () -> TestEnv.longQuery(ch, "SELECT count() FROM " + Migrations.ROLLUP_10S + " WHERE name = 'old'") == 0);
                assertEquals(1L, ch.queryLong("SELECT count() FROM " + Migrations.ROLLUP_10S + " WHERE name = 'recent'"));
                // the experiment tables take aggregator.retention.experiments, each by its own day column
                Map<String, Duration> experiments = experimentRetention(ch);
                for (String t : Retention.EXPERIMENT_TABLES) {
                    assertEquals(Duration.ofDays(100), experiments.get(t), t);
                }
                TestEnv.await("the 200-day-old unit row dropped", Duration.ofSeconds(60), () -> TestEnv.longQuery(ch, "SELECT count() FROM " + Migrations.EXPERIMENT_UNITS + " WHERE unit_id = 'old'") == 0);
                assertEquals(1L, ch.queryLong("SELECT count() FROM " + Migrations.EXPERIMENT_UNITS + " WHERE unit_id = 'recent'"));
                // exposures by the unit's last sight: the one last seen 200 days ago goes, the one seen yesterday stays (with its
                // first sight 300 days ago)
                TestEnv.await("the exposure last seen 200 days ago dropped", Duration.ofSeconds(60), () -> TestEnv.longQuery(ch, "SELECT count() FROM " + Migrations.EXPOSURES + " WHERE unit_id = 'old'") == 0);
                assertEquals(1L, ch.queryLong("SELECT count() FROM " + Migrations.EXPOSURES + " WHERE unit_id = 'recent'"));
                // the same configuration again changes nothing
                assertEquals(List.of(), Retention.apply(ch, Retention.fromConfig(Config.load(AggregatorMain.DEF, shorter))));
                // a TTL changed by hand is set back to the configured one
                ch.execute("ALTER TABLE " + Migrations.ROLLUP_1H + " MODIFY TTL bucket + INTERVAL 5 DAY");
                List<Retention.Change> back = Retention.apply(ch, Retention.fromConfig(Config.load(AggregatorMain.DEF, shorter)));
                assertEquals(List.of(new Retention.Change(Migrations.ROLLUP_1H, java.util.Optional.of(Duration.ofDays(5)), Duration.ofDays(400))), back);
                assertEquals(Duration.ofDays(400), retention(ch).get(Migrations.ROLLUP_1H));
                // one of another shape (here a conditional delete; a move to a volume, say) is an operator's: left as it is
                ch.execute("ALTER TABLE " + Migrations.ROLLUP_1H + " MODIFY TTL bucket + INTERVAL 100 DAY DELETE WHERE kind = 'sample'");
                assertEquals(List.of(), Retention.apply(ch, Retention.fromConfig(Config.load(AggregatorMain.DEF, shorter))));
                String engine = String.valueOf(ch.query("SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = '"
                        + Migrations.ROLLUP_1H + "'").get(0).get("engine_full"));
                assertTrue(engine.contains("TTL bucket + toIntervalDay(100) WHERE kind = 'sample'"), engine);
            }
        }
    }

    @Test
    void aFinerResolutionKeptLongerThanACoarserOneIsAConfigError() {
        Map<String, String> env = new HashMap<>();
        env.put("VIGIL_AGGREGATOR_RETENTION_10S", "100d"); // longer than the 1 m table's 90 d
        ConfigException e = assertThrows(ConfigException.class, () -> Retention.fromConfig(Config.load(AggregatorMain.DEF, env)));
        assertTrue(e.getMessage().contains("aggregator.retention.10s (100d) <= aggregator.retention.1m (90d)"), e.getMessage());
        env.put("VIGIL_AGGREGATOR_RETENTION_10S", "3600500ms");
        ConfigException odd = assertThrows(ConfigException.class, () -> Retention.fromConfig(Config.load(AggregatorMain.DEF, env)));
        assertTrue(odd.getMessage().contains("aggregator.retention.10s"), odd.getMessage());
    }

    private static Map<String, Duration> experimentRetention(ClickHouse ch) throws Exception {
        return ttls(ch, Retention.EXPERIMENT_TABLES);
    }

    private static Map<String, Duration> retention(ClickHouse ch) throws Exception {
        return ttls(ch, List.of(Migrations.ROLLUP_10S, Migrations.ROLLUP_1M, Migrations.ROLLUP_1H, Migrations.SAMPLES));
    }

    /** Each table's TTL as the aggregator writes it. */
    private static Map<String, Duration> ttls(ClickHouse ch, List<String> tables) throws Exception {
        Map<String, Duration> m = new HashMap<>();
        for (Map<String, Object> row : ch.query("SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN ('"
                + String.join("', '", tables) + "')")) {
            m.put(String.valueOf(row.get("name")), TtlClause.parse(String.valueOf(row.get("engine_full"))).orElseThrow().retention());
        }
        return m;
    }
}
