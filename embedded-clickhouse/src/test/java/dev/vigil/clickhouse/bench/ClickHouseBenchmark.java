package dev.vigil.clickhouse.bench;

import com.clickhouse.client.api.Client;
import com.clickhouse.client.api.insert.InsertResponse;
import com.clickhouse.client.api.insert.InsertSettings;
import com.clickhouse.data.ClickHouseFormat;
import com.clickhouse.jdbc.ConnectionImpl;
import dev.vigil.clickhouse.EmbeddedClickHouse;
import dev.vigil.clickhouse.engine.ChdbConnection;
import dev.vigil.clickhouse.engine.ChdbEngine;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark command (not a test): JDBC through the embedded server beside the same work done
 * in-process on chDB. Run with embedded-clickhouse/bench.sh [rows] [selects].
 *
 * <ul>
 *   <li>insert: rows/s of a RowBinary batch insert: jdbc-v2 PreparedStatement batches on the RowBinary
 *       path, the driver's client-v2 insert of pre-serialised RowBinary (what the aggregator does), and
 *       chDB's streaming insert of the same bytes in-process;</li>
 *   <li>select: round-trip latency (p50/p99) of a small SELECT through JDBC vs chdb_query in-process.</li>
 * </ul>
 */
public final class ClickHouseBenchmark {
    public static void main(String[] args) throws Exception {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 2_000_000;
        int selects = args.length > 1 ? Integer.parseInt(args[1]) : 3_000;
        int batch = 100_000;
        // -Dbench.only=insert|select runs one half (for profiling); -Dbench.writers=N is the number of
        // JDBC connections inserting in parallel in the second JDBC measurement.
        String only = System.getProperty("bench.only", "all");
        boolean doInsert = !only.equals("select");
        boolean doSelect = !only.equals("insert");
        int writers = Integer.getInteger("bench.writers", 2);
        String loadBefore = loadAverage();
        com.clickhouse.jdbc.Driver.load();
        EmbeddedClickHouse.deleteStaleTempDirs("vigil-ch-bench-*"); // earlier runs' directories
        Path dir = Files.createTempDirectory("vigil-ch-bench-");
        try (EmbeddedClickHouse ch = EmbeddedClickHouse.start(dir)) {
            String ddl = "CREATE TABLE %s (id UInt64, ts DateTime64(3, 'UTC'), name LowCardinality(String), v Float64)"
                    + " ENGINE = MergeTree ORDER BY id";
            Properties p = new Properties();
            p.setProperty("beta.row_binary_for_simple_insert", "true");
            try (Connection c = DriverManager.getConnection(ch.jdbcUrl(), p); Statement s = c.createStatement()) {
                for (String t : List.of("b_jdbc", "b_jdbc_par", "b_client", "b_inproc", "b_small")) {
                    s.execute(ddl.formatted(t));
                }
                s.execute("INSERT INTO b_small SELECT number, now64(3), 'm' || toString(number % 10), number FROM numbers(1000)");

                ChdbEngine engine = ChdbEngine.current();
                ChdbConnection conn = engine.connect();
                double jdbcRate = 0;
                double parRate = 0;
                double clientRate = 0;
                double inprocRate = 0;
                if (doInsert) {
                    // Warm-up, then JDBC PreparedStatement batches (RowBinary path).
                    jdbcInsert(c, "b_small", 10_000, 10_000, 1_000_000);
                    long t0 = System.nanoTime();
                    jdbcInsert(c, "b_jdbc", rows, batch, 0);
                    jdbcRate = rows / ((System.nanoTime() - t0) / 1e9);
                    check(s, "b_jdbc", rows);

                    // The same with several connections inserting at once (each its own share of the rows).
                    t0 = System.nanoTime();
                    parallelJdbcInsert(ch.jdbcUrl(), p, "b_jdbc_par", rows, batch, writers);
                    parRate = rows / ((System.nanoTime() - t0) / 1e9);
                    check(s, "b_jdbc_par", rows);

                    // client-v2 insert of pre-serialised RowBinary blocks.
                    Client client = c.unwrap(ConnectionImpl.class).getClient();
                    byte[][] blocks = new byte[rows / batch][];
                    for (int b = 0; b < blocks.length; b++) {
                        blocks[b] = rowBinary((long) b * batch, batch);
                }
                t0 = System.nanoTime();
                for (byte[] block : blocks) {
                    try (InsertResponse r = client.insert("b_client", List.of("id", "ts", "name", "v"),
                            out -> out.write(block), ClickHouseFormat.RowBinary, new InsertSettings())
                            .get(120, TimeUnit.SECONDS)) {
                        if (r.getWrittenRows() != batch) {
                            throw new IllegalStateException("written " + r.getWrittenRows());
                        }
                    }
                }
                clientRate = rows / ((System.nanoTime() - t0) / 1e9);
                check(s, "b_client", rows);

                // The same bytes in-process through chDB's streaming insert.
                t0 = System.nanoTime();
                for (byte[] block : blocks) {
                    try (var in = conn.streamInsert("INSERT INTO default.b_inproc (id, ts, name, v)"
                            .getBytes(StandardCharsets.UTF_8), "RowBinary", null)) {
                        in.append(block, 0, block.length);
                        in.done();
                    }
                }
                inprocRate = rows / ((System.nanoTime() - t0) / 1e9);
                check(s, "b_inproc", rows);
                }

                // Small SELECT round trips: a point query on a MergeTree, and SELECT 42 (pure round trip).
                long[][] point = null;
                long[][] one = null;
                if (doSelect) {
                    // Each also without response compression (client property compress=false): on loopback
                    // LZ4 framing only costs time on both ends.
                    Properties plain = new Properties();
                    plain.putAll(p);
                    plain.setProperty("compress", "false");
                    try (Connection c2 = DriverManager.getConnection(ch.jdbcUrl(), plain);
                         Statement s2 = c2.createStatement()) {
                        point = latencies(List.of(s, s2), conn, "SELECT id, name, v FROM b_small WHERE id = 42", selects);
                        one = latencies(List.of(s, s2), conn, "SELECT 42", selects);
                    }
                }
                engine.disconnect(conn);
                System.out.printf("%nEmbedded ClickHouse benchmark (%d rows, batches of %d; %d selects; %d cores;"
                                + " load average before %s, after %s)%n", rows, batch, selects,
                        Runtime.getRuntime().availableProcessors(), loadBefore, loadAverage());
                System.out.println("| measurement | over HTTP (JDBC) | in-process chDB | ratio |");
                System.out.println("|---|---|---|---|");
                if (doInsert) {
                    System.out.printf("| RowBinary insert, jdbc-v2 PreparedStatement batch | %,.0f rows/s | %,.0f rows/s | %.2f |%n",
                            jdbcRate, inprocRate, jdbcRate / inprocRate);
                    System.out.printf("| RowBinary insert, jdbc-v2 PreparedStatement batch, %d connections | %,.0f rows/s | %,.0f rows/s | %.2f |%n",
                            writers, parRate, inprocRate, parRate / inprocRate);
                    System.out.printf("| RowBinary insert, client-v2 insert of serialised blocks | %,.0f rows/s | %,.0f rows/s | %.2f |%n",
                            clientRate, inprocRate, clientRate / inprocRate);
                }
                if (doSelect) {
                    row("small SELECT (MergeTree point query)", point[0], point[2], selects);
                    row("small SELECT (MergeTree point query), compress=false", point[1], point[2], selects);
                    row("SELECT 42 (round trip only)", one[0], one[2], selects);
                    row("SELECT 42 (round trip only), compress=false", one[1], one[2], selects);
                }
            }
        }
        System.exit(0);
    }

