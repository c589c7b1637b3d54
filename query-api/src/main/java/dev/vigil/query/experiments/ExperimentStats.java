package dev.vigil.query.experiments;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import javax.sql.DataSource;

import dev.vigil.guardrails.CovariateSums;
import dev.vigil.guardrails.ExperimentDefinition;
import dev.vigil.guardrails.ExperimentObservation;
import dev.vigil.guardrails.MeanSums;
import dev.vigil.guardrails.MetricKind;
import dev.vigil.guardrails.MetricSums;
import dev.vigil.guardrails.ProportionSums;
import dev.vigil.guardrails.RatioCovariateSums;
import dev.vigil.guardrails.RatioSums;

/**
 * Sufficient statistics of experiments, computed in ClickHouse (docs/statistics.md section 2;
 * docs/experiments-api.md "Pushdown"). One SQL statement per batch of experiments, the UNION ALL of:
 *
 * <ol>
 *   <li>units per experiment and variant: distinct units of {@code vigil_exposures};</li>
 *   <li>the sums over units: {@code vigil_experiment_units} rows of the needed (type, measure) pairs,
 *       restricted to exposed units (a semi-join on cityHash64(experiment, variant, unit_id) against
 *       {@code vigil_exposures}: events of units never exposed are not attributed), grouped per unit
 *       into one column per needed value (sum or count of a measure, experiment window or
 *       pre-period), then summed per experiment and variant: sums, sums of squares and cross
 *       products, units with a positive value. Units with no events contribute 0 to every sum, so
 *       they need no row: they are counted by part 1.</li>
 * </ol>
 * Only a few rows per experiment and variant travel to Java.
 */
public final class ExperimentStats {
    /** A metric that could not be computed, with the reason in plain words. */
    public record Unavailable(String metricId, String what, String reason) {
    }

    /** The observation of one experiment plus what could not be computed. */
    public record Result(ExperimentObservation observation, List<Unavailable> unavailable) {
    }

    public static final String QUANTILE_REASON = "quantile metrics need a per-unit histogram of the measure, and "
            + "vigil_experiment_units stores only count, sum and sum of squares per unit and day; the metric is "
            + "reported without figures until the schema adds one (docs/experiments-api.md, 'Schema changes needed')";
    public static final String CUPED_REASON = "CUPED needs each unit's value in the pre-period, but "
            + "vigil_experiment_units only holds events tagged with this experiment's assignment, and none fall in the "
            + "pre-period; the unadjusted figures are used (docs/experiments-api.md, 'Schema changes needed')";

    private final DataSource ds;
    private final int batchSize;
    private final int parallelism;

    public ExperimentStats(DataSource ds) {
        this(ds, 100, 2);
    }

    /**
     * @param batchSize   experiments per SQL statement (bounds the memory of the per-unit GROUP BY)
     * @param parallelism statements run at once
     */
    public ExperimentStats(DataSource ds, int batchSize, int parallelism) {
        this.ds = ds;
        this.batchSize = Math.max(1, batchSize);
        this.parallelism = Math.max(1, parallelism);
    }

    private record Slot(int index, String metricId, MetricKind kind, MetricSource source, boolean cuped) {
    }

    private record Plan(ExperimentSpec spec, List<Slot> slots, List<Unavailable> unavailable, boolean withPre) {
        ExperimentDefinition def() {
            return spec.definition();
        }
    }

    /** Observations of one experiment. */
    public Result compute(String tenant, ExperimentSpec spec, Instant asOf) throws SQLException {
        return compute(tenant, List.of(spec), asOf).get(spec.definition().id());
    }

    /** Observations of many experiments of one tenant (by id). */
    public Map<String, Result> compute(String tenant, List<ExperimentSpec> specs, Instant asOf) throws SQLException {
        List<Plan> plans = new ArrayList<>();
        for (ExperimentSpec s : specs) plans.add(plan(s));
        List<List<Plan>> batches = new ArrayList<>();
        for (int i = 0; i < plans.size(); i += batchSize) batches.add(plans.subList(i, Math.min(plans.size(), i + batchSize)));
        Map<String, Result> out = new TreeMap<>();
        if (batches.size() <= 1 || parallelism == 1) {
            for (List<Plan> b : batches) out.putAll(runBatch(tenant, b, asOf));
            return out;
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(Math.min(parallelism, batches.size()))) {
            List<Future<Map<String, Result>>> futures = new ArrayList<>();
            for (List<Plan> b : batches) futures.add(pool.submit(() -> runBatch(tenant, b, asOf)));
            for (Future<Map<String, Result>> f : futures) out.putAll(f.get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof SQLException se) throw se;
            throw new SQLException(e.getCause());
        }
        return out;
    }

