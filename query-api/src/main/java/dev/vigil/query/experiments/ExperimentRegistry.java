package dev.vigil.query.experiments;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import com.fasterxml.jackson.core.JsonProcessingException;

/**
 * The stored goal state of experiments: table {@code vigil_experiments}, one row per definition
 * version, every version kept (a delete is a new version with {@code deleted = 1}). The current
 * definition of an experiment is its highest version unless that version is a delete.
 *
 * <p>Versions are assigned as max + 1 under a lock of this process; two query-API instances
 * writing the same experiment at the same instant could both pick the same version (the later row
 * then wins on read by {@code created_at}). Reads of the current definitions are cached for
 * {@link #CACHE_TTL} and invalidated by this instance's writes.
 */
public final class ExperimentRegistry {
    public static final String TABLE = "vigil_experiments";
    public static final String DDL = """
            CREATE TABLE IF NOT EXISTS vigil_experiments
            (
                tenant LowCardinality(String),
                id String,
                version UInt64,
                deleted UInt8,
                definition_json String,
                created_at DateTime64(3, 'UTC')
            )
            ENGINE = MergeTree
            ORDER BY (tenant, id, version)""";
    static final Duration CACHE_TTL = Duration.ofSeconds(5);

    /** One stored version. */
    public record Version(String id, long version, boolean deleted, String definitionJson, Instant createdAt) {
    }

    private record Cached(long loadedAtMs, Map<String, ExperimentSpec> current) {
    }

    private final DataSource ds;
    private final Clock clock;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    private volatile boolean tableReady;

    public ExperimentRegistry(DataSource ds, Clock clock) {
        this.ds = ds;
        this.clock = clock;
    }

    /** Creates the table (idempotent). Called lazily before the first read or write. */
    public void ensureTable() throws SQLException {
        if (tableReady) return;
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute(DDL);
        }
        tableReady = true;
    }

    /** Stores a new version of {@code id}; returns it. {@code body} is the API JSON (see {@link ExperimentSpec}). */
    public synchronized ExperimentSpec put(String tenant, String id, byte[] body) throws SQLException, JsonProcessingException {
        ensureTable();
        long next = latestVersion(tenant, id) + 1;
        ExperimentSpec spec = ExperimentSpec.parse(id, next, body);
        List<String> problems = new ArrayList<>(spec.definition().validate());
        problems.addAll(spec.sourceProblems());
        if (!problems.isEmpty()) throw new InvalidExperimentException(problems);
        insert(tenant, id, next, false, spec.json());
        cache.remove(tenant);
        return spec;
    }

    /** Marks {@code id} deleted (a new version); false when it does not exist. */
    public synchronized boolean delete(String tenant, String id) throws SQLException {
        ensureTable();
        if (get(tenant, id) == null) return false;
        insert(tenant, id, latestVersion(tenant, id) + 1, true, "");
        cache.remove(tenant);
        return true;
    }

    /** Current (non-deleted) definitions of the tenant, by id (sorted). */
    public Map<String, ExperimentSpec> current(String tenant) throws SQLException {
        long now = System.nanoTime() / 1_000_000;
        Cached c = cache.get(tenant);
        if (c != null && now - c.loadedAtMs < CACHE_TTL.toMillis()) return c.current;
        ensureTable();
        Map<String, ExperimentSpec> out = new java.util.TreeMap<>();
        String sql = "SELECT id, version, deleted, definition_json FROM " + TABLE + " WHERE tenant = " + Sql.str(tenant)
                + " ORDER BY id, version DESC, created_at DESC LIMIT 1 BY id";
        try (Connection conn = ds.getConnection(); Statement s = conn.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                if (rs.getInt(3) == 1) continue;
                try {
                    out.put(rs.getString(1), ExperimentSpec.fromStored(rs.getString(4)));
                } catch (JsonProcessingException | RuntimeException e) {
                    throw new SQLException("stored definition of experiment '" + rs.getString(1) + "' version "
                            + rs.getLong(2) + " is unreadable: " + e.getMessage(), e);
                }
            }
        }
        Map<String, ExperimentSpec> frozen = java.util.Collections.unmodifiableMap(out);
        cache.put(tenant, new Cached(now, frozen));
        return frozen;
    }

    /** The current definition of {@code id}, or null. */
    public ExperimentSpec get(String tenant, String id) throws SQLException {
        return current(tenant).get(id);
    }

    /** Every stored version of {@code id}, oldest first. */
    public List<Version> history(String tenant, String id) throws SQLException {
        ensureTable();
        List<Version> out = new ArrayList<>();
        String sql = "SELECT id, version, deleted, definition_json, toUnixTimestamp64Milli(created_at) FROM " + TABLE
                + " WHERE tenant = " + Sql.str(tenant) + " AND id = " + Sql.str(id) + " ORDER BY version, created_at";
        try (Connection conn = ds.getConnection(); Statement s = conn.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next())
                out.add(new Version(rs.getString(1), rs.getLong(2), rs.getInt(3) == 1, rs.getString(4),
                        Instant.ofEpochMilli(rs.getLong(5))));
        }
        return out;
    }

    private long latestVersion(String tenant, String id) throws SQLException {
        String sql = "SELECT max(version) FROM " + TABLE + " WHERE tenant = " + Sql.str(tenant) + " AND id = " + Sql.str(id);
        try (Connection conn = ds.getConnection(); Statement s = conn.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getLong(1) : 0;
        }
    }

    private void insert(String tenant, String id, long version, boolean deleted, String json) throws SQLException {
        String sql = "INSERT INTO " + TABLE + " (tenant, id, version, deleted, definition_json, created_at) VALUES ("
                + Sql.str(tenant) + ", " + Sql.str(id) + ", " + version + ", " + (deleted ? 1 : 0) + ", " + Sql.str(json)
                + ", " + Sql.dateTime64(clock.instant()) + ")";
        try (Connection conn = ds.getConnection(); Statement s = conn.createStatement()) {
            s.execute(sql);
        }
    }

    /** A definition that fails validation; {@link #problems()} lists each problem in plain words. */
    public static final class InvalidExperimentException extends IllegalArgumentException {
        private final List<String> problems;

        InvalidExperimentException(List<String> problems) {
            super("invalid experiment definition: " + String.join("; ", problems));
            this.problems = List.copyOf(problems);
        }

        public List<String> problems() {
            return problems;
        }
    }
}