    static void jdbcInsert(Connection c, String table, int rows, int batch, long offset) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " (id, ts, name, v) VALUES (?, ?, ?, ?)")) {
            java.sql.Timestamp ts = java.sql.Timestamp.from(java.time.Instant.parse("2026-01-01T00:00:00Z"));
            for (int i = 0; i < rows; i++) {
                ps.setLong(1, offset + i);
                ps.setTimestamp(2, ts);
                ps.setString(3, NAMES[i % NAMES.length]);
                ps.setDouble(4, i * 0.25);
                ps.addBatch();
                if ((i + 1) % batch == 0) {
                    ps.executeBatch();
                }
            }
            ps.executeBatch();
        }
    }

    /** {@code writers} connections, each inserting its share of {@code rows} in batches, all at once. */
    static void parallelJdbcInsert(String url, Properties p, String table, int rows, int batch, int writers)
            throws Exception {
        List<Thread> threads = new java.util.ArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        for (int w = 0; w < writers; w++) {
            int share = rows / writers + (w < rows % writers ? 1 : 0);
            long offset = (long) w * (rows / writers) + Math.min(w, rows % writers);
            threads.add(Thread.ofPlatform().name("bench-writer-" + w).start(() -> {
                try (Connection c = DriverManager.getConnection(url, p)) {
                    jdbcInsert(c, table, share, batch, offset);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new IllegalStateException("parallel insert failed", failure.get());
        }
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (Exception e) {
            return "n/a";
        }
    }

    static final String[] NAMES = {"model-a", "model-b", "model-c", "model-d", "model-e"};

    static byte[] rowBinary(long first, int n) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(n * 32);
        long ts = 1_767_225_600_000L;
        for (int i = 0; i < n; i++) {
            putLong(out, first + i);
            putLong(out, ts + i);
            byte[] name = NAMES[i % NAMES.length].getBytes(StandardCharsets.UTF_8);
            out.write(name.length);
            out.write(name, 0, name.length);
            putLong(out, Double.doubleToLongBits(i * 0.25));
        }
        return out.toByteArray();
    }

    static void putLong(ByteArrayOutputStream out, long v) {
        for (int b = 0; b < 8; b++) {
            out.write((int) (v >>> (8 * b)) & 0xFF);
        }
    }

    /**
     * Round-trip latencies of {@code sql} through each JDBC statement and in-process, taken in turn
     * (so warm-up and machine load fall on all of them alike). The last array is the in-process one.
     */
    static long[][] latencies(List<Statement> stmts, ChdbConnection conn, String sql, int n) throws Exception {
        long[][] out = new long[stmts.size() + 1][n];
        byte[] q = sql.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < Math.max(n / 5, 1000); i++) { // warm-up (JIT on both ends)
            for (Statement s : stmts) {
                jdbcSelect(s, sql);
            }
            conn.query(q, "RowBinaryWithNamesAndTypes", null);
        }
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < stmts.size(); k++) {
                long a = System.nanoTime();
                jdbcSelect(stmts.get(k), sql);
                out[k][i] = System.nanoTime() - a;
            }
            long a = System.nanoTime();
            conn.query(q, "RowBinaryWithNamesAndTypes", null);
            out[stmts.size()][i] = System.nanoTime() - a;
        }
        for (long[] l : out) {
            Arrays.sort(l);
        }
        return out;
    }

    static void row(String name, long[] jdbc, long[] in, int n) {
        for (int pct : new int[] {50, 99}) {
            long j = jdbc[n * pct / 100];
            long i = in[n * pct / 100];
            System.out.printf("| %s p%d | %.3f ms | %.3f ms | %.1fx |%n", name, pct, j / 1e6, i / 1e6, (double) j / i);
        }
    }

    static void jdbcSelect(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            if (!rs.next() || rs.getLong(1) != 42) {
                throw new IllegalStateException("bad result");
            }
        }
    }

    static void check(Statement s, String table, int rows) throws Exception {
        try (ResultSet rs = s.executeQuery("SELECT count() FROM " + table)) {
            rs.next();
            if (rs.getLong(1) != rows) {
                throw new IllegalStateException(table + " has " + rs.getLong(1) + " rows, expected " + rows);
            }
        }
    }

    private ClickHouseBenchmark() {
    }
}