    private static Plan plan(ExperimentSpec spec) {
        ExperimentDefinition def = spec.definition();
        List<Slot> slots = new ArrayList<>();
        List<Unavailable> unavailable = new ArrayList<>();
        Map<String, Boolean> cupedFlags = new HashMap<>();
        def.successMetrics().forEach(m -> { if (m != null) cupedFlags.put(m.metricId(), m.cuped()); });
        def.guardrailMetrics().forEach(m -> { if (m != null) cupedFlags.put(m.metricId(), m.cuped()); });
        for (var e : spec.metricKinds().entrySet()) {
            String id = e.getKey();
            MetricKind kind = e.getValue();
            if (id == null || kind == null) continue;
            if (kind == MetricKind.QUANTILE) {
                unavailable.add(new Unavailable(id, "metric", QUANTILE_REASON));
                continue;
            }
            MetricSource src;
            try {
                src = spec.source(id, kind);
            } catch (IllegalArgumentException ex) {
                unavailable.add(new Unavailable(id, "metric", ex.getMessage()));
                continue;
            }
            boolean cuped = def.prePeriod() != null && Boolean.TRUE.equals(cupedFlags.get(id));
            slots.add(new Slot(slots.size(), id, kind, src, cuped));
        }
        boolean withPre = slots.stream().anyMatch(Slot::cuped);
        return new Plan(spec, slots, unavailable, withPre);
    }

    /** A per-unit value column: a source's sum or count over the experiment window ("cur") or the pre-period ("pre"). */
    private record Col(String period, String type, String measure, boolean count) {
        static Col of(String period, MetricSource s) {
            return new Col(period, s.type(), s.measure(), s.isCount());
        }
    }

    /** Columns of one batch: index by column, needed products and joint-positive counts. */
    private static final class Cols {
        final Map<Col, Integer> index = new LinkedHashMap<>();
        final Set<List<Integer>> products = new LinkedHashSet<>();
        final Set<List<Integer>> bothPositive = new LinkedHashSet<>();

        int of(Col c) {
            return index.computeIfAbsent(c, k -> index.size());
        }

        void product(int a, int b) {
            products.add(a <= b ? List.of(a, b) : List.of(b, a));
        }

        double get(Map<String, Double> row, String prefix, int a, int b) {
            int lo = Math.min(a, b), hi = Math.max(a, b);
            return row.getOrDefault(prefix + lo + "_" + hi, 0.);
        }
    }

    private static String day(long dayNumber) {
        return "toDate('" + java.time.LocalDate.ofEpochDay(dayNumber) + "')";
    }

    /** Column indexes of a slot: n, d (or -1), x, e (or -1). */
    private record SlotCols(int n, int d, int x, int e) {
    }

    private static Map<Slot, SlotCols> columns(List<Plan> batch, Cols cols) {
        Map<Slot, SlotCols> out = new java.util.IdentityHashMap<>();
        for (Plan p : batch) {
            for (Slot s : p.slots()) {
                MetricSource src = s.source(), den = src.denominator();
                int n = cols.of(Col.of("cur", src));
                int d = den == null ? -1 : cols.of(Col.of("cur", den));
                int x = s.cuped() ? cols.of(Col.of("pre", src)) : -1;
                int e = s.cuped() && den != null ? cols.of(Col.of("pre", den)) : -1;
                cols.product(n, n);
                if (d >= 0) { cols.product(d, d); cols.product(n, d); }
                if (x >= 0) {
                    cols.product(x, x);
                    cols.product(x, n);
                    if (s.kind() == MetricKind.PROPORTION) cols.bothPositive.add(List.of(x, n));
                    if (e >= 0) {
                        cols.product(e, e); cols.product(x, e); cols.product(n, e); cols.product(d, x); cols.product(d, e);
                    }
                }
                out.put(s, new SlotCols(n, d, x, e));
            }
        }
        return out;
    }

    /** The SQL computing the sums of {@code specs} in one statement (for docs, benchmarks and debugging). */
    public static String sqlFor(String tenant, List<ExperimentSpec> specs, Instant asOf) {
        List<Plan> plans = new ArrayList<>();
        for (ExperimentSpec s : specs) plans.add(plan(s));
        return sql(tenant, plans, asOf, new Cols());
    }

