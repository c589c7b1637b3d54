package dev.vigil.query.experiments;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Properties;
import java.util.logging.Logger;

import javax.sql.DataSource;

/**
 * The simplest {@link DataSource} over the ClickHouse JDBC driver (jdbc-v2): every
 * {@link #getConnection()} opens a new connection to {@code url}. Enough for the ML-health and
 * experiment modules, which open one connection per request; a pooled DataSource works as well.
 */
public final class JdbcDataSource implements DataSource {
    static {
        com.clickhouse.jdbc.Driver.load();
    }

    private final String url;
    private final Properties props = new Properties();

    public JdbcDataSource(String url, String user, String password) {
        this.url = url;
        props.setProperty("user", user == null || user.isEmpty() ? "default" : user);
        props.setProperty("password", password == null ? "" : password);
        props.setProperty("socket_timeout", "120000");
    }

    public String url() {
        return url;
    }

    @Override
    public Connection getConnection() throws SQLException {
        return DriverManager.getConnection(url, props);
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        Properties p = new Properties();
        p.putAll(props);
        p.setProperty("user", username);
        p.setProperty("password", password == null ? "" : password);
        return DriverManager.getConnection(url, p);
    }

    @Override
    public PrintWriter getLogWriter() {
        return null;
    }

    @Override
    public void setLogWriter(PrintWriter out) {
    }

    @Override
    public void setLoginTimeout(int seconds) {
    }

    @Override
    public int getLoginTimeout() {
        return 0;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException();
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        if (iface.isInstance(this)) return iface.cast(this);
        throw new SQLException("not a wrapper for " + iface);
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) {
        return iface.isInstance(this);
    }
}
