package dev.vigil.query.experiments;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.StringJoiner;

import javax.sql.DataSource;

/**
 * One row per unit from a per-unit AggregatingMergeTree table ({@code vigil_experiment_unit_totals},
 * {@code vigil_experiment_unit_hist}) without {@code FINAL} and, mostly, without a per-unit GROUP BY.
 *
 * <p>Why not {@code FINAL}: as soon as one recent part holds some of the units (always, while the
 * aggregator writes), the ranges of the big part intersect it nearly everywhere and {@code FINAL}
 * merges every row with the aggregate functions' merge (sumMap on arrays): on 1 M units with a 10 %
 * unmerged part, 3 s instead of 0.3 s. A per-unit GROUP BY of every row costs 0.8 s whatever the
 * state.
 *
 * <p>What is used instead: a part produced by a merge (level &gt; 0) holds each key once, because
 * the merge aggregated all rows of a key. So the rows of the largest merged part whose unit appears
 * in no other part are already one row per unit and are read as they are; only the rest (rows of
 * other parts, and the big part's rows of the units they also hold) is grouped per unit. With the
 * table mostly merged that is a small fraction; without a merged part everything is grouped. Parts
 * seen by the query are a consistent snapshot, so a merge replacing the big part meanwhile only
 * moves its rows to the grouped side.
 */
final class PerUnitRows {
    /**
     * A per-unit value: {@code expr} over one row, combined across rows of a unit by {@code merge}
     * ({@code sum} or {@code sumForEach}).
     */
    record Value(String name, String expr, String merge) {
        static Value sum(String name, String expr) {
            return new Value(name, expr, "sum");
        }
    }

    private PerUnitRows() {
    }

    /** The largest merged part of {@code table} in the current database, or null if none is merged yet. */
    static String largestMergedPart(DataSource ds, String table) throws SQLException {
        String sql = "SELECT name FROM system.parts WHERE active AND database = currentDatabase() AND table = " + Sql.str(table)
                + " AND level > 0 ORDER BY rows DESC LIMIT 1";
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    /**
     * A subquery (no parentheses) with columns {@code experiment, variant, unit_id} and one column
     * per value, one row per unit (tenant, experiment, variant, unit_id) of the rows {@code where}
     * selects.
     *
     * @param bigPart the table's largest merged part ({@link #largestMergedPart}), or null
     */
    static String sql(String table, String where, List<Value> values, String bigPart) {
        String key = "cityHash64(experiment, variant, unit_id)";
        StringJoiner perRow = new StringJoiner(", "), merged = new StringJoiner(", ");
        for (Value v : values) {
            perRow.add(v.expr() + " AS " + v.name());
            merged.add(v.merge() + "(" + v.name() + ") AS " + v.name());
        }
        String grouped = "SELECT any(experiment) AS experiment, any(variant) AS variant, any(unit_id) AS unit_id, " + merged + "\n"
                + "    FROM (SELECT experiment, variant, unit_id, " + key + " AS unit_key, " + perRow + " FROM " + table + "\n"
                + "          WHERE " + where + "%s)\n"
                + "    GROUP BY unit_key";
        if (bigPart == null) return grouped.formatted("");
        String others = "SELECT " + key + " FROM " + table + " WHERE " + where + " AND _part != " + Sql.str(bigPart);
        return "SELECT experiment, variant, unit_id, " + perRow + " FROM " + table + "\n"
                + "    WHERE " + where + " AND _part = " + Sql.str(bigPart) + " AND " + key + " NOT IN (" + others + ")\n"
                + "  UNION ALL\n  "
                + grouped.formatted(" AND (_part != " + Sql.str(bigPart) + " OR " + key + " IN (" + others + "))");
    }
}
