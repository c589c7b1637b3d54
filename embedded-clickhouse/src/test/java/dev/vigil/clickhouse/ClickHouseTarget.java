package dev.vigil.clickhouse;

import com.clickhouse.jdbc.Driver;

import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server the conformance suite runs against: a real ClickHouse when CLICKHOUSE_URL is set
 * (e.g. http://localhost:8123, optional user/password in CLICKHOUSE_USER / CLICKHOUSE_PASSWORD),
 * otherwise the JVM's shared embedded server.
 */
final class ClickHouseTarget {
    static {
        Driver.load();
    }

    private static final AtomicInteger DB_SEQ = new AtomicInteger();

    static boolean embedded() {
        String u = System.getenv("CLICKHOUSE_URL");
        return u == null || u.isBlank();
    }

    /** http://host:port */
    static String httpUrl() {
        if (embedded()) {
            return EmbeddedClickHouse.shared().httpUrl();
        }
        String u = System.getenv("CLICKHOUSE_URL").trim();
        if (u.startsWith("jdbc:clickhouse:")) {
            u = u.substring("jdbc:clickhouse:".length());
        }
        URI uri = URI.create(u);
        return uri.getScheme() + "://" + uri.getHost() + ":" + (uri.getPort() < 0 ? 8123 : uri.getPort());
    }

    static String user() {
        String u = System.getenv("CLICKHOUSE_USER");
        return u == null ? "default" : u;
    }

    static String password() {
        String p = System.getenv("CLICKHOUSE_PASSWORD");
        return p == null ? "" : p;
    }

    static String jdbcUrl(String database) {
        return "jdbc:clickhouse:" + httpUrl() + "/" + database;
    }

    static Properties props() {
        Properties p = new Properties();
        p.setProperty("user", user());
        p.setProperty("password", password());
        return p;
    }

    static Connection connect(String database) throws SQLException {
        return connect(database, props());
    }

    static Connection connect(String database, Properties p) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database), p);
    }

    /** Creates a fresh database for one test class. */
    static String createDatabase(String prefix) throws SQLException {
        String db = prefix + "_" + ProcessHandle.current().pid() + "_" + DB_SEQ.incrementAndGet();
        try (Connection c = connect("default"); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE IF NOT EXISTS " + db);
        }
        return db;
    }

    static void dropDatabase(String db) throws SQLException {
        try (Connection c = connect("default"); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + db);
        }
    }

    private ClickHouseTarget() {
    }
}
