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
 * in no other part are already one row per unit and are read as they are (with no other part at
 * all, that is the whole statement); only the rest (rows of
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

    /**
     * The parts a statement should treat specially: the largest merged part, and whether any other
     * active part exists (if not, every row is already one unit and nothing needs grouping).
     */
    record Parts(String bigPart, boolean othersExist) {
        static final Parts NONE = new Parts(null, true);
    }

    /** The parts of {@code table} in the current database (one cheap query on system.parts). */
    static Parts parts(DataSource ds, String table) throws SQLException {
        String sql = "SELECT argMaxIf(name, rows, level > 0), countIf(level > 0), count() FROM system.parts "
                + "WHERE active AND database = currentDatabase() AND table = " + Sql.str(table);
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            if (!rs.next() || rs.getLong(2) == 0) return Parts.NONE;
            return new Parts(rs.getString(1), rs.getLong(3) > 1);
        }
    }

    /** A query over per-unit rows, built for given parts. */
    interface PartsQuery<T> {
        T run(Parts parts) throws SQLException;
    }

    /**
     * Runs {@code statement} for the current parts of {@code table}. The fast form (a single merged
     * part, read without any grouping) is only right if that part was still the only one when the
     * statement took its snapshot of parts: checked after the fact (a part that became inactive never
     * comes back, so the same state before and after means the same state at the snapshot), and run
     * again in the general form otherwise.
     */
    static <T> T run(DataSource ds, String table, PartsQuery<T> statement) throws SQLException {
        Parts before = parts(ds, table);
        T result = statement.run(before);
        if (before.bigPart() != null && !before.othersExist() && !parts(ds, table).equals(before))
            result = statement.run(new Parts(before.bigPart(), true));
        return result;
    }

    /**
     * A subquery (no parentheses) with columns {@code experiment, variant, unit_id} and one column
     * per value, one row per unit (tenant, experiment, variant, unit_id) of the rows {@code where}
     * selects.
     */
    static String sql(String table, String where, List<Value> values, Parts parts) {
        String key = "cityHash64(experiment, variant, unit_id)";
        StringJoiner perRow = new StringJoiner(", "), merged = new StringJoiner(", ");
        for (Value v : values) {
            perRow.add(v.expr() + " AS " + v.name());
            merged.add(v.merge() + "(" + v.name() + ") AS " + v.name());
        }
        String rows = "SELECT experiment, variant, unit_id, " + key + " AS unit_key, " + perRow + " FROM " + table + " WHERE " + where;
        // the grouped form around any row source
        java.util.function.UnaryOperator<String> grouped = from -> "SELECT any(experiment) AS experiment, any(variant) AS variant, "
                + "any(unit_id) AS unit_id, " + merged + "\n    FROM (" + from + ")\n    GROUP BY unit_key";
        if (parts.bigPart() == null) return grouped.apply(rows);
        String big = Sql.str(parts.bigPart());
        String unique = "SELECT experiment, variant, unit_id, " + perRow + " FROM " + table + " WHERE " + where + " AND _part = " + big;
        if (!parts.othersExist()) return unique;
        // _part conditions prune whole parts before reading
        String others = "SELECT " + key + " FROM " + table + " WHERE " + where + " AND _part != " + big;
        return unique + " AND " + key + " NOT IN (" + others + ")\n  UNION ALL\n  "
                + grouped.apply(rows + " AND _part != " + big + "\n          UNION ALL " + rows + " AND _part = " + big
                + " AND " + key + " IN (" + others + ")");
    }
}
