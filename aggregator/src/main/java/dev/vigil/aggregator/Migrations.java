package dev.vigil.aggregator;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ClickHouse schema of the aggregator as ordered, idempotent migrations (docs/schema.md
 * quotes them). Applied at startup: each migration whose version is not in
 * {@code vigil_schema_migrations} runs its statements (each idempotent: {@code IF NOT EXISTS}, a backfill
 * that runs only while its target is empty, or a view's {@code MODIFY QUERY} to the same query, so a migration
 * interrupted half way simply runs again), then records itself. Never edit a shipped migration:
 * add a new one.
 */
public final class Migrations {
    private static final Logger log = LoggerFactory.getLogger(Migrations.class);

    /** One migration: a version, a name and its statements. */
    public record Migration(int version, String name, List<String> statements) {
        public String checksum() {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                for (String s : statements) {
                    md.update(s.getBytes(StandardCharsets.UTF_8));
                    md.update((byte) 0);
                }
                return HexFormat.of().formatHex(md.digest()).substring(0, 16);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    public static final String MIGRATIONS_TABLE = "vigil_schema_migrations";
    public static final String ROLLUP_10S = "vigil_rollup_10s";
    public static final String ROLLUP_1M = "vigil_rollup_1m";
    public static final String ROLLUP_1H = "vigil_rollup_1h";
    public static final String EXPERIMENT_UNITS = "vigil_experiment_units";
    public static final String EXPOSURES = "vigil_exposures";
    public static final String SAMPLES = "vigil_samples";
    public static final String FLUSH_LOG = "vigil_flush_log";
    /** Client ids, a row per id: written before migration 7, still read on recovery (TTL 2 days). */
    public static final String SEEN_IDS = "vigil_seen_ids";
    /** Client ids, a row of arrays per flush (migration 7): written until migration 8, still read on recovery (TTL 2 days). */
    public static final String SEEN_ID_BLOCKS = "vigil_seen_id_blocks";
    /** Which records of a flush carried an accepted client id, as a bitmap (migration 8); the ids are re-read from Kafka. */
    public static final String SEEN_ID_MARKS = "vigil_seen_id_marks";
    public static final String GOAL_STATE = "vigil_goal_state";
    public static final String UNIT_TOTALS = "vigil_experiment_unit_totals";
    public static final String UNIT_HIST = "vigil_experiment_unit_hist";
    public static final String UNIT_DAILY = "vigil_unit_daily";
    public static final String VARIANT_HIST = "vigil_experiment_variant_hist";
    /**
     * Key of a (type, measure) in {@code vigil_experiment_unit_totals.stats}: a 64-bit hash, because the
     * report reads it for every unit ({@code indexOf} on UInt64 is a third faster than on strings).
     * '|' is not a name character, so "a|b.c" and "a.b|c" differ.
     */
    public static final String STATS_KEY = "cityHash64(concat(toString(type), '|', toString(measure)))";

    /** Dedup window (blocks) kept by every table the aggregator inserts into. */
    public static final int DEDUP_WINDOW = 10000;

    static String rollupTable(String name, String partitionBy, String ttl) {
        return """
                CREATE TABLE IF NOT EXISTS %s
                (
                    tenant     LowCardinality(String),
                    kind       Enum8('event' = 1, 'sample' = 2),
                    name       LowCardinality(String),
                    measure    LowCardinality(String),
                    series_id  UInt64,
                    bucket     DateTime('UTC'),
                    labels     SimpleAggregateFunction(any, Map(String, String)),
                    count      SimpleAggregateFunction(sum, UInt64),
                    sum        SimpleAggregateFunction(sum, Float64),
                    sum_sq     SimpleAggregateFunction(sum, Float64),
                    min        SimpleAggregateFunction(min, Float64),
                    max        SimpleAggregateFunction(max, Float64),
                    hist       SimpleAggregateFunction(sumMap, Map(Int32, UInt64))
                )
                ENGINE = AggregatingMergeTree
                PARTITION BY %s
                ORDER BY (tenant, kind, name, measure, series_id, bucket)
                TTL bucket + %s
                SETTINGS non_replicated_deduplication_window = %d, ttl_only_drop_parts = 1""".formatted(name, partitionBy, ttl, DEDUP_WINDOW);
    }

    /** The views' rollup of the 10 s rows into {@code truncate(bucket)}; {@code where}: a filter line, or "". */
    private static String rollupSelect(String truncate, String where) {
        return """
                SELECT tenant, kind, name, measure, series_id,
                       %s AS bucket,
                       any(labels) AS labels,
                       sum(count) AS count,
                       sum(sum) AS sum,
                       sum(sum_sq) AS sum_sq,
                       min(min) AS min,
                       max(max) AS max,
                       sumMap(hist) AS hist
                FROM %s
                %sGROUP BY tenant, kind, name, measure, series_id, bucket""".formatted(truncate, ROLLUP_10S, where);
    }

    /** Migration 1's view (its text, and so its recorded checksum, as shipped). */
    static String rollupView(String view, String target, String truncate) {
        return "CREATE MATERIALIZED VIEW IF NOT EXISTS %s TO %s AS\n".formatted(view, target) + rollupSelect(truncate, "");
    }

    /**
     * Migration 9's query of a view: the same rollup, of the 10 s rows whose writer did not store their coarser rows
     * itself ({@code rolled_up = 0}: older aggregators, replays of their flushes, other writers).
     */
    static String rollupViewQuery(String view, String truncate) {
        return "ALTER TABLE %s MODIFY QUERY\n".formatted(view) + rollupSelect(truncate, "WHERE rolled_up = 0\n");
    }

    public static final List<Migration> ALL = List.of(
            new Migration(1, "rollup tables: 10s written by the aggregator, 1m and 1h kept by materialized views", List.of(
                    rollupTable(ROLLUP_10S, "toYYYYMMDD(bucket)", "INTERVAL 7 DAY"),
                    rollupTable(ROLLUP_1M, "toYYYYMM(bucket)", "INTERVAL 90 DAY"),
                    rollupTable(ROLLUP_1H, "toYYYYMM(bucket)", "INTERVAL 730 DAY"),
                    rollupView("vigil_rollup_1m_mv", ROLLUP_1M, "toStartOfMinute(bucket)"),
                    rollupView("vigil_rollup_1h_mv", ROLLUP_1H, "toStartOfHour(bucket)"))),
            new Migration(2, "experiment per-unit table and exposures", List.of(
                    """
                    CREATE TABLE IF NOT EXISTS %s
                    (
                        tenant      LowCardinality(String),
                        experiment  LowCardinality(String),
                        variant     LowCardinality(String),
                        type        LowCardinality(String),
                        measure     LowCardinality(String),
                        unit_id     String,
                        day         Date,
                        count       UInt64,
                        sum         Float64,
                        sum_sq      Float64
                    )
                    ENGINE = SummingMergeTree((count, sum, sum_sq))
                    PARTITION BY toYYYYMM(day)
                    ORDER BY (tenant, experiment, type, measure, variant, unit_id, day)
                    TTL day + INTERVAL 400 DAY
                    SETTINGS non_replicated_deduplication_window = %d""".formatted(EXPERIMENT_UNITS, DEDUP_WINDOW),
                    """
                    CREATE TABLE IF NOT EXISTS %s
                    (
                        tenant      LowCardinality(String),
                        experiment  LowCardinality(String),
                        variant     LowCardinality(String),
                        unit_id     String,
                        first_seen  SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
                        last_seen   SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
                        events      SimpleAggregateFunction(sum, UInt64)
                    )
                    ENGINE = AggregatingMergeTree
                    ORDER BY (tenant, experiment, variant, unit_id)
                    SETTINGS non_replicated_deduplication_window = %d""".formatted(EXPOSURES, DEDUP_WINDOW))),
            new Migration(3, "raw samples", List.of(
                    """
                    CREATE TABLE IF NOT EXISTS %s
                    (
                        tenant     LowCardinality(String),
                        name       LowCardinality(String),
                        series_id  UInt64,
                        labels     Map(String, String),
                        ts         DateTime64(3, 'UTC'),
                        value      Float64
                    )
                    ENGINE = ReplacingMergeTree
                    PARTITION BY toYYYYMMDD(ts)
                    ORDER BY (tenant, name, series_id, ts)
                    TTL toDateTime(ts) + INTERVAL 30 DAY
                    SETTINGS non_replicated_deduplication_window = %d, ttl_only_drop_parts = 1""".formatted(SAMPLES, DEDUP_WINDOW))),
            new Migration(4, "exactly-once bookkeeping: flush log and seen client ids", List.of(
                    """
                    CREATE TABLE IF NOT EXISTS %s
                    (
                        job           LowCardinality(String),
                        topic         LowCardinality(String),
                        partition     UInt32,
                        start_offset  Int64,
                        end_offset    Int64,
                        state         Enum8('intent' = 1, 'done' = 2),
                        watermark     Int64,
                        records       UInt64,
                        max_event_ms  Int64,
                        instance      String,
                        created_at    DateTime64(3, 'UTC')
                    )
                    ENGINE = MergeTree
                    ORDER BY (job, topic, partition, end_offset, state)
                    TTL toDateTime(created_at) + INTERVAL 30 DAY
                    SETTINGS non_replicated_deduplication_window = %d""".formatted(FLUSH_LOG, DEDUP_WINDOW),
                    """
                    CREATE TABLE IF NOT EXISTS %s
                    (
                        job        LowCardinality(String),
                        topic      LowCardinality(String),
                        partition  UInt32,
                        offset     Int64,
                        ts         DateTime64(3, 'UTC'),
                        id_hi      UInt64,
                        id_lo      UInt64
                    )
                    ENGINE = MergeTree
                    ORDER BY (job, topic, partition, offset)
                    TTL toDateTime(ts) + INTERVAL 2 DAY
                    SETTINGS non_replicated_deduplication_window = %d""".formatted(SEEN_IDS, DEDUP_WINDOW))),
            new Migration(5, "goal state: jobs and tenant limits with version history", List.of(
                    """
                    CREATE TABLE IF NOT EXISTS %s
                    (
                        kind        Enum8('job' = 1, 'tenant_limits' = 2),
                        name        String,
                        version     UInt64,
                        deleted     UInt8,
                        spec        String,
                        updated_at  DateTime64(3, 'UTC'),
                        updated_by  String
                    )
                    ENGINE = MergeTree
                    ORDER BY (kind, name, version)""".formatted(GOAL_STATE))),
            new Migration(6, "experiment reports: per-unit totals, per-unit histograms, experiment-independent unit daily rollup", List.of(
                    // One row per exposed unit (after merges): what the report pushdown reads without a per-unit GROUP BY.
                    // Kept by a materialized view over vigil_experiment_units, so it inherits that table's insert
                    // deduplication (a deduplicated block does not reach the view).
                    """
                    CREATE TABLE IF NOT EXISTS %s
                    (
                        tenant      LowCardinality(String),
                        experiment  LowCardinality(String),
                        variant     LowCardinality(String),
                        unit_id     String,
                        first_day   SimpleAggregateFunction(min, Date),
                        last_day    SimpleAggregateFunction(max, Date),
                        stats       SimpleAggregateFunction(sumMap, Tuple(Array(UInt64), Array(UInt64), Array(Float64)))
                    )
                    ENGINE = AggregatingMergeTree
                    ORDER BY (tenant, experiment, variant, unit_id)
                    TTL last_day + INTERVAL 400 DAY
                    SETTINGS non_replicated_deduplication_window = %d""".formatted(UNIT_TOTALS, DEDUP_WINDOW),
                    // backfill from the per-day table once (only while the totals are empty)
                    """
                    INSERT INTO %s (tenant, experiment, variant, unit_id, first_day, last_day, stats)
                    SELECT tenant, experiment, variant, unit_id, min(day), max(day),
                           sumMap(([%s], [count], [sum]))
                    FROM %s
                    WHERE (SELECT count() FROM %s) = 0
                    GROUP BY tenant, experiment, variant, unit_id""".formatted(UNIT_TOTALS, STATS_KEY, EXPERIMENT_UNITS,
                            UNIT_TOTALS),
                    """
                    CREATE MATERIALIZED VIEW IF NOT EXISTS %s_mv TO %s AS
                    SELECT tenant, experiment, variant, unit_id,
                           min(day) AS first_day,
                           max(day) AS last_day,
                           sumMap(([%s], [count], [sum])) AS stats
                    FROM %s
                    GROUP BY tenant, experiment, variant, unit_id""".formatted(UNIT_TOTALS, UNIT_TOTALS, STATS_KEY,
                            EXPERIMENT_UNITS),
                    // Per unit and measure: the log-bucket histogram of the event values (quantile metrics).
                    """
                    CREATE TABLE IF NOT EXISTS %s
                    (
                        tenant      LowCardinality(String),
                        experiment  LowCardinality(String),
                        variant     LowCardinality(String),
                        type        LowCardinality(String),
                        measure     LowCardinality(String),
                        unit_id     String,
                        last_day    SimpleAggregateFunction(max, Date),
                        hist        SimpleAggregateFunction(sumMap, Map(Int32, UInt64))
                    )
                    ENGINE = AggregatingMergeTree
                    ORDER BY (tenant, experiment, type, measure, variant, unit_id)
                    TTL last_day + INTERVAL 400 DAY
                    SETTINGS non_replicated_deduplication_window = %d""".formatted(UNIT_HIST, DEDUP_WINDOW),
                    // Per variant and measure: the event histogram (a few rows per experiment instead of one per unit).
                    """
                    CREATE TABLE IF NOT EXISTS %s
                    (
                        tenant      LowCardinality(String),
                        experiment  LowCardinality(String),
                        variant     LowCardinality(String),
                        type        LowCardinality(String),
                        measure     LowCardinality(String),
                        last_day    SimpleAggregateFunction(max, Date),
                        hist        SimpleAggregateFunction(sumMap, Map(Int32, UInt64))
                    )
                    ENGINE = AggregatingMergeTree
                    ORDER BY (tenant, experiment, type, measure, variant)
                    TTL last_day + INTERVAL 400 DAY
                    SETTINGS non_replicated_deduplication_window = %d""".formatted(VARIANT_HIST, DEDUP_WINDOW),
                    """
                    CREATE MATERIALIZED VIEW IF NOT EXISTS %s_mv TO %s AS
                    SELECT tenant, experiment, variant, type, measure, max(last_day) AS last_day, sumMap(hist) AS hist
                    FROM %s
                    GROUP BY tenant, experiment, variant, type, measure""".formatted(VARIANT_HIST, VARIANT_HIST, UNIT_HIST),
                    // Per unit and day for every event with a unit, assigned or not: the pre-period covariate of CUPED.
                    """
                    CREATE TABLE IF NOT EXISTS %s
                    (
                        tenant      LowCardinality(String),
                        type        LowCardinality(String),
                        measure     LowCardinality(String),
                        unit_id     String,
                        day         Date,
                        count       UInt64,
                        sum         Float64
                    )
                    ENGINE = SummingMergeTree((count, sum))
                    PARTITION BY toYYYYMM(day)
                    ORDER BY (tenant, type, measure, unit_id, day)
                    TTL day + INTERVAL 400 DAY
                    SETTINGS non_replicated_deduplication_window = %d""".formatted(UNIT_DAILY, DEDUP_WINDOW))),
            // A row per client id was one ClickHouse row per event, written once and merged several
            // times (a quarter of the aggregator's insert time in the soak); one row of arrays per
            // flush stores the same ids. Recovery reads both tables until the old one's TTL empties it.
            new Migration(7, "client ids: one row of arrays per flush", List.of(
                    """
                    CREATE TABLE IF NOT EXISTS %s
                    (
                        job           LowCardinality(String),
                        topic         LowCardinality(String),
                        partition     UInt32,
                        start_offset  Int64,
                        end_offset    Int64,
                        max_ts        DateTime64(3, 'UTC'),
                        offsets       Array(Int64),
                        ts            Array(Int64),
                        id_hi         Array(UInt64),
                        id_lo         Array(UInt64)
                    )
                    ENGINE = MergeTree
                    ORDER BY (job, topic, partition, start_offset)
                    TTL toDateTime(max_ts) + INTERVAL 2 DAY
                    SETTINGS non_replicated_deduplication_window = %d""".formatted(SEEN_ID_BLOCKS, DEDUP_WINDOW))),
            // The ids themselves (32 bytes each, one per event with ids) were most of what ClickHouse
            // stored and merged for such events, and are in Kafka already: a flush now stores one bit
            // per record (its id was accepted), and recovery re-reads the marked records of the window
            // from Kafka to hash their ids again. Recovery reads the older tables until their TTL empties them.
            new Migration(8, "client ids: a bitmap of the records whose id was accepted, per flush", List.of(
                    """
                    CREATE TABLE IF NOT EXISTS %s
                    (
                        job           LowCardinality(String),
                        topic         LowCardinality(String),
                        partition     UInt32,
                        start_offset  Int64,
                        end_offset    Int64,
                        max_ts        DateTime64(3, 'UTC'),
                        ids           UInt64,
                        marks         String
                    )
                    ENGINE = MergeTree
                    ORDER BY (job, topic, partition, start_offset)
                    TTL toDateTime(max_ts) + INTERVAL 2 DAY
                    SETTINGS non_replicated_deduplication_window = %d""".formatted(SEEN_ID_MARKS, DEDUP_WINDOW))),
            // The views' GROUP BY ... sumMap(hist) over every inserted 10 s block was most of an insert's cost in
            // ClickHouse (sumMap merges ~100-600 histogram buckets a row through a generic map: 70-140 ns a bucket).
            // The aggregator now merges the 1 m and 1 h rows from its flush buffer and inserts them itself, marking
            // its 10 s rows rolled_up = 1, which the views skip. The views stay, for 10 s rows written without them:
            // an older aggregator during a rolling upgrade, and the replay of a flush an older one left pending (its
            // flush-log intent row has rolled_up = 0, so the replay writes it the old way and the views roll it up
            // exactly once, as they did the first time).
            new Migration(9, "the aggregator writes the 1 m and 1 h rows; the views roll up only rows written without them", List.of(
                    "ALTER TABLE " + ROLLUP_10S + " ADD COLUMN IF NOT EXISTS rolled_up UInt8 DEFAULT 0",
                    "ALTER TABLE " + FLUSH_LOG + " ADD COLUMN IF NOT EXISTS rolled_up UInt8 DEFAULT 0",
                    rollupViewQuery("vigil_rollup_1m_mv", "toStartOfMinute(bucket)"),
                    rollupViewQuery("vigil_rollup_1h_mv", "toStartOfHour(bucket)"))),
            // Exposures had no TTL: a row per (experiment, variant, unit) for ever. They now go with the other experiment
            // tables (aggregator.retention.experiments sets the length), a unit's row once it was last seen that long ago.
            new Migration(10, "exposures expire like the other experiment tables", List.of(
                    "ALTER TABLE " + EXPOSURES + " MODIFY TTL toDateTime(last_seen) + INTERVAL 400 DAY")));

    private Migrations() {
    }

    /** Applies every pending migration; returns the versions applied now. */
    public static List<Integer> apply(ClickHouse ch) throws Exception {
        ch.execute("""
                CREATE TABLE IF NOT EXISTS %s
                (
                    version     UInt32,
                    name        String,
                    checksum    String,
                    applied_at  DateTime64(3, 'UTC')
                )
                ENGINE = MergeTree
                ORDER BY version""".formatted(MIGRATIONS_TABLE));
        Set<Integer> applied = new HashSet<>();
        Map<Integer, String> sums = new java.util.HashMap<>();
        for (Map<String, Object> row : ch.query("SELECT version, any(checksum) AS checksum FROM " + MIGRATIONS_TABLE + " GROUP BY version")) {
            int v = ((Number) row.get("version")).intValue();
            applied.add(v);
            sums.put(v, String.valueOf(row.get("checksum")));
        }
        List<Integer> now = new java.util.ArrayList<>();
        for (Migration m : ALL) {
            if (applied.contains(m.version())) {
                if (!m.checksum().equals(sums.get(m.version()))) {
                    log.warn("event=migration_checksum_mismatch version={} recorded={} shipped={} (a shipped migration was edited)",
                            m.version(), sums.get(m.version()), m.checksum());
                }
                continue;
            }
            long t0 = System.nanoTime();
            for (String stmt : m.statements()) {
                ch.execute(stmt);
            }
            ch.execute("INSERT INTO " + MIGRATIONS_TABLE + " (version, name, checksum, applied_at) VALUES ("
                    + m.version() + ", " + ClickHouse.q(m.name()) + ", " + ClickHouse.q(m.checksum()) + ", now64(3))");
            log.info("event=migration_applied version={} name=\"{}\" took_ms={}", m.version(), m.name(), (System.nanoTime() - t0) / 1_000_000);
            now.add(m.version());
        }
        return now;
    }
}
