package dev.vigil.query.storage;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.schema.Retentions;
import dev.vigil.common.schema.TtlClause;

/**
 * From when on each rollup table holds every row there is: its TTL (the aggregator sets it from its
 * {@code aggregator.retention.*} keys) less a margin, and, if the table has dropped rows that the next coarser table
 * still holds, its oldest row. The second matters after a retention was made longer: the new TTL keeps rows longer
 * from now on, but what the old one dropped is gone, so for a while the table holds less than its TTL says. Read
 * from {@code system.tables} and {@code system.parts} and re-read once a minute (a changed retention reaches the query
 * API without a restart); until the first read succeeds, and for a table whose TTL is not of the shape the aggregator
 * writes, the shipped defaults hold (logged).
 */
public final class TableRetention {
    private static final Logger log = LoggerFactory.getLogger(TableRetention.class);

    public static final String ROLLUP_10S = Retentions.ROLLUP_10S;
    public static final String ROLLUP_1M = Retentions.ROLLUP_1M;
    public static final String ROLLUP_1H = Retentions.ROLLUP_1H;
    private static final List<String> TABLES = List.of(ROLLUP_10S, ROLLUP_1M, ROLLUP_1H);
    static final String TABLES_SQL = "SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN ('"
            + ROLLUP_10S + "', '" + ROLLUP_1M + "', '" + ROLLUP_1H + "')";
    /** min_time: the smallest bucket of a part (the partition key's time column). */
    static final String PARTS_SQL = "SELECT table, toInt64(toUnixTimestamp(min(min_time))) * 1000 AS oldest FROM system.parts"
            + " WHERE database = currentDatabase() AND active AND rows > 0 AND table IN ('" + ROLLUP_10S + "', '" + ROLLUP_1M + "', '"
            + ROLLUP_1H + "') GROUP BY table";
    private static final long REFRESH_MS = 60_000L;
    /** How much older the coarser table's oldest row must be to say the finer one dropped rows: its buckets truncate times to the hour. */
    private static final long SLACK_MS = 3_600_000L;
    /** The longest a refresh may take; queries meanwhile use what was read before. */
    static final int READ_TIMEOUT_S = 5;

    /** What one read found: each table's engine_full and oldest bucket (epoch ms; absent: no rows). */
    public record Read(Map<String, String> engines, Map<String, Long> oldest) {
    }

    private record State(Map<String, Duration> ttl, Map<String, Long> oldest) {
    }

    private final Supplier<Read> reader;
    private final LongSupplier clock;
    private final ReentrantLock refreshing = new ReentrantLock();
    private volatile State state = new State(defaults(), Map.of());
    private volatile boolean loaded;
    private volatile long loadedAt;
    private volatile String lastProblems = "";

    /** @param reader reads {@code system.tables} and {@code system.parts} (see {@link Read}) */
    public TableRetention(Supplier<Read> reader, LongSupplier clock) {
        this.reader = reader;
        this.clock = clock;
    }

    private static Map<String, Duration> defaults() {
        Map<String, Duration> m = new HashMap<>();
        for (String t : TABLES) {
            m.put(t, Retentions.DEFAULTS.get(t));
        }
        return Map.copyOf(m);
    }

    /** Through the query API's ClickHouse reader. */
    public static TableRetention of(ChReader ch, LongSupplier clock) {
        return new TableRetention(() -> {
            Map<String, String> engines = new HashMap<>();
            Map<String, Long> oldest = new HashMap<>();
            ch.select(TABLES_SQL, Map.of(), new QueryGuard(READ_TIMEOUT_S * 1000L, 0, 0), r -> engines.put(r.getString("name"), r.getString("engine_full")));
            ch.select(PARTS_SQL, Map.of(), new QueryGuard(READ_TIMEOUT_S * 1000L, 0, 0), r -> oldest.put(r.getString("table"), r.getLong("oldest")));
            return new Read(engines, oldest);
        }, clock);
    }

    /** Through JDBC (the ML-health module's data source). */
    public static TableRetention of(DataSource ds, LongSupplier clock) {
        return new TableRetention(() -> {
            Map<String, String> engines = new HashMap<>();
            Map<String, Long> oldest = new HashMap<>();
            try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                s.setQueryTimeout(READ_TIMEOUT_S);
                try (ResultSet rs = s.executeQuery(TABLES_SQL)) {
                    while (rs.next()) {
                        engines.put(rs.getString(1), rs.getString(2));
                    }
                }
                try (ResultSet rs = s.executeQuery(PARTS_SQL)) {
                    while (rs.next()) {
                        oldest.put(rs.getString(1), rs.getLong(2));
                    }
                }
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
            return new Read(engines, oldest);
        }, clock);
    }

    /** The retention of {@code table} (one of the rollup tables) as its TTL says. */
    public Duration of(String table) {
        return ttl(current(), table);
    }

    private static Duration ttl(State s, String table) {
        Duration d = s.ttl.get(table);
        if (d == null) {
            throw new IllegalArgumentException("not a rollup table: " + table);
        }
        return d;
    }

    /**
     * The earliest time (epoch ms) from which {@code table} holds every row the aggregator stored: now less its
     * retention and a margin ({@code margin}, at most a tenth of the retention: clocks differ, and the TTL is read
     * once a minute), and no earlier than its oldest row if the next coarser table holds older ones (it dropped them).
     */
    public long completeSince(String table, long margin) {
        State s = current();
        long now = clock.getAsLong();
        long kept = ttl(s, table).toMillis(); // the same read as the oldest rows below
        long since = now - kept + Math.min(margin, kept / 10);
        String coarser = ROLLUP_10S.equals(table) ? ROLLUP_1M : ROLLUP_1M.equals(table) ? ROLLUP_1H : null;
        Long oldest = s.oldest.get(table);
        Long coarserOldest = coarser == null ? null : s.oldest.get(coarser);
        if (oldest != null && coarserOldest != null && coarserOldest < oldest - SLACK_MS) {
            since = Math.max(since, oldest);
        }
        return since;
    }

    private State current() {
        long now = clock.getAsLong();
        if ((!loaded || now - loadedAt >= REFRESH_MS) && refreshing.tryLock()) { // never blocks a query: others use what was read
            try {
                if (!loaded || now - loadedAt >= REFRESH_MS) {
                    refresh(now);
                }
            } finally {
                refreshing.unlock();
            }
        }
        return state;
    }

    private void refresh(long now) {
        loaded = true;
        loadedAt = now; // a failed read is retried a minute later, not by every query in between
        try {
            Read got = reader.get();
            Map<String, Duration> ttl = new HashMap<>(defaults());
            List<String> problems = new ArrayList<>();
            for (String t : TABLES) {
                String engine = got.engines().get(t);
                if (engine == null) {
                    problems.add(t + " not found");
                    continue;
                }
                TtlClause.parse(engine).ifPresentOrElse(x -> ttl.put(t, x.retention()),
                        () -> problems.add(t + " has a TTL of another shape (" + engine + ")"));
            }
            State next = new State(Map.copyOf(ttl), Map.copyOf(got.oldest()));
            if (!next.ttl.equals(state.ttl)) {
                log.info("event=retention_read tables={}", next.ttl);
            }
            String p = String.join("; ", problems);
            if (!p.isEmpty() && !p.equals(lastProblems)) {
                log.warn("event=retention_unknown tables=\"{}\" (assuming the shipped defaults for them)", p);
            }
            lastProblems = p;
            state = next;
        } catch (RuntimeException e) {
            log.warn("event=retention_read_failed error=\"{}\" (keeping {})", e.getMessage(), state.ttl);
        }
    }
}
