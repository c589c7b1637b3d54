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
 * A small pooled {@link DataSource} over the ClickHouse JDBC driver (jdbc-v2). Opening a jdbc-v2
 * connection builds an HTTP client, which costs tens of milliseconds, so closed connections go
 * back to an idle pool (at most {@link #MAX_IDLE}) instead of being closed. Enough for the ML-health
 * and experiment modules, which use one connection per request; any other DataSource works as well.
 */
public final class JdbcDataSource implements DataSource {
    static {
        com.clickhouse.jdbc.Driver.load();
    }

    static final int MAX_IDLE = 8;

    private final String url;
    private final Properties props = new Properties();
    private final java.util.concurrent.ConcurrentLinkedDeque<Connection> idle = new java.util.concurrent.ConcurrentLinkedDeque<>();

    public JdbcDataSource(String url, String user, String password) {
        this.url = url;
        props.setProperty("user", user == null || user.isEmpty() ? "default" : user);
        props.setProperty("password", password == null ? "" : password);
        props.setProperty("socket_timeout", "120000");
    }

    /** As above with extra driver properties (e.g. {@code socket_timeout} in ms). */
    public JdbcDataSource(String url, String user, String password, Properties extra) {
        this(url, user, password);
        props.putAll(extra);
    }

    public String url() {
        return url;
    }

    @Override
    public Connection getConnection() throws SQLException {
        Connection c;
        while ((c = idle.pollFirst()) != null) {
            if (!c.isClosed()) return pooled(c);
        }
        return pooled(DriverManager.getConnection(url, props));
    }

    /** A proxy whose close() returns the connection to the idle pool. */
    private Connection pooled(Connection real) {
        boolean[] closed = {false};
        return (Connection) java.lang.reflect.Proxy.newProxyInstance(Connection.class.getClassLoader(),
                new Class<?>[]{Connection.class}, (proxy, m, args) -> {
                    switch (m.getName()) {
                        case "close" -> {
                            if (!closed[0]) {
                                closed[0] = true;
                                if (real.isClosed() || idle.size() >= MAX_IDLE) real.close();
                                else idle.offerFirst(real);
                            }
                            return null;
                        }
                        case "isClosed" -> {
                            return closed[0] || real.isClosed();
                        }
                        default -> {
                            if (closed[0] && !m.getName().equals("toString") && !m.getName().equals("hashCode"))
                                throw new SQLException("connection is closed");
                            try {
                                return m.invoke(real, args);
                            } catch (java.lang.reflect.InvocationTargetException e) {
                                throw e.getCause();
                            }
                        }
                    }
                });
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
