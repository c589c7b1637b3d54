package dev.vigil.clickhouse;

import com.clickhouse.client.api.Client;
import com.clickhouse.client.api.insert.InsertResponse;
import com.clickhouse.client.api.insert.InsertSettings;
import com.clickhouse.data.ClickHouseFormat;
import com.clickhouse.jdbc.ConnectionImpl;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The JDBC driver (jdbc-v2) against the embedded server, or a real server when CLICKHOUSE_URL is set:
 * the code path the aggregator and the query API use.
 */
class ITJdbcConformance {
    static String db;

    @BeforeAll
    static void setUp() throws SQLException {
        db = ClickHouseTarget.createDatabase("jdbc_conf");
    }

    @AfterAll
    static void tearDown() throws SQLException {
        ClickHouseTarget.dropDatabase(db);
    }

    static long count(Connection c, String table) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count() FROM " + table)) {
            assertThat(rs.next()).isTrue();
            return rs.getLong(1);
        }
    }

    @Test
    void connectsAndReportsServerVersion() throws SQLException {
        try (Connection c = ClickHouseTarget.connect(db); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT version(), currentDatabase()")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).matches("\\d+\\.\\d+.*");
            assertThat(rs.getString(2)).isEqualTo(db);
            assertThat(c.getMetaData().getDatabaseProductName()).containsIgnoringCase("clickhouse");
        }
    }

    @Test
    void ddlCreatesAltersAndDropsTables() throws SQLException {
        try (Connection c = ClickHouseTarget.connect(db); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE ddl_t (id UInt64, name String) ENGINE = MergeTree ORDER BY id");
            s.execute("ALTER TABLE ddl_t ADD COLUMN extra UInt8 DEFAULT 7");
            try (ResultSet rs = s.executeQuery("SELECT name, type FROM system.columns WHERE database = currentDatabase()"
                    + " AND table = 'ddl_t' ORDER BY position")) {
                List<String> cols = new ArrayList<>();
                while (rs.next()) {
                    cols.add(rs.getString(1) + ":" + rs.getString(2));
                }
                assertThat(cols).containsExactly("id:UInt64", "name:String", "extra:UInt8");
            }
            try (ResultSet rs = s.executeQuery("SHOW TABLES")) {
                List<String> t = new ArrayList<>();
                while (rs.next()) {
                    t.add(rs.getString(1));
                }
                assertThat(t).contains("ddl_t");
            }
            s.execute("DROP TABLE ddl_t");
            assertThatThrownBy(() -> s.executeQuery("SELECT * FROM ddl_t"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("UNKNOWN_TABLE");
        }
    }

    private void batchInsert(Properties p, String table, int rows) throws SQLException {
        try (Connection c = ClickHouseTarget.connect(db, p); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE " + table + " (id UInt64, name String, v Float64) ENGINE = MergeTree ORDER BY id");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (id, name, v) VALUES (?, ?, ?)")) {
                for (int i = 0; i < rows; i++) {
                    ps.setLong(1, i);
                    // Bytes that broke naive inline RowBinary: newlines, tabs, quotes, backslashes, NUL.
                    ps.setString(2, "n\n" + i + "\t'\\\0" + (char) 0x0A);
                    ps.setDouble(3, i * 0.5);
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                assertThat(counts).hasSize(rows);
            }
            assertThat(count(c, table)).isEqualTo(rows);
            try (ResultSet rs = s.executeQuery("SELECT sum(id), sum(v), countIf(name = concat('n\\n', toString(id), "
                    + "'\\t\\'\\\\\\0\\n')) FROM " + table)) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getLong(1)).isEqualTo((long) rows * (rows - 1) / 2);
                assertThat(rs.getDouble(2)).isEqualTo((long) rows * (rows - 1) / 2 * 0.5);
                assertThat(rs.getLong(3)).isEqualTo(rows);
            }
        }
    }

    @Test
    void batchedPreparedInsertValuesPath() throws SQLException {
        batchInsert(ClickHouseTarget.props(), "batch_values", 20_000);
    }

    @Test
    void batchedPreparedInsertRowBinaryPath() throws SQLException {
        Properties p = ClickHouseTarget.props();
        p.setProperty("beta.row_binary_for_simple_insert", "true");
        batchInsert(p, "batch_rowbinary", 50_000);
    }

    @Test
    void batchedInsertWithoutResponseCompression() throws SQLException {
        Properties p = ClickHouseTarget.props();
        p.setProperty("compress", "false");
        p.setProperty("beta.row_binary_for_simple_insert", "true");
        batchInsert(p, "batch_nocompress", 5_000);
    }

    @Test
    void batchedInsertWithRequestCompression() throws SQLException {
        Properties p = ClickHouseTarget.props();
        p.setProperty("decompress", "true");
        batchInsert(p, "batch_lz4_request", 5_000);
    }

    @Test
    void selectsRichTypes() throws SQLException {
        try (Connection c = ClickHouseTarget.connect(db); Statement s = c.createStatement()) {
            s.execute("""
                    CREATE TABLE types_t (
                        ts DateTime64(3, 'UTC'),
                        lc LowCardinality(String),
                        m Map(String, UInt64),
                        a Array(Int32),
                        n Nullable(Int32),
                        d Decimal(18, 4)
                    ) ENGINE = MergeTree ORDER BY ts""");
            s.execute("INSERT INTO types_t VALUES ('2024-05-06 07:08:09.123', 'model-a', {'x': 1, 'y': 2}, [1, -2, 3],"
                    + " NULL, 12345.6789), ('2024-05-06 07:08:10.456', 'model-b', {}, [], 42, -0.0001)");
            try (ResultSet rs = s.executeQuery("SELECT ts, lc, m, a, n, d FROM types_t ORDER BY ts")) {
                assertThat(rs.next()).isTrue();
                Object ts = rs.getObject(1);
                Instant instant = switch (ts) {
                    case ZonedDateTime z -> z.toInstant();
                    case OffsetDateTime o -> o.toInstant();
                    case Timestamp t -> t.toInstant();
                    case java.time.LocalDateTime l -> l.toInstant(ZoneOffset.UTC);
                    default -> throw new AssertionError("unexpected DateTime64 mapping " + ts.getClass());
                };
                assertThat(instant).isEqualTo(Instant.parse("2024-05-06T07:08:09.123Z"));
                assertThat(rs.getString(2)).isEqualTo("model-a");
                @SuppressWarnings("unchecked")
                Map<String, Object> m = (Map<String, Object>) rs.getObject(3);
                assertThat(m).hasSize(2);
                assertThat(((Number) m.get("x")).longValue()).isEqualTo(1L);
                assertThat(((Number) m.get("y")).longValue()).isEqualTo(2L);
                Array arr = rs.getArray(4);
                Object[] values = toObjects(arr.getArray());
                assertThat(values).hasSize(3);
                assertThat(((Number) values[1]).intValue()).isEqualTo(-2);
                assertThat(rs.getObject(5)).isNull();
                rs.getInt(5);
                assertThat(rs.wasNull()).isTrue();
                assertThat(rs.getBigDecimal(6)).isEqualByComparingTo(new BigDecimal("12345.6789"));
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(2)).isEqualTo("model-b");
                assertThat(rs.getInt(5)).isEqualTo(42);
                assertThat(rs.getBigDecimal(6)).isEqualByComparingTo(new BigDecimal("-0.0001"));
                assertThat(rs.next()).isFalse();
            }
        }
    }

    private static Object[] toObjects(Object array) {
        int n = java.lang.reflect.Array.getLength(array);
        Object[] out = new Object[n];
        for (int i = 0; i < n; i++) {
            out[i] = java.lang.reflect.Array.get(array, i);
        }
        return out;
    }

    @Test
    void materializedViewIntoAggregatingMergeTree() throws SQLException {
        try (Connection c = ClickHouseTarget.connect(db); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE mv_src (k String, u UInt64, x Float64) ENGINE = MergeTree ORDER BY k");
            s.execute("""
                    CREATE TABLE mv_agg (k String, n AggregateFunction(count), s AggregateFunction(sum, Float64),
                                         uq AggregateFunction(uniqExact, UInt64), mx SimpleAggregateFunction(max, Float64))
                    ENGINE = AggregatingMergeTree ORDER BY k""");
            s.execute("""
                    CREATE MATERIALIZED VIEW mv_view TO mv_agg AS
                    SELECT k, countState() AS n, sumState(x) AS s, uniqExactState(u) AS uq, max(x) AS mx
                    FROM mv_src GROUP BY k""");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO mv_src (k, u, x) VALUES (?, ?, ?)")) {
                for (int batch = 0; batch < 3; batch++) {
                    for (int i = 0; i < 1000; i++) {
                        ps.setString(1, i % 2 == 0 ? "even" : "odd");
                        ps.setLong(2, i % 10);
                        ps.setDouble(3, i);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT k, countMerge(n), sumMerge(s), uniqExactMerge(uq), max(mx)"
                    + " FROM mv_agg GROUP BY k ORDER BY k")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("even");
                assertThat(rs.getLong(2)).isEqualTo(1500);
                assertThat(rs.getDouble(3)).isEqualTo(3 * 249_500.0);
                assertThat(rs.getLong(4)).isEqualTo(5);
                assertThat(rs.getDouble(5)).isEqualTo(998.0);
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("odd");
                assertThat(rs.getLong(2)).isEqualTo(1500);
            }
            // The AggregateFunction column itself, as the driver reads it (states are opaque bytes).
            try (ResultSet rs = s.executeQuery("SELECT k, finalizeAggregation(n) AS c, hex(toString(s)) FROM"
                    + " (SELECT k, countMergeState(n) AS n, sumMergeState(s) AS s FROM mv_agg GROUP BY k) ORDER BY k")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getLong(2)).isEqualTo(1500);
                assertThat(rs.getString(3)).isNotEmpty();
            }
        }
    }

    @Test
    void selectsAggregateFunctionColumnDirectly() throws SQLException {
        try (Connection c = ClickHouseTarget.connect(db); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE af_t (k UInt8, st AggregateFunction(sum, UInt64)) ENGINE = AggregatingMergeTree ORDER BY k");
            s.execute("INSERT INTO af_t SELECT 1, sumState(toUInt64(number)) FROM numbers(10)");
            try (ResultSet rs = s.executeQuery("SELECT k, st, sumMerge(st) OVER () FROM af_t")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(1);
                assertThat(rs.getObject(2)).isNotNull();
                assertThat(rs.getLong(3)).isEqualTo(45);
            } catch (SQLException e) {
                // Some driver versions cannot decode AggregateFunction(sum, ...) states; the server sent them
                // if the failure is the driver's, not a ClickHouse error code.
                assertThat(e.getErrorCode()).isZero();
            }
        }
    }

    @Test
    void preparedStatementParameters() throws SQLException {
        try (Connection c = ClickHouseTarget.connect(db);
             PreparedStatement ps = c.prepareStatement("SELECT ? + 1, ?, length(?)")) {
            ps.setLong(1, 41);
            ps.setString(2, "it's \"quoted\" \\ and\nmultiline");
            ps.setString(3, "ünïcödé");
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getLong(1)).isEqualTo(42);
                assertThat(rs.getString(2)).isEqualTo("it's \"quoted\" \\ and\nmultiline");
                assertThat(rs.getLong(3)).isEqualTo("ünïcödé".getBytes(StandardCharsets.UTF_8).length);
            }
        }
    }

    @Test
    void errorsCarryClickHouseCodesAndServerKeepsServing() throws SQLException {
        try (Connection c = ClickHouseTarget.connect(db); Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.executeQuery("SELEKT 1")).isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getErrorCode()).isEqualTo(62))
                    .hasMessageContaining("SYNTAX_ERROR");
            assertThatThrownBy(() -> s.executeQuery("SELECT * FROM no_such_table")).isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getErrorCode()).isEqualTo(60));
            assertThatThrownBy(() -> s.executeQuery("SELECT throwIf(1, 'custom failure')"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("custom failure");
            try (ResultSet rs = s.executeQuery("SELECT 7")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(7);
            }
        }
    }

    @Test
    void emptyBatchIsAccepted() throws SQLException {
        for (String rb : List.of("false", "true")) {
            Properties p = ClickHouseTarget.props();
            p.setProperty("beta.row_binary_for_simple_insert", rb);
            try (Connection c = ClickHouseTarget.connect(db, p); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS empty_t (id UInt64) ENGINE = MergeTree ORDER BY id");
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO empty_t (id) VALUES (?)")) {
                    int[] r = ps.executeBatch();
                    assertThat(r).isEmpty();
                }
                assertThat(count(c, "empty_t")).isZero();
            }
        }
        // And through the client API the driver wraps: an INSERT with no data at all.
        try (Connection c = ClickHouseTarget.connect(db)) {
            Client client = c.unwrap(ConnectionImpl.class).getClient();
            try (InsertResponse r = client.insert("empty_t", List.of("id"), out -> { }, ClickHouseFormat.RowBinary,
                    new InsertSettings()).get(30, TimeUnit.SECONDS)) {
                assertThat(r.getWrittenRows()).isZero();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void streamsAMillionRows() throws SQLException {
        try (Connection c = ClickHouseTarget.connect(db); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT number, toString(number) FROM numbers(1000000)")) {
            long n = 0;
            long sum = 0;
            while (rs.next()) {
                long v = rs.getLong(1);
                if (n == 999_999) {
                    assertThat(rs.getString(2)).isEqualTo("999999");
                }
                sum += v;
                n++;
            }
            assertThat(n).isEqualTo(1_000_000);
            assertThat(sum).isEqualTo(999_999L * 1_000_000 / 2);
        }
    }

    @Test
    void eightConcurrentClients() throws Exception {
        try (Connection c = ClickHouseTarget.connect(db); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE conc_t (client UInt8, i UInt32) ENGINE = MergeTree ORDER BY (client, i)");
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Long>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                final int client = t;
                results.add(pool.submit(() -> {
                    Properties p = ClickHouseTarget.props();
                    p.setProperty("beta.row_binary_for_simple_insert", String.valueOf(client % 2 == 0));
                    try (Connection c = ClickHouseTarget.connect(db, p)) {
                        for (int round = 0; round < 5; round++) {
                            try (PreparedStatement ps = c.prepareStatement("INSERT INTO conc_t VALUES (?, ?)")) {
                                for (int i = 0; i < 2000; i++) {
                                    ps.setInt(1, client);
                                    ps.setInt(2, round * 2000 + i);
                                    ps.addBatch();
                                }
                                ps.executeBatch();
                            }
                            try (Statement s = c.createStatement();
                                 ResultSet rs = s.executeQuery("SELECT count() FROM conc_t WHERE client = " + client)) {
                                rs.next();
                                assertThat(rs.getLong(1)).isEqualTo((round + 1) * 2000L);
                            }
                        }
                        return 10_000L;
                    }
                }));
            }
            long total = 0;
            for (Future<Long> f : results) {
                total += f.get(120, TimeUnit.SECONDS);
            }
            try (Connection c = ClickHouseTarget.connect(db)) {
                assertThat(count(c, "conc_t")).isEqualTo(total).isEqualTo(80_000);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void deduplicationTokenDropsARepeatedBlock() throws Exception {
        try (Connection c = ClickHouseTarget.connect(db); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE dedup_t (id UInt64, v String) ENGINE = MergeTree ORDER BY id"
                    + " SETTINGS non_replicated_deduplication_window = 100");
            Client client = c.unwrap(ConnectionImpl.class).getClient();
            byte[] block = rowBinary(100);
            for (String token : List.of("batch-1", "batch-1", "batch-2", "batch-1")) {
                InsertSettings settings = new InsertSettings();
                settings.setDeduplicationToken(token);
                settings.serverSetting("insert_deduplicate", "1");
                try (InsertResponse r = client.insert("dedup_t", List.of("id", "v"), out -> out.write(block),
                        ClickHouseFormat.RowBinary, settings).get(30, TimeUnit.SECONDS)) {
                    assertThat(r.getWrittenRows()).isBetween(0L, 100L);
                }
            }
            // batch-1 once, batch-2 once (same rows, different token).
            assertThat(count(c, "dedup_t")).isEqualTo(200);
            // Settings of those requests did not stick to pooled connections.
            try (ResultSet rs = s.executeQuery("SELECT getSetting('insert_deduplication_token')")) {
                rs.next();
                assertThat(rs.getString(1)).isEmpty();
            }
        }
    }

    static byte[] rowBinary(int rows) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < rows; i++) {
            long v = i;
            for (int b = 0; b < 8; b++) {
                out.write((int) (v >>> (8 * b)) & 0xFF);
            }
            byte[] s = ("row\n" + i).getBytes(StandardCharsets.UTF_8);
            out.write(s.length);
            out.write(s, 0, s.length);
        }
        return out.toByteArray();
    }
}
