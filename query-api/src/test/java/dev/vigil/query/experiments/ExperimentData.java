package dev.vigil.query.experiments;

import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Writes rows exactly as docs/schema.md says the aggregator does: per event carrying a unit and an
 * assignment, a {@code vigil_exposures} row and {@code vigil_experiment_units} rows (one with
 * {@code measure = ''}, count = sum = events, and one per measure, summed per unit and day; the
 * materialized view then keeps {@code vigil_experiment_unit_totals}), the values of each measure in
 * the unit's {@code vigil_experiment_unit_hist} histogram; and per event with a unit, assigned or
 * not, {@code vigil_unit_daily} rows.
 */
final class ExperimentData {
    private final JdbcDataSource ds;
    private final List<String> units = new ArrayList<>();
    private final List<String> exposures = new ArrayList<>();
    private final List<String> hists = new ArrayList<>();
    private final List<String> daily = new ArrayList<>();

    ExperimentData(JdbcDataSource ds) {
        this.ds = ds;
    }

    /** The exposure of a unit: the event that carried the assignment (type "exposure") is counted with the unit's rows. */
    void exposure(String tenant, String exp, String variant, String unit, Instant first, Instant last, long events) {
        LocalDate day = LocalDate.ofInstant(first, ZoneOffset.UTC);
        unitRow(tenant, exp, variant, "exposure", "", unit, day, 1, 1, 1);
        dailyRow(tenant, "exposure", "", unit, day, 1, 1);
        exposures.add("(" + Sql.str(tenant) + "," + Sql.str(exp) + "," + Sql.str(variant) + "," + Sql.str(unit) + ","
                + Sql.dateTime64(first) + "," + Sql.dateTime64(last) + "," + events + ")");
    }

    /** One unit-day row for (type, measure); values are the event-level values of that measure. */
    void unitRow(String tenant, String exp, String variant, String type, String measure, String unit, LocalDate day,
                 double[] values) {
        double sum = 0, sq = 0;
        for (double v : values) {
            sum += v;
            sq += v * v;
        }
        unitRow(tenant, exp, variant, type, measure, unit, day, values.length, sum, sq);
        dailyRow(tenant, type, measure, unit, day, values.length, sum);
        java.util.TreeMap<Integer, Long> h = new java.util.TreeMap<>();
        for (double v : values) h.merge(dev.vigil.common.histogram.LogBuckets.key(v), 1L, Long::sum);
        StringBuilder m = new StringBuilder("map(");
        h.forEach((k, c) -> m.append(m.length() > 4 ? "," : "").append(k).append(',').append(c));
        hists.add("(" + Sql.str(tenant) + "," + Sql.str(exp) + "," + Sql.str(variant) + "," + Sql.str(type) + ","
                + Sql.str(measure) + "," + Sql.str(unit) + ",'" + day + "'," + m + "))");
    }

    void dailyRow(String tenant, String type, String measure, String unit, LocalDate day, long count, double sum) {
        daily.add("(" + Sql.str(tenant) + "," + Sql.str(type) + "," + Sql.str(measure) + "," + Sql.str(unit) + ",'" + day + "',"
                + count + "," + sum + ")");
    }

    /** Events of a unit that carry no assignment (e.g. before its exposure): only the experiment-independent daily rows. */
    void unassignedEvents(String tenant, String type, String unit, LocalDate day, String[] measures, double[][] valuesPerMeasure) {
        int n = valuesPerMeasure.length == 0 ? 0 : valuesPerMeasure[0].length;
        dailyRow(tenant, type, "", unit, day, n, n);
        for (int i = 0; i < measures.length; i++) {
            double sum = 0;
            for (double v : valuesPerMeasure[i]) sum += v;
            dailyRow(tenant, type, measures[i], unit, day, valuesPerMeasure[i].length, sum);
        }
    }

