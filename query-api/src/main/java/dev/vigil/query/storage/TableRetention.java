package dev.vigil.query.storage;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.schema.TtlClause;

/**
 * How long the rollup tables keep their rows, as their TTLs say (the aggregator sets them from its
 * {@code aggregator.retention.*} keys): read from {@code system.tables} and re-read once a minute, so
 * a changed retention reaches the query API without a restart. Until the first read succeeds, and for
 * a table whose TTL is not of the shape the aggregator writes, the shipped defaults hold.
 */
public final class TableRetention {
    private static final Logger log = LoggerFactory.getLogger(TableRetention.class);

    public static final String ROLLUP_10S = "vigil_rollup_10s";
    public static final String ROLLUP_1M = "vigil_rollup_1m";
    public static final String ROLLUP_1H = "vigil_rollup_1h";
    /** The migrations' TTLs (aggregator.retention.* defaults). */
    static final Map<String, Duration> DEFAULTS = Map.of(ROLLUP_10S, Duration.ofDays(7), ROLLUP_1M, Duration.ofDays(90),
            ROLLUP_1H, Duration.ofDays(730));
    static final String SQL = "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN ('"
            + ROLLUP_10S + "', '" + ROLLUP_1M + "', '" + ROLLUP_1H + "')";
    private static final long REFRESH_MS = 60_000L;

    private final Supplier<Map<String, String>> engines;
    private final LongSupplier clock;
    private volatile Map<String, Duration> current = DEFAULTS;
    private volatile boolean loaded;
    private volatile long loadedAt;

    /** @param engines reads {@code system.tables}: table name to {@code engine_full} */
    public TableRetention(Supplier<Map<String, String>> engines, LongSupplier clock) {
        this.engines = engines;
        this.clock = clock;
    }

    /** Through the query API's ClickHouse reader. */
    public static TableRetention of(ChReader ch, LongSupplier clock) {
        return new TableRetention(() -> {
            Map<String, String> m = new HashMap<>();
            ch.select(SQL, Map.of(), null, r -> m.put(r.getString("name"), r.getString("engine_full")));
            return m;
        }, clock);
    }

    /** Through JDBC (the ML-health module's data source). */
    public static TableRetention of(DataSource ds, LongSupplier clock) {
        return new TableRetention(() -> {
            Map<String, String> m = new HashMap<>();
            try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(SQL)) {
                while (rs.next()) {
                    m.put(rs.getString(1), rs.getString(2));
                }
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
            return m;
        }, clock);
    }

    /** The retention of {@code table} (one of the rollup tables). */
    public Duration of(String table) {
        long now = clock.getAsLong();
        if (!loaded || now - loadedAt >= REFRESH_MS) {
            refresh(now);
        }
        Duration d = current.get(table);
        if (d == null) {
            throw new IllegalArgumentException("not a rollup table: " + table);
        }
        return d;
    }

    private synchronized void refresh(long now) {
        if (loaded && now - loadedAt < REFRESH_MS) {
            return; // another thread has just read it
        }
        loaded = true;
        loadedAt = now; // a failed read is retried a minute later, not by every query in between
        try {
            Map<String, String> got = engines.get();
            Map<String, Duration> next = new HashMap<>(DEFAULTS);
            for (Map.Entry<String, String> e : got.entrySet()) {
                TtlClause.parse(e.getValue()).ifPresent(t -> next.put(e.getKey(), t.retention()));
            }
            if (!next.equals(current)) {
                log.info("event=retention_read tables={}", next);
            }
            current = Map.copyOf(next);
        } catch (RuntimeException e) {
            log.warn("event=retention_read_failed error=\"{}\" (keeping {})", e.getMessage(), current);
        }
    }
}
