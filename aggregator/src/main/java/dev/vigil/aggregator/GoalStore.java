package dev.vigil.aggregator;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The declared goal state (jobs and tenant limits) kept in ClickHouse table
 * {@code vigil_goal_state} with every version: the current state of a name is its highest
 * version unless that version is a deletion. Every aggregator instance reads the same table, so
 * all instances converge to it, and a restart rebuilds from it.
 */
public final class GoalStore {
    public static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** One stored version. */
    public record Entry(String kind, String name, long version, boolean deleted, String spec, String updatedAt, String updatedBy) {
    }

    private final ClickHouse ch;
    private long lastVersion;

    public GoalStore(ClickHouse ch) {
        this.ch = ch;
    }

    /** Current (non-deleted) entries of a kind, by name. */
    public Map<String, Entry> current(String kind) throws Exception {
        Map<String, Entry> out = new LinkedHashMap<>();
        for (Map<String, Object> r : ch.query("SELECT name, max(version) AS v, argMax(deleted, version) AS d, argMax(spec, version) AS s, "
                + "toString(argMax(updated_at, version)) AS at, argMax(updated_by, version) AS by FROM " + Migrations.GOAL_STATE
                + " WHERE kind = " + ClickHouse.q(kind) + " GROUP BY name ORDER BY name")) {
            boolean deleted = ((Number) r.get("d")).intValue() != 0;
            if (!deleted) {
                String name = (String) r.get("name");
                out.put(name, new Entry(kind, name, ((Number) r.get("v")).longValue(), false, (String) r.get("s"),
                        String.valueOf(r.get("at")), (String) r.get("by")));
            }
        }
        return out;
    }

    public List<Entry> history(String kind, String name) throws Exception {
        List<Entry> out = new ArrayList<>();
        for (Map<String, Object> r : ch.query("SELECT version, deleted, spec, toString(updated_at) AS at, updated_by FROM " + Migrations.GOAL_STATE
                + " WHERE kind = " + ClickHouse.q(kind) + " AND name = " + ClickHouse.q(name) + " ORDER BY version")) {
            out.add(new Entry(kind, name, ((Number) r.get("version")).longValue(), ((Number) r.get("deleted")).intValue() != 0,
                    (String) r.get("spec"), String.valueOf(r.get("at")), (String) r.get("updated_by")));
        }
        return out;
    }

    public boolean anyEver(String kind) throws Exception {
        Long n = ch.queryLong("SELECT count() FROM " + Migrations.GOAL_STATE + " WHERE kind = " + ClickHouse.q(kind));
        return n != null && n > 0;
    }

    /** Stores a new version; returns it. Versions are microseconds since the epoch, increasing per process. */
    public synchronized long put(String kind, String name, String spec, boolean deleted, String by) throws Exception {
        Long max = ch.queryLong("SELECT max(version) FROM " + Migrations.GOAL_STATE + " WHERE kind = " + ClickHouse.q(kind)
                + " AND name = " + ClickHouse.q(name) + " HAVING count() > 0");
        long v = Math.max(System.currentTimeMillis() * 1000, Math.max(lastVersion, max == null ? 0 : max) + 1);
        lastVersion = v;
        ch.execute("INSERT INTO " + Migrations.GOAL_STATE + " (kind, name, version, deleted, spec, updated_at, updated_by) VALUES ("
                + ClickHouse.q(kind) + ", " + ClickHouse.q(name) + ", " + v + ", " + (deleted ? 1 : 0) + ", " + ClickHouse.q(spec)
                + ", now64(3), " + ClickHouse.q(by) + ")");
        return v;
    }
}