    void unitRow(String tenant, String exp, String variant, String type, String measure, String unit, LocalDate day,
                 long count, double sum, double sumSq) {
        units.add("(" + Sql.str(tenant) + "," + Sql.str(exp) + "," + Sql.str(variant) + "," + Sql.str(type) + ","
                + Sql.str(measure) + "," + Sql.str(unit) + ",'" + day + "'," + count + "," + sum + "," + sumSq + ")");
    }

    /** Events of one unit on one day: a count row plus one row per measure. */
    void events(String tenant, String exp, String variant, String type, String unit, LocalDate day, String[] measures,
                double[][] valuesPerMeasure) {
        int n = valuesPerMeasure.length == 0 ? 0 : valuesPerMeasure[0].length;
        unitRow(tenant, exp, variant, type, "", unit, day, n, n, n);
        dailyRow(tenant, type, "", unit, day, n, n);
        for (int i = 0; i < measures.length; i++) unitRow(tenant, exp, variant, type, measures[i], unit, day, valuesPerMeasure[i]);
    }

    void flush() throws SQLException {
        flush("vigil_exposures (tenant, experiment, variant, unit_id, first_seen, last_seen, events)", exposures);
        flush("vigil_experiment_units (tenant, experiment, variant, type, measure, unit_id, day, count, sum, sum_sq)", units);
        flush("vigil_experiment_unit_hist (tenant, experiment, variant, type, measure, unit_id, last_day, hist)", hists);
        flush("vigil_unit_daily (tenant, type, measure, unit_id, day, count, sum)", daily);
    }

    private void flush(String target, List<String> rows) throws SQLException {
        for (int i = 0; i < rows.size(); i += 5000) {
            SchemaFixture.exec(ds, "INSERT INTO " + target + " VALUES " + String.join(",", rows.subList(i, Math.min(rows.size(), i + 5000))));
        }
        rows.clear();
    }

    /**
     * A demo experiment: {@code unitsPerArm} units per variant, each with 1-5 inference events on the
     * start day; latency lognormal around 100 ms, multiplied by {@code treatmentLatencyFactor} in the
     * treatment; error 0/1 with 2 %; a purchase (amount) for 10 % of units.
     */
    static void demo(ExperimentData d, String tenant, String exp, Instant start, int unitsPerArm,
                     double treatmentLatencyFactor, long seed) {
        Random rnd = new Random(seed);
        LocalDate day = LocalDate.ofInstant(start, ZoneOffset.UTC);
        for (String variant : new String[]{"control", "treatment"}) {
            double f = variant.equals("treatment") ? treatmentLatencyFactor : 1.0;
            for (int u = 0; u < unitsPerArm; u++) {
                String unit = exp + "-" + variant + "-u" + u;
                int k = 1 + rnd.nextInt(5);
                double unitEffect = Math.exp(0.3 * rnd.nextGaussian());
                double[] lat = new double[k], err = new double[k];
                for (int i = 0; i < k; i++) {
                    lat[i] = 100 * f * unitEffect * Math.exp(0.4 * rnd.nextGaussian());
                    err[i] = rnd.nextDouble() < 0.02 ? 1 : 0;
                }
                // before exposure (the CUPED pre-period): the same unit's behaviour, without any treatment effect
                int kp = 1 + rnd.nextInt(5);
                double[] preLat = new double[kp], preErr = new double[kp];
                for (int i = 0; i < kp; i++) preLat[i] = 100 * unitEffect * Math.exp(0.4 * rnd.nextGaussian());
                d.unassignedEvents(tenant, "inference", unit, day.minusDays(7), new String[]{"latency_ms", "error"},
                        new double[][]{preLat, preErr});
                d.exposure(tenant, exp, variant, unit, start.plusSeconds(u), start.plusSeconds(u + 60), k);
                d.events(tenant, exp, variant, "inference", unit, day, new String[]{"latency_ms", "error"},
                        new double[][]{lat, err});
                if (rnd.nextDouble() < 0.1) {
                    double amount = 10 + 40 * rnd.nextDouble();
                    d.events(tenant, exp, variant, "purchase", unit, day, new String[]{"amount"}, new double[][]{{amount}});
                }
            }
        }
    }
}