    /**
     * The SQL of one batch. Units are grouped by cityHash64(experiment, variant, unit_id): one 64-bit
     * key instead of three strings keeps the GROUP BY small and fast (two distinct units collide with
     * probability about n^2 / 2^65, 3e-6 at 10 million units; a collision merges two units' values).
     */
    static String sql(String tenant, List<Plan> batch, Instant asOf, Cols cols) {
        columns(batch, cols);
        long asOfDay = Sql.dayNumber(asOf);
        StringJoiner ids = new StringJoiner(", ");
        for (Plan p : batch) ids.add(Sql.str(p.def().id()));
        String t = Sql.str(tenant);
        // day ranges grouped by experiments sharing them: (experiment IN (...) AND day >= d) OR ...
        Map<Long, List<String>> byStart = new TreeMap<>();
        Map<List<Long>, List<String>> byPre = new LinkedHashMap<>();
        for (Plan p : batch) {
            byStart.computeIfAbsent(Sql.dayNumber(p.def().start()), k -> new ArrayList<>()).add(Sql.str(p.def().id()));
            if (p.withPre()) {
                Instant pe = p.def().prePeriod().end();
                boolean midnight = pe.equals(java.time.LocalDate.ofInstant(pe, java.time.ZoneOffset.UTC)
                        .atStartOfDay(java.time.ZoneOffset.UTC).toInstant());
                byPre.computeIfAbsent(List.of(Sql.dayNumber(p.def().prePeriod().start()), Sql.dayNumber(pe) + (midnight ? 0 : 1)),
                        k -> new ArrayList<>()).add(Sql.str(p.def().id()));
            }
        }
        StringJoiner cur = new StringJoiner(" OR ", "(", ")"), pre = new StringJoiner(" OR ", "(", ")");
        for (var e : byStart.entrySet())
            cur.add("(experiment IN (" + String.join(", ", e.getValue()) + ") AND day >= " + day(e.getKey()) + ")");
        for (var e : byPre.entrySet())
            pre.add("(experiment IN (" + String.join(", ", e.getValue()) + ") AND day >= " + day(e.getKey().get(0))
                    + " AND day < " + day(e.getKey().get(1)) + ")");
        String curCond = "(" + cur + " AND day <= " + day(asOfDay) + ")";
        String preCond = byPre.isEmpty() ? "0" : pre.toString();
        Set<String> typeMeasures = new LinkedHashSet<>();
        for (Col c : cols.index.keySet()) typeMeasures.add("(" + Sql.str(c.type()) + ", " + Sql.str(c.measure()) + ")");

        StringBuilder zeros = new StringBuilder(), perUnit = new StringBuilder(), outer = new StringBuilder();
        List<String> outNames = new ArrayList<>(), outExprs = new ArrayList<>();
        for (var e : cols.index.entrySet()) {
            Col c = e.getKey();
            int i = e.getValue();
            perUnit.append(", sumIf(").append(c.count() ? "toFloat64(count)" : "sum").append(", type = ").append(Sql.str(c.type()))
                    .append(" AND measure = ").append(Sql.str(c.measure())).append(" AND ").append(c.period()).append(") AS c").append(i);
            outNames.add("s" + i);
            outExprs.add("sum(c" + i + ")");
            outNames.add("z" + i);
            outExprs.add("toFloat64(countIf(c" + i + " > 0))");
        }
        for (List<Integer> pr : cols.products) {
            outNames.add("p" + pr.get(0) + "_" + pr.get(1));
            outExprs.add("sum(c" + pr.get(0) + " * c" + pr.get(1) + ")");
        }
        for (List<Integer> pr : cols.bothPositive) {
            outNames.add("q" + Math.min(pr.get(0), pr.get(1)) + "_" + Math.max(pr.get(0), pr.get(1)));
            outExprs.add("toFloat64(countIf(c" + pr.get(0) + " > 0 AND c" + pr.get(1) + " > 0))");
        }
        for (int i = 0; i < outNames.size(); i++) {
            zeros.append(", 0. AS ").append(outNames.get(i));
            outer.append(", ").append(outExprs.get(i)).append(" AS ").append(outNames.get(i));
        }
        String exposures = "FROM vigil_exposures WHERE tenant = " + t + " AND experiment IN (" + ids + ")";
        StringBuilder sql = new StringBuilder();
        // 1. units per variant, from the exposures alone (units without events count with value 0)
        sql.append("SELECT toString(experiment) AS e_id, toString(variant) AS v_id, toFloat64(uniqExact(cityHash64(unit_id))) AS units")
                .append(zeros).append("\n").append(exposures).append("\nGROUP BY experiment, variant\n");
        if (!cols.index.isEmpty()) {
            // 2. sums over units: per-unit values (one row per unit and needed column), restricted to exposed units
            sql.append("UNION ALL\n")
                    .append("SELECT toString(ex) AS e_id, toString(va) AS v_id, 0. AS units").append(outer).append("\nFROM (\n")
                    .append("  SELECT any(experiment) AS ex, any(variant) AS va").append(perUnit).append("\n")
                    .append("  FROM (SELECT experiment, variant, unit_id, type, measure, count, sum, ").append(curCond).append(" AS cur, ")
                    .append(preCond).append(" AS pre\n")
                    .append("        FROM vigil_experiment_units WHERE tenant = ").append(t).append(" AND experiment IN (").append(ids)
                    .append(")\n          AND (type, measure) IN (").append(String.join(", ", typeMeasures)).append(")\n")
                    .append("          AND (").append(curCond).append(" OR ").append(preCond).append(")\n")
                    .append("          AND cityHash64(experiment, variant, unit_id) IN (SELECT cityHash64(experiment, variant, unit_id) ")
                    .append(exposures).append("))\n")
                    .append("  GROUP BY cityHash64(experiment, variant, unit_id)\n)\nGROUP BY ex, va\n");
        }
        return sql.toString();
    }

