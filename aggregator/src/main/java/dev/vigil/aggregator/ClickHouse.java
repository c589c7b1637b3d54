package dev.vigil.aggregator;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import com.clickhouse.client.api.Client;
import com.clickhouse.client.api.insert.InsertResponse;
import com.clickhouse.client.api.insert.InsertSettings;
import com.clickhouse.data.ClickHouseFormat;
import com.clickhouse.jdbc.ConnectionImpl;

/**
 * The aggregator's only door to ClickHouse: the ClickHouse JDBC driver (jdbc-v2). DDL and
 * reads go through plain JDBC statements; inserts go through the driver's RowBinary path (the
 * client behind the JDBC connection) so every block carries its {@code insert_deduplication_token}.
 *
 * <p>Thread-safe: each call borrows its own JDBC connection from a small pool-less factory (the
 * driver keeps an HTTP connection pool per connection); inserts reuse one long-lived connection.
 */
public final class ClickHouse implements AutoCloseable {
    static {
        com.clickhouse.jdbc.Driver.load();
    }

    /** Outcome of one insert: rows sent, and rows the server reports as written (0 for a dropped duplicate). */
    public record InsertResult(long rowsSent, long rowsWritten, boolean summaryKnown) {
        public boolean deduplicated() {
            return summaryKnown && rowsSent > 0 && rowsWritten == 0;
        }
    }

    private final String url;
    private final Properties props;
    private final Connection insertConn;
    private final Client client;

    public ClickHouse(String url, String user, String password) throws SQLException {
        this.url = url;
        this.props = new Properties();
        props.setProperty("user", user == null || user.isEmpty() ? "default" : user);
        props.setProperty("password", password == null ? "" : password);
        props.setProperty("socket_timeout", "120000");
        this.insertConn = DriverManager.getConnection(url, props);
        this.client = insertConn.unwrap(ConnectionImpl.class).getClient();
    }

    public String url() {
        return url;
    }

    /** Another client of the same server, database and credentials, with its own connections. */
    public ClickHouse sameServer() throws SQLException {
        return new ClickHouse(url, props.getProperty("user"), props.getProperty("password"));
    }

    public Connection connect() throws SQLException {
        return DriverManager.getConnection(url, props);
    }

    public void execute(String sql) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** Runs a query and returns each row as column name to value (JDBC objects). */
    public List<Map<String, Object>> query(String sql) throws SQLException {
        List<Map<String, Object>> out = new ArrayList<>();
        try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            int n = md.getColumnCount();
            while (rs.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 1; i <= n; i++) {
                    row.put(md.getColumnLabel(i), rs.getObject(i));
                }
                out.add(row);
            }
        }
        return out;
    }

    /** Streams the rows of a query to {@code consumer} (for large reads such as rebuilding the seen-id store). */
    public void forEach(String sql, RowConsumer consumer) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                consumer.accept(rs);
            }
        }
    }

    /** Receives one row of {@link #forEach}. */
    @FunctionalInterface
    public interface RowConsumer {
        void accept(ResultSet rs) throws SQLException;
    }

    /** A single number (count(), max(...)); null when no row or NULL. */
    public Long queryLong(String sql) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            if (!rs.next()) {
                return null;
            }
            long v = rs.getLong(1);
            return rs.wasNull() ? null : v;
        }
    }

    /**
     * Inserts one RowBinary block with a deduplication token: a second insert with the same token
     * into the same table is dropped by ClickHouse (and so are its materialized-view blocks).
     */
    public InsertResult insert(String table, List<String> columns, RowBinary block, String dedupToken) throws Exception {
        InsertSettings settings = new InsertSettings();
        if (dedupToken != null) {
            settings.setDeduplicationToken(dedupToken);
            settings.serverSetting("insert_deduplicate", "1");
            settings.serverSetting("deduplicate_blocks_in_dependent_materialized_views", "1");
        }
        // One HTTP request = one block: never let the server split it (a split block gets
        // per-part token suffixes, and a replay must hit exactly the same parts).
        settings.serverSetting("max_insert_block_size", "100000000");
        settings.serverSetting("min_insert_block_size_rows", "0");
        settings.serverSetting("min_insert_block_size_bytes", "0");
        // Every block (and every view's block from it) already holds one row per sorting key: the
        // aggregator pre-aggregates per key and the views GROUP BY theirs. The engines' collapse
        // pass at insert time would find nothing to collapse but costs the most of an insert into
        // the experiment tables (measured on 200k per-unit rows: 0.44 s with it, 0.11 s without;
        // the per-unit totals view 0.36 s vs 0.17 s). Merges still collapse across blocks.
        settings.serverSetting("optimize_on_insert", "0");
        try (InsertResponse r = client.insert(table, columns, out -> block.writeTo(out), ClickHouseFormat.RowBinary, settings)
                .get(180, TimeUnit.SECONDS)) {
            long written = r.getWrittenRows();
            boolean known = r.getResponseHeaders() != null && r.getResponseHeaders().keySet().stream()
                    .anyMatch(h -> h.equalsIgnoreCase("X-ClickHouse-Summary"));
            return new InsertResult(block.rows(), written, known);
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause() == null ? e : e.getCause();
            throw c instanceof Exception ex ? ex : new RuntimeException(c);
        }
    }

    /** Quotes a string literal for SQL. */
    public static String q(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('\'');
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch == '\'' || ch == '\\') {
                sb.append('\\');
            }
            sb.append(ch);
        }
        return sb.append('\'').toString();
    }

    @Override
    public void close() {
        try {
            insertConn.close();
        } catch (SQLException e) {
            // closing
        }
    }
}
