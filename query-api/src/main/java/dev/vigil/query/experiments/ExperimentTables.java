package dev.vigil.query.experiments;

/**
 * The aggregator's tables the experiment reports read (docs/schema.md, migration 6). The query API
 * reads them by name only; the aggregator owns their DDL, and query-api's tests create them with
 * the aggregator's own migrations, so a rename breaks the build here.
 */
final class ExperimentTables {
    /** One row per exposed unit: {@code stats} = (keys {@link #statsKey}, event counts, sums). */
    static final String UNIT_TOTALS = "vigil_experiment_unit_totals";
    /** Per unit, type and measure: the log-bucket histogram of the event values. */
    static final String UNIT_HIST = "vigil_experiment_unit_hist";
    /** Per variant, type and measure: the event histogram (a materialized view over {@link #UNIT_HIST}). */
    static final String VARIANT_HIST = "vigil_experiment_variant_hist";
    /** Per unit, type, measure and day, assigned or not: the CUPED pre-period. */
    static final String UNIT_DAILY = "vigil_unit_daily";

    /** The SQL of the {@code stats} key of (type, measure) columns, as the aggregator's view computes it. */
    static final String STATS_KEY_OF_COLUMNS = "cityHash64(concat(toString(type), '|', toString(measure)))";

    /** The SQL of the {@code stats} key of a (type, measure) pair. */
    static String statsKey(String type, String measure) {
        return "cityHash64(" + Sql.str(type + "|" + measure) + ")";
    }

    private ExperimentTables() {
    }
}
