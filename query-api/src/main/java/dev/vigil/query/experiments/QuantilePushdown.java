package dev.vigil.query.experiments;

import java.sql.Array;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Supplier;

import javax.sql.DataSource;

import dev.vigil.common.histogram.LogBuckets;
import dev.vigil.guardrails.QuantileSums;

/**
 * Sums of quantile metrics (Deng, Knoblich &amp; Yu 2018; docs/statistics.md section 2) from
 * {@code vigil_experiment_unit_hist}, the per-unit log-bucket histograms of a measure, in two passes
 * that each return a few rows per experiment and variant:
 *
 * <ol>
 *   <li>the event histogram of each variant, from {@code vigil_experiment_variant_hist} (a few rows per
 *       experiment: a materialized view sums the units' histograms on insert);</li>
 *   <li>for the one or two bucket edges the estimator reads (those around the quantile's rank, found
 *       from pass 1), the clustered sums {@code sum_i S_i(b)^2} and {@code sum_i S_i(b) M_i} over the
 *       per-unit histograms, where S_i(b) is the unit's number of events at or below b and M_i its
 *       number of events.</li>
 * </ol>
 * The sum of M_i squared comes with the other per-unit sums ({@link ExperimentStats}).
 *
 * Computing those sums at every edge would cost a pass over every bucket of every unit; the
 * estimator reads only the edges around the estimate, so the other positions of the arrays are NaN.
 * Log-bucket keys are ordered like the values they stand for (negative, zero, positive), so "at or
 * below the edge b" is "key at or below b's key".
 */
final class QuantilePushdown {
    /**
     * One quantile metric of one experiment.
     *
     * @param units       exposed units per variant (n, from the totals), read when the sums are delivered
     * @param sumEventsSq per variant: the sum over units of their number of events with the measure, squared
     *                    (from the totals too), read when the sums are delivered
     * @param result      receives the sums per variant (only variants with events)
     */
    record Request(String experiment, String type, String measure, double p, Supplier<Map<String, Long>> units,
                   Supplier<Map<String, Double>> sumEventsSq, Consumer<Map<String, QuantileSums>> result) {
    }

    /** What the two passes found; {@link #deliver} turns it into sums once the units are known. */
    record Found(List<Request> requests, Map<Group, Pass1> histograms, Map<Group, TreeSet<Integer>> needed,
                 Map<Group, double[][]> below) {
    }

    /** A variant's histogram on exact bucket edges, with the log-bucket key at or below each upper edge. */
    record Bins(double[] edges, long[] counts, int[] thresholdKeys) {
        /**
         * Bins from the non-empty keys (ascending) and their counts. Empty gaps between non-empty
         * buckets become buckets of count 0, so every bucket has its true bounds.
         */
        static Bins of(int[] keys, long[] counts) {
            List<Double> edges = new ArrayList<>();
            List<Long> cs = new ArrayList<>();
            List<Integer> thr = new ArrayList<>();
            int lastKey = Integer.MIN_VALUE;
            for (int i = 0; i < keys.length; i++) {
                int k = keys[i];
                double lo = k == LogBuckets.ZERO_KEY ? -LogBuckets.MIN_MAGNITUDE : LogBuckets.lowerBound(k);
                double hi = k == LogBuckets.ZERO_KEY ? LogBuckets.MIN_MAGNITUDE : LogBuckets.upperBound(k);
                if (edges.isEmpty()) {
                    edges.add(lo);
                } else {
                    double last = edges.getLast();
                    if (lo > last) { // an empty gap
                        edges.add(lo);
                        cs.add(0L);
                        thr.add(lastKey);
                    }
                    hi = Math.max(hi, Math.nextUp(edges.getLast()));
                }
                edges.add(hi);
                cs.add(counts[i]);
                thr.add(k);
                lastKey = k;
            }
            return new Bins(edges.stream().mapToDouble(Double::doubleValue).toArray(), cs.stream().mapToLong(Long::longValue).toArray(),
                    thr.stream().mapToInt(Integer::intValue).toArray());
        }

        /** The bucket holding rank p * events, where the estimator reads the clustered sums ({@link QuantileSums#bucketAtRank}). */
        int bucketOf(double p) {
            double events = 0;
            for (long c : counts) events += c;
            return QuantileSums.bucketAtRank(counts, p * events);
        }
    }

    record Group(String experiment, String variant, String type, String measure) {
        boolean of(Request r) {
            return experiment.equals(r.experiment()) && type.equals(r.type()) && measure.equals(r.measure());
        }

        String key() {
            return String.join("\u001f", experiment, variant, type, measure);
        }
    }

    record Pass1(Bins bins, double sumEvents) {
    }

    private final DataSource ds;
    private final int maxSharedThresholds;