    private Map<String, Result> runBatch(String tenant, List<Plan> batch, Instant asOf) throws SQLException {
        Cols cols = new Cols();
        String sql = sql(tenant, batch, asOf, cols);
        Map<Slot, SlotCols> slotCols = columns(batch, cols);
        Map<String, Map<String, Map<String, Double>>> rows = new HashMap<>(); // exp -> variant -> column -> value
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            var md = rs.getMetaData();
            int n = md.getColumnCount();
            while (rs.next()) {
                Map<String, Double> row = rows.computeIfAbsent(rs.getString(1), k -> new LinkedHashMap<>())
                        .computeIfAbsent(rs.getString(2), k -> new HashMap<>());
                for (int i = 3; i <= n; i++) row.merge(md.getColumnLabel(i), rs.getDouble(i), Double::sum);
            }
        }
        Map<String, Result> out = new HashMap<>();
        for (Plan p : batch)
            out.put(p.def().id(), toResult(p, rows.getOrDefault(p.def().id(), Map.of()), asOf, cols, slotCols));
        return out;
    }

    private static Result toResult(Plan p, Map<String, Map<String, Double>> byVariant, Instant asOf, Cols cols,
                                   Map<Slot, SlotCols> slotCols) {
        Map<String, Long> units = new LinkedHashMap<>();
        for (var v : p.def().variants()) if (v != null && v.id() != null) units.put(v.id(), 0L);
        byVariant.forEach((v, row) -> units.put(v, row.get("units").longValue()));
        List<Unavailable> unavailable = new ArrayList<>(p.unavailable());
        Map<String, Map<String, MetricSums>> metrics = new LinkedHashMap<>();
        for (Slot s : p.slots()) {
            SlotCols sc = slotCols.get(s);
            int n = sc.n(), d = sc.d(), x = sc.x(), e = sc.e();
            boolean preSeen = s.cuped() && byVariant.values().stream()
                    .anyMatch(r -> cols.get(r, "p", x, x) > 0 || (e >= 0 && cols.get(r, "p", e, e) > 0));
            if (s.cuped() && !preSeen) unavailable.add(new Unavailable(s.metricId(), "cuped", CUPED_REASON));
            Map<String, MetricSums> sums = new LinkedHashMap<>();
            for (String variant : units.keySet()) {
                Map<String, Double> r = byVariant.getOrDefault(variant, Map.of());
                long un = units.get(variant);
                sums.put(variant, switch (s.kind()) {
                    case MEAN -> new MeanSums(un, r.getOrDefault("s" + n, 0.), cols.get(r, "p", n, n),
                            preSeen ? new CovariateSums(r.getOrDefault("s" + x, 0.), cols.get(r, "p", x, x), cols.get(r, "p", x, n))
                                    : null);
                    case PROPORTION -> {
                        double zx = r.getOrDefault("z" + x, 0.);
                        yield new ProportionSums(un, r.getOrDefault("z" + n, 0.).longValue(),
                                preSeen ? new CovariateSums(zx, zx, cols.get(r, "q", x, n)) : null);
                    }
                    case RATIO -> new RatioSums(un, r.getOrDefault("s" + n, 0.), cols.get(r, "p", n, n),
                            r.getOrDefault("s" + d, 0.), cols.get(r, "p", d, d), cols.get(r, "p", n, d),
                            preSeen && e >= 0 ? new RatioCovariateSums(r.getOrDefault("s" + x, 0.), cols.get(r, "p", x, x),
                                    r.getOrDefault("s" + e, 0.), cols.get(r, "p", e, e), cols.get(r, "p", x, e),
                                    cols.get(r, "p", n, x), cols.get(r, "p", n, e), cols.get(r, "p", d, x), cols.get(r, "p", d, e))
                                    : null);
                    case QUANTILE -> throw new IllegalStateException("quantile metrics have no slot");
                });
            }
            metrics.put(s.metricId(), sums);
        }
        return new Result(new ExperimentObservation(p.def().id(), asOf, units, metrics), unavailable);
    }
}
