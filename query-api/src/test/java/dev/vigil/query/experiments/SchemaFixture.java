package dev.vigil.query.experiments;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import dev.vigil.clickhouse.EmbeddedClickHouse;

/**
 * ClickHouse for the health and experiment tests: the shared embedded server (or CLICKHOUSE_URL,
 * e.g. jdbc:clickhouse:http://127.0.0.1:8123), a fresh database per caller, and the aggregator's
 * tables created with the exact DDL of docs/schema.md (the aggregator module is not a dependency of
 * query-api). Needs VIGIL_CHDB_LIB (scripts/fetch-chdb.sh) for the embedded server.
 */
public final class SchemaFixture {
    /** docs/schema.md, migration 1 and the experiment tables, verbatim. */
    public static final List<String> DDL = List.of("""
            CREATE TABLE IF NOT EXISTS vigil_rollup_10s
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
            PARTITION BY toYYYYMMDD(bucket)
            ORDER BY (tenant, kind, name, measure, series_id, bucket)
            TTL bucket + INTERVAL 7 DAY
            SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1""",
            rollup("vigil_rollup_1m", "toYYYYMM(bucket)", 90),
            rollup("vigil_rollup_1h", "toYYYYMM(bucket)", 730),
            mv("vigil_rollup_1m_mv", "vigil_rollup_1m", "toStartOfMinute"),
            mv("vigil_rollup_1h_mv", "vigil_rollup_1h", "toStartOfHour"),
            """
            CREATE TABLE IF NOT EXISTS vigil_experiment_units
            (
                tenant LowCardinality(String), experiment LowCardinality(String), variant LowCardinality(String),
                type LowCardinality(String), measure LowCardinality(String), unit_id String, day Date,
                count UInt64, sum Float64, sum_sq Float64
            )
            ENGINE = SummingMergeTree((count, sum, sum_sq))
            PARTITION BY toYYYYMM(day)
            ORDER BY (tenant, experiment, type, measure, variant, unit_id, day)
            TTL day + INTERVAL 400 DAY
            SETTINGS non_replicated_deduplication_window = 10000""",
            """
            CREATE TABLE IF NOT EXISTS vigil_exposures
            (
                tenant LowCardinality(String), experiment LowCardinality(String), variant LowCardinality(String),
                unit_id String,
                first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
                last_seen  SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
                events     SimpleAggregateFunction(sum, UInt64)
            )
            ENGINE = AggregatingMergeTree
            ORDER BY (tenant, experiment, variant, unit_id)
            SETTINGS non_replicated_deduplication_window = 10000""");

    private static String rollup(String table, String partition, int ttlDays) {
        return DDL_10S_TEMPLATE.replace("vigil_rollup_10s", table).replace("toYYYYMMDD(bucket)", partition)
                .replace("INTERVAL 7 DAY", "INTERVAL " + ttlDays + " DAY");
    }

    private static final String DDL_10S_TEMPLATE = """
            CREATE TABLE IF NOT EXISTS vigil_rollup_10s
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
            PARTITION BY toYYYYMMDD(bucket)
            ORDER BY (tenant, kind, name, measure, series_id, bucket)
            TTL bucket + INTERVAL 7 DAY
            SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1""";

    private static String mv(String name, String target, String fn) {
        return "CREATE MATERIALIZED VIEW IF NOT EXISTS " + name + " TO " + target + " AS\n"
                + "SELECT tenant, kind, name, measure, series_id,\n"
                + "       " + fn + "(bucket) AS bucket,\n"
                + "       any(labels) AS labels, sum(count) AS count, sum(sum) AS sum, sum(sum_sq) AS sum_sq,\n"
                + "       min(min) AS min, max(max) AS max, sumMap(hist) AS hist\n"
                + "FROM vigil_rollup_10s\n"
                + "GROUP BY tenant, kind, name, measure, series_id, bucket";
    }

    private SchemaFixture() {
    }

    /** Base URL without database, e.g. jdbc:clickhouse://127.0.0.1:port */
    private static String baseUrl() {
        String ext = System.getenv("CLICKHOUSE_URL");
        if (ext != null && !ext.isBlank()) return ext.replaceAll("/+$", "");
        String u = EmbeddedClickHouse.shared().jdbcUrl();
        return u.substring(0, u.lastIndexOf('/'));
    }

    /** A fresh database with the aggregator's tables; returns a DataSource on it. */
    public static JdbcDataSource freshDatabase(String prefix) throws SQLException {
        String db = prefix + "_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
        String base = baseUrl();
        JdbcDataSource root = new JdbcDataSource(base + "/default", "default", "");
        exec(root, "CREATE DATABASE IF NOT EXISTS " + db);
        JdbcDataSource ds = new JdbcDataSource(base + "/" + db, "default", "");
        for (String ddl : DDL) exec(ds, ddl);
        return ds;
    }

    public static void exec(JdbcDataSource ds, String sql) throws SQLException {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