    QuantilePushdown(DataSource ds) {
        this(ds, MAX_SHARED_THRESHOLDS);
    }

    /** @param maxSharedThresholds above this many distinct thresholds in a batch, each group looks up its own */
    QuantilePushdown(DataSource ds, int maxSharedThresholds) {
        this.ds = ds;
        this.maxSharedThresholds = maxSharedThresholds;
    }

    void compute(String tenant, List<Request> requests) throws SQLException {
        deliver(query(tenant, requests));
    }

    /** The two passes (they need nothing from the totals statement, so they can run beside it). */
    Found query(String tenant, List<Request> requests) throws SQLException {
        Set<String> ids = new LinkedHashSet<>(), pairs = new LinkedHashSet<>();
        for (Request r : requests) {
            ids.add(Sql.str(r.experiment()));
            pairs.add("(" + Sql.str(r.type()) + ", " + Sql.str(r.measure()) + ")");
        }
        String scope = "tenant = " + Sql.str(tenant) + " AND experiment IN (" + String.join(", ", ids) + ")";
        Map<Group, Pass1> histograms = pass1(ExperimentTables.VARIANT_HIST + " WHERE " + scope + " AND (type, measure) IN ("
                + String.join(", ", pairs) + ")");
        // the edges each group needs: around the bucket of every requested quantile
        Map<Group, TreeSet<Integer>> needed = new LinkedHashMap<>();
        for (Request r : requests) {
            histograms.forEach((g, h) -> {
                if (!g.of(r)) return;
                int b = h.bins().bucketOf(r.p());
                TreeSet<Integer> s = needed.computeIfAbsent(g, k -> new TreeSet<>());
                s.add(b);
                if (b > 0) s.add(b - 1);
            });
        }
        Map<Group, double[][]> below = needed.isEmpty() ? Map.of() : pass2(scope, histograms, needed);
        return new Found(requests, histograms, needed, below);
    }

    /** Hands each request its sums per variant. */
    void deliver(Found found) {
        Map<Group, Pass1> histograms = found.histograms();
        for (Request r : found.requests()) {
            Map<String, Long> unitsByVariant = r.units().get();
            Map<String, Double> sumEventsSq = r.sumEventsSq().get();
            Map<String, QuantileSums> out = new LinkedHashMap<>();
            histograms.forEach((g, h) -> {
                if (!g.of(r)) return;
                int k = h.bins().counts().length;
                double[] sq = new double[k], sm = new double[k];
                Arrays.fill(sq, Double.NaN);
                Arrays.fill(sm, Double.NaN);
                double[][] b = found.below().get(g);
                int i = 0;
                // no row for the group in pass 2 (its unit rows expired between the passes): NaN, the estimate says so
                for (int j : b == null ? new TreeSet<Integer>() : found.needed().get(g)) {
                    sq[j] = b[0][i];
                    sm[j] = b[1][i];
                    i++;
                }
                long units = unitsByVariant.getOrDefault(g.variant(), 0L);
                out.put(g.variant(), new QuantileSums(units, h.sumEvents(), sumEventsSq.getOrDefault(g.variant(), 0.),
                        h.bins().edges(), h.bins().counts(), sq, sm));
            });
            r.result().accept(out);
        }
    }

