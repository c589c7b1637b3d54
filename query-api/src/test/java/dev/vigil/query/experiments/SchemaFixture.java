package dev.vigil.query.experiments;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import dev.vigil.aggregator.Migrations;
import dev.vigil.clickhouse.EmbeddedClickHouse;

/**
 * ClickHouse for the health and experiment tests: the shared embedded server (or CLICKHOUSE_URL,
 * e.g. jdbc:clickhouse:http://127.0.0.1:8123), a fresh database per caller, and the aggregator's
 * tables created by the aggregator's own migrations (test-scope dependency), so the readers are
 * tested against exactly the schema the writer ships. Needs VIGIL_CHDB_LIB (scripts/fetch-chdb.sh) for the embedded server.
 */
public final class SchemaFixture {
    /** The aggregator's shipped migrations, in order: the tables the readers are tested against. */
    public static final List<String> DDL = Migrations.ALL.stream()
            .flatMap(m -> m.statements().stream())
            .toList();

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
