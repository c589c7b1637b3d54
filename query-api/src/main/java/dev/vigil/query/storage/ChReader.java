package dev.vigil.query.storage;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.clickhouse.client.api.Client;
import com.clickhouse.client.api.data_formats.ClickHouseBinaryFormatReader;
import com.clickhouse.client.api.query.QueryResponse;
import com.clickhouse.client.api.query.QuerySettings;
import com.clickhouse.data.ClickHouseFormat;
import com.clickhouse.jdbc.ConnectionImpl;

import dev.vigil.promql.engine.QueryException;

/**
 * The query API's read path to ClickHouse: the client behind the ClickHouse JDBC driver (jdbc-v2),
 * used directly so that every value reaches the server as a <b>server-side query parameter</b>
 * ({@code {name:Type}} placeholders sent as {@code param_name}), never spliced into SQL text, and
 * so that every query carries a {@code query_id} that {@link QueryGuard} can kill.
 */
public final class ChReader implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ChReader.class);

    static {
        com.clickhouse.jdbc.Driver.load();
    }

    /** Consumes result rows. */
    @FunctionalInterface
    public interface RowHandler {
        void row(ClickHouseBinaryFormatReader r) throws Exception;
    }

    private final String url;
    private final Connection conn;
    private final Client client;

    public ChReader(String jdbcUrl, String user, String password) throws SQLException {
        this.url = jdbcUrl;
        Properties props = new Properties();
        props.setProperty("user", user == null || user.isEmpty() ? "default" : user);
        props.setProperty("password", password == null ? "" : password);
        props.setProperty("socket_timeout", "300000");
        this.conn = DriverManager.getConnection(jdbcUrl, props);
        this.client = conn.unwrap(ConnectionImpl.class).getClient();
    }

    public String url() {
        return url;
    }

    public Client client() {
        return client;
    }

    /** True when the server answers a trivial query within the timeout. */
    public boolean ping(long timeoutMs) {
        try {
            CompletableFuture<QueryResponse> f = client.query("SELECT 1", new QuerySettings().setFormat(ClickHouseFormat.RowBinaryWithNamesAndTypes));
            try (QueryResponse r = f.get(timeoutMs, TimeUnit.MILLISECONDS)) {
                return true;
            }
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * Runs a SELECT with server-side parameters, streaming rows to {@code handler}. The guard (may be
     * null) registers the query id for cancellation and bounds the server-side execution time.
     */
    public void select(String sql, Map<String, Object> params, QueryGuard guard, RowHandler handler) {
        String queryId = "vigil-q-" + UUID.randomUUID();
        QuerySettings s = new QuerySettings().setFormat(ClickHouseFormat.RowBinaryWithNamesAndTypes).setQueryId(queryId);
        long remaining = guard == null ? 0 : guard.remainingMillis();
        if (guard != null) {
            guard.check();
            if (remaining > 0) {
                s.serverSetting("max_execution_time", String.valueOf(Math.max(1, (remaining + 999) / 1000)));
            }
        }
        CompletableFuture<QueryResponse> f;
        try {
            f = client.query(sql, escapeParams(params), s);
        } catch (RuntimeException e) {
            // the client may fail before it returns a future (its retries exhausted in the caller's thread): an
            // unreachable ClickHouse is 503 unavailable, not a 500 "internal"
            throw new StorageException("ClickHouse query failed: " + e.getMessage(), e);
        }
        if (guard != null) {
            guard.register(queryId, f, this);
        }
        try {
            QueryResponse resp = remaining > 0 ? f.get(remaining, TimeUnit.MILLISECONDS) : f.get();
            try (resp) {
                ClickHouseBinaryFormatReader r = client.newBinaryFormatReader(resp);
                while (r.hasNext()) {
                    r.next();
                    handler.row(r);
                    if (guard != null) {
                        guard.check();
                    }
                }
            }
        } catch (TimeoutException e) {
            f.cancel(true);
            kill(queryId);
            throw new QueryException(QueryException.Kind.TIMEOUT, "query timed out while reading from ClickHouse");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel(true);
            kill(queryId);
            throw new QueryException(QueryException.Kind.CANCELED, "query was canceled");
        } catch (QueryException e) {
            kill(queryId);
            throw e;
        } catch (ExecutionException | java.util.concurrent.CancellationException e) {
            if (guard != null) {
                guard.check();
            }
            Throwable c = e.getCause() == null ? e : e.getCause();
            throw new StorageException("ClickHouse query failed: " + c.getMessage(), c);
        } catch (Exception e) {
            if (guard != null) {
                guard.check();
            }
            throw new StorageException("ClickHouse query failed: " + e.getMessage(), e);
        } finally {
            if (guard != null) {
                guard.unregister(queryId);
            }
        }
    }

    /**
     * ClickHouse reads {@code param_*} values of String parameters in its escaped (TSV) text format,
     * so a backslash would start an escape sequence: escape them, so the server sees the exact value.
     */
    static Map<String, Object> escapeParams(Map<String, Object> params) {
        Map<String, Object> out = new java.util.HashMap<>(params.size() * 2);
        params.forEach((k, v) -> out.put(k, v instanceof String str ? escape(str) : v));
        return out;
    }

    static String escape(String v) {
        StringBuilder sb = new StringBuilder(v.length() + 8);
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '\t' -> sb.append("\\t");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\0' -> sb.append("\\0");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Best effort: asks the server to stop a running query (a real ClickHouse server honours it). */
    public void kill(String queryId) {
        try {
            client.execute("KILL QUERY WHERE query_id = {qid:String} ASYNC", Map.of("qid", queryId))
                    .orTimeout(2, TimeUnit.SECONDS)
                    .whenComplete((r, e) -> {
                        if (r != null) {
                            try {
                                r.close();
                            } catch (Exception ignored) {
                                // nothing to release
                            }
                        }
                        if (e != null) {
                            log.debug("kill query failed query_id={} error={}", queryId, e.toString());
                        }
                    });
        } catch (RuntimeException e) {
            log.debug("kill query failed query_id={} error={}", queryId, e.toString());
        }
    }

    /** Runs a statement (DDL, tests). */
    public void execute(String sql, Map<String, Object> params) {
        try (var r = client.execute(sql, escapeParams(params)).get(300, TimeUnit.SECONDS)) {
            // done
        } catch (Exception e) {
            throw new StorageException("ClickHouse statement failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            conn.close();
        } catch (SQLException e) {
            log.debug("close failed: {}", e.toString());
        }
    }

    /** A storage failure (ClickHouse unreachable or query error): HTTP 503 / "unavailable". */
    public static final class StorageException extends RuntimeException {
        public StorageException(String msg, Throwable cause) {
            super(msg, cause);
        }
    }
}