    private Map<Group, Pass1> pass1(String from) throws SQLException {
        String sql = "SELECT toString(experiment), toString(variant), toString(type), toString(measure), mapKeys(h), mapValues(h)\n"
                + "FROM (SELECT experiment, variant, type, measure, sumMap(hist) AS h FROM " + from + "\n"
                + "      GROUP BY experiment, variant, type, measure)";
        Map<Group, Pass1> out = new LinkedHashMap<>();
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                int[] keys = ints(rs.getArray(5));
                long[] counts = longs(rs.getArray(6));
                if (keys.length == 0) continue;
                double events = 0;
                for (long n : counts) events += n;
                out.put(new Group(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)), new Pass1(Bins.of(keys, counts), events));
            }
        }
        return out;
    }

    /**
     * Thresholds shared by every unit of a statement when the batch needs few distinct ones (the usual
     * case: experiments on the same measure have their quantiles in nearby buckets); beyond this, each
     * unit looks up its own group's thresholds, which costs a string key per unit.
     */
    static final int MAX_SHARED_THRESHOLDS = 32;

    /** Per group: [0] = sum_i S_i(edge)^2 and [1] = sum_i S_i(edge) M_i at the needed edges, in ascending order. */
    private Map<Group, double[][]> pass2(String tenantAndExperiments, Map<Group, Pass1> histograms, Map<Group, TreeSet<Integer>> needed)
            throws SQLException {
        // one statement per (type, measure): a unit's rows are grouped by (experiment, variant, unit), so one measure at a time
        Map<List<String>, Map<Group, TreeSet<Integer>>> byPair = new LinkedHashMap<>();
        needed.forEach((g, js) -> byPair.computeIfAbsent(List.of(g.type(), g.measure()), k -> new LinkedHashMap<>()).put(g, js));
        Map<Group, double[][]> out = new HashMap<>();
        for (var pair : byPair.entrySet())
            out.putAll(PerUnitRows.run(ds, ExperimentTables.UNIT_HIST, parts -> pass2(tenantAndExperiments + " AND type = "
                    + Sql.str(pair.getKey().get(0)) + " AND measure = " + Sql.str(pair.getKey().get(1)), histograms, pair.getValue(), parts)));
        return out;
    }

    private Map<Group, double[][]> pass2(String where, Map<Group, Pass1> histograms, Map<Group, TreeSet<Integer>> needed, PerUnitRows.Parts parts)
            throws SQLException {
        TreeSet<Integer> shared = new TreeSet<>();
        for (var e : needed.entrySet()) {
            int[] thr = histograms.get(e.getKey()).bins().thresholdKeys();
            for (int j : e.getValue()) shared.add(thr[j]);
        }
        String thresholds;
        if (shared.size() <= maxSharedThresholds) {
            thresholds = "CAST(" + ints(shared) + " AS Array(Int32))";
        } else {
            StringJoiner lookup = new StringJoiner(", ", "map(", ")");
            for (var e : needed.entrySet()) {
                int[] thr = histograms.get(e.getKey()).bins().thresholdKeys();
                TreeSet<Integer> own = new TreeSet<>();
                for (int j : e.getValue()) own.add(thr[j]);
                lookup.add(Sql.str(e.getKey().key())).add("CAST(" + ints(own) + " AS Array(Int32))");
            }
            thresholds = lookup + "[concat(toString(experiment), '\\x1f', toString(variant), '\\x1f', toString(type), '\\x1f', "
                    + "toString(measure))]";
        }
        // per row: S at each threshold and the events M; summed per unit (both add up across a unit's rows)
        List<PerUnitRows.Value> values = List.of(
                new PerUnitRows.Value("t", thresholds, "any"),
                new PerUnitRows.Value("s", "arrayMap(x -> toFloat64(arraySum(arrayFilter((c, k) -> k <= x, mapValues(hist), mapKeys(hist)))), "
                        + thresholds + ")", "sumForEach"),
                PerUnitRows.Value.sum("m", "toFloat64(arraySum(mapValues(hist)))"));
        Group any = needed.keySet().iterator().next();
        String sql = "SELECT toString(experiment), toString(variant), sumForEach(arrayMap(x -> x * x, s)), sumForEach(arrayMap(x -> x * m, s)), "
                + "any(t)\nFROM (" + PerUnitRows.sql(ExperimentTables.UNIT_HIST, where, values, parts) + ")\n"
                + "WHERE length(s) > 0\nGROUP BY experiment, variant";
        Map<Group, double[][]> out = new HashMap<>();
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                Group g = new Group(rs.getString(1), rs.getString(2), any.type(), any.measure());
                TreeSet<Integer> want = needed.get(g);
                if (want == null) continue;
                double[] sq = doubles(rs.getArray(3)), sm = doubles(rs.getArray(4));
                int[] t = ints(rs.getArray(5));
                int[] thr = histograms.get(g).bins().thresholdKeys();
                double[][] v = new double[2][want.size()];
                int i = 0;
                for (int j : want) {
                    int at = Arrays.binarySearch(t, thr[j]);
                    v[0][i] = sq[at];
                    v[1][i] = sm[at];
                    i++;
                }
                out.put(g, v);
            }
        }
        return out;
    }

    private static String ints(java.util.Collection<Integer> values) {
        StringJoiner arr = new StringJoiner(", ", "[", "]");
        for (int v : values) arr.add(Integer.toString(v));
        return arr.toString();
    }

    /** The elements of a JDBC array, boxed (the driver returns primitive or boxed arrays depending on the type). */
    private static Number[] numbers(Array a) throws SQLException {
        Object o = a.getArray();
        int n = java.lang.reflect.Array.getLength(o);
        Number[] r = new Number[n];
        for (int i = 0; i < n; i++) r[i] = (Number) java.lang.reflect.Array.get(o, i);
        return r;
    }

    private static int[] ints(Array a) throws SQLException {
        return Arrays.stream(numbers(a)).mapToInt(Number::intValue).toArray();
    }

    private static long[] longs(Array a) throws SQLException {
        return Arrays.stream(numbers(a)).mapToLong(Number::longValue).toArray();
    }

    private static double[] doubles(Array a) throws SQLException {
        return Arrays.stream(numbers(a)).mapToDouble(Number::doubleValue).toArray();
    }
}
