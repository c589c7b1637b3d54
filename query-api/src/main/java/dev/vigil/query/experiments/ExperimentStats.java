package dev.vigil.query.experiments;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
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

import dev.vigil.common.schema.TtlClause;
import dev.vigil.guardrails.CovariateSums;
import dev.vigil.guardrails.ExperimentDefinition;
import dev.vigil.guardrails.ExperimentObservation;
import dev.vigil.guardrails.MeanSums;
import dev.vigil.guardrails.MetricKind;
import dev.vigil.guardrails.MetricSums;
import dev.vigil.guardrails.ProportionSums;
import dev.vigil.guardrails.QuantileSums;
import dev.vigil.guardrails.RatioCovariateSums;
import dev.vigil.guardrails.RatioSums;

/**
 * Sufficient statistics of experiments, computed in ClickHouse (docs/statistics.md section 2;
 * docs/experiments-api.md "Pushdown"). Per batch of experiments, one SQL statement over
 * {@code vigil_experiment_unit_totals} (one row per exposed unit, kept by the aggregator's
 * materialized view): each unit's needed values are read from its {@code stats} map (count and sum
 * per type and measure), then summed per experiment and variant: units, sums, sums of squares and
 * cross products, units with a positive value. No per-unit GROUP BY and no join runs unless CUPED
 * is asked for: then the same units are joined to their pre-period totals from
 * {@code vigil_unit_daily} (every event with a unit, assigned or not). Quantile metrics read
 * {@code vigil_experiment_unit_hist} in two small passes ({@link QuantilePushdown}). Only a few rows
 * per experiment and variant travel to Java.
 */
public final class ExperimentStats {
    /** A metric that could not be computed, with the reason in plain words. */
    public record Unavailable(String metricId, String what, String reason) {
    }

    /** The observation of one experiment plus what could not be computed. */
    public record Result(ExperimentObservation observation, List<Unavailable> unavailable) {
    }

    public static final String CUPED_REASON = "no exposed unit of this experiment had events of the metric in the "
            + "pre-period (vigil_unit_daily, written when the aggregator job has the unit_daily rollup), so there is no "
            + "covariate; the unadjusted figures are used";

    private final DataSource ds;
    private final int batchSize;
    private final int parallelism;

    public ExperimentStats(DataSource ds) {
        this(ds, 100, 2);
    }

    /**
     * @param batchSize   experiments per SQL statement (bounds its IN lists and the rows it groups per unit)
     * @param parallelism statements run at once
     */
    public ExperimentStats(DataSource ds, int batchSize, int parallelism) {
        this.ds = ds;
        this.batchSize = Math.max(1, batchSize);
        this.parallelism = Math.max(1, parallelism);
    }

    private record Slot(String metricId, MetricKind kind, MetricSource source, boolean cuped, Double quantile) {
    }

    /** @param preDays the pre-period as [first day, end day) numbers, null without CUPED */
    private record Plan(ExperimentSpec spec, List<Slot> slots, List<Unavailable> unavailable, List<Long> preDays) {
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
        Map<String, Result> out = computeSums(tenant, specs, asOf);
        Duration kept = retention();
        if (kept == null) return out;
        for (ExperimentSpec s : specs) {
            Unavailable gone = beyondRetention(s.definition(), asOf, kept);
            Result r = out.get(s.definition().id());
            if (gone != null && r != null) {
                List<Unavailable> u = new ArrayList<>(r.unavailable());
                u.add(gone);
                out.put(s.definition().id(), new Result(r.observation(), u));
            }
        }
        return out;
    }

    /** Where the experiment tables' retention is read from: the per-unit totals every report reads (all take one key). */
    static final String RETENTION_SQL = "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'vigil_experiment_unit_totals'";
    private static final long RETENTION_REFRESH_NANOS = 60_000_000_000L;
    private volatile Duration retention;
    /** When it was last read; a minute ago at first, so the first report reads it. */
    private volatile long retentionReadNanos = System.nanoTime() - RETENTION_REFRESH_NANOS;

    /**
     * How long the experiment tables keep their rows (their TTL, set by the aggregator from
     * {@code aggregator.retention.experiments}), read at most once a minute; null when unknown (no table, a TTL of
     * another shape, a failed read: no report says anything about retention then).
     */
    private Duration retention() {
        long now = System.nanoTime();
        if (now - retentionReadNanos < RETENTION_REFRESH_NANOS) return retention;
        Duration d = null;
        try (Connection c = ds.getConnection(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(RETENTION_SQL)) {
            if (rs.next()) d = TtlClause.parse(rs.getString(1)).map(TtlClause.Ttl::retention).orElse(null);
        } catch (SQLException e) {
            d = retention; // keep what was read before
        }
        retention = d;
        retentionReadNanos = now;
        return d;
    }

    /**
     * What a report misses when the experiment (or the pre-period CUPED reads) began before the tables' retention: the
     * days before {@code asOf - kept} are gone, so the report counts only the units and days since. Null when it began
     * within it.
     */
    static Unavailable beyondRetention(ExperimentDefinition def, Instant asOf, Duration kept) {
        Instant cutoff = asOf.minus(kept);
        boolean cuped = def.prePeriod() != null && def.prePeriod().start() != null
                && (def.successMetrics().stream().anyMatch(m -> m != null && m.cuped())
                        || def.guardrailMetrics().stream().anyMatch(m -> m != null && m.cuped()));
        Instant earliest = def.start();
        if (cuped && (earliest == null || def.prePeriod().start().isBefore(earliest))) earliest = def.prePeriod().start();
        if (earliest == null || !earliest.isBefore(cutoff)) return null;
        String day = cutoff.atZone(java.time.ZoneOffset.UTC).toLocalDate().toString();
        return new Unavailable("*", "retention", "the experiment tables keep " + kept.toDays() + " days of rows"
                + " (aggregator.retention.experiments): days before " + day + " are gone, so this report counts only the units and"
                + " days since (the data it needs begins " + earliest.atZone(java.time.ZoneOffset.UTC).toLocalDate()
                + (cuped ? ", its pre-period's start" : ", its start") + ")");
    }

    private Map<String, Result> computeSums(String tenant, List<ExperimentSpec> specs, Instant asOf) throws SQLException {
        // experiments sharing a pre-period (or having none) share a statement: the pre-period join is per statement
        Map<List<Long>, List<Plan>> byPre = new LinkedHashMap<>();
        for (ExperimentSpec s : specs) {
            Plan p = plan(s);
            byPre.computeIfAbsent(p.preDays(), k -> new ArrayList<>()).add(p);
        }
        List<List<Plan>> batches = new ArrayList<>();
        for (List<Plan> group : byPre.values())
            for (int i = 0; i < group.size(); i += batchSize) batches.add(group.subList(i, Math.min(group.size(), i + batchSize)));
        Map<String, Result> out = new TreeMap<>();
        if (batches.size() <= 1 || parallelism == 1) {
            for (List<Plan> b : batches) out.putAll(runBatch(tenant, b, asOf));
            return out;
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(Math.min(parallelism, batches.size()))) {
            List<Future<Map<String, Result>>> futures = new ArrayList<>();
            for (List<Plan> b : batches) futures.add(pool.submit(() -> runBatch(tenant, b, asOf)));
            for (Future<Map<String, Result>> f : futures) out.putAll(join(f));
        }
        return out;
    }

    private static Plan plan(ExperimentSpec spec) {
        ExperimentDefinition def = spec.definition();
        List<Slot> slots = new ArrayList<>();
        List<Unavailable> unavailable = new ArrayList<>();
        Map<String, Boolean> cupedFlags = new HashMap<>();
        Map<String, Double> quantiles = new HashMap<>();
        def.successMetrics().forEach(m -> { if (m != null) { cupedFlags.put(m.metricId(), m.cuped()); quantiles.put(m.metricId(), m.quantile()); } });
        def.guardrailMetrics().forEach(m -> { if (m != null) { cupedFlags.put(m.metricId(), m.cuped()); quantiles.put(m.metricId(), m.quantile()); } });
        for (var e : spec.metricKinds().entrySet()) {
            String id = e.getKey();
            MetricKind kind = e.getValue();
            if (id == null || kind == null) continue;
            MetricSource src;
            try {
                src = spec.source(id, kind);
            } catch (IllegalArgumentException ex) {
                unavailable.add(new Unavailable(id, "metric", ex.getMessage()));
                continue;
            }
            // no CUPED for quantiles (docs/statistics.md section 2)
            boolean cuped = kind != MetricKind.QUANTILE && def.prePeriod() != null && Boolean.TRUE.equals(cupedFlags.get(id));
            slots.add(new Slot(id, kind, src, cuped, quantiles.get(id)));
        }
        List<Long> preDays = null;
        if (slots.stream().anyMatch(Slot::cuped)) {
            Instant pe = def.prePeriod().end();
            boolean midnight = pe.equals(java.time.LocalDate.ofInstant(pe, java.time.ZoneOffset.UTC)
                    .atStartOfDay(java.time.ZoneOffset.UTC).toInstant());
            preDays = List.of(Sql.dayNumber(def.prePeriod().start()), Sql.dayNumber(pe) + (midnight ? 0 : 1));
        }
        return new Plan(spec, slots, unavailable, preDays);
    }

    /** A per-unit value column: a source's sum or count, over the experiment ("cur") or the pre-period ("pre"). */
    private record Col(String period, String type, String measure, boolean count) {
        static Col of(String period, MetricSource s) {
            return new Col(period, s.type(), s.measure(), s.isCount());
        }

        String key() {
            return ExperimentTables.statsKey(type, measure);
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
                if (s.kind() == MetricKind.QUANTILE) { // M_i = the unit's events with the measure: sum of M_i^2
                    int m = cols.of(new Col("cur", s.source().type(), s.source().measure(), true));
                    cols.product(m, m);
                    out.put(s, new SlotCols(m, -1, -1, -1));
                    continue;
                }
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
        Cols cols = new Cols();
        columns(plans, cols);
        return sql(tenant, plans, cols, PerUnitRows.Parts.NONE);
    }

    /** One value of a unit's stats map: the count or sum of (type, measure), 0 when the unit has none. */
    private static String valueOf(String stats, Col c) {
        String at = "indexOf(" + stats + ".1, " + c.key() + ")";
        return c.count() ? "toFloat64(" + stats + ".2[" + at + "])" : stats + ".3[" + at + "]";
    }

    /**
     * The SQL of one batch (all its plans share one pre-period or none): one row per exposed unit
     * ({@link PerUnitRows}), its needed values, then the sums per experiment and variant.
     *
     * @param cols  the batch's columns, filled by {@link #columns}
     * @param parts the totals table's parts ({@link PerUnitRows#parts})
     */
    static String sql(String tenant, List<Plan> batch, Cols cols, PerUnitRows.Parts parts) {
        StringJoiner ids = new StringJoiner(", ");
        for (Plan p : batch) ids.add(Sql.str(p.def().id()));
        String t = Sql.str(tenant);
        List<Long> preDays = batch.getFirst().preDays();

        StringBuilder perUnit = new StringBuilder(), outer = new StringBuilder();
        List<PerUnitRows.Value> curValues = new ArrayList<>();
        Set<String> preKeys = new LinkedHashSet<>();
        for (var e : cols.index.entrySet()) {
            Col c = e.getKey();
            int i = e.getValue();
            if (c.period().equals("pre")) {
                perUnit.append(", ").append(valueOf("pre", c)).append(" AS c").append(i);
                preKeys.add("(" + Sql.str(c.type()) + ", " + Sql.str(c.measure()) + ")");
            } else {
                curValues.add(PerUnitRows.Value.sum("c" + i, valueOf("stats", c)));
                perUnit.append(", u.c").append(i).append(" AS c").append(i);
            }
            outer.append(", sum(c").append(i).append(") AS s").append(i)
                    .append(", toFloat64(countIf(c").append(i).append(" > 0)) AS z").append(i);
        }
        if (curValues.isEmpty()) curValues.add(PerUnitRows.Value.sum("events", "toFloat64(arraySum(stats.2))"));
        for (List<Integer> pr : cols.products)
            outer.append(", sum(c").append(pr.get(0)).append(" * c").append(pr.get(1)).append(") AS p").append(pr.get(0)).append('_').append(pr.get(1));
        for (List<Integer> pr : cols.bothPositive) {
            int lo = Math.min(pr.get(0), pr.get(1)), hi = Math.max(pr.get(0), pr.get(1));
            outer.append(", toFloat64(countIf(c").append(pr.get(0)).append(" > 0 AND c").append(pr.get(1)).append(" > 0)) AS q")
                    .append(lo).append('_').append(hi);
        }
        String units = PerUnitRows.sql(ExperimentTables.UNIT_TOTALS, "tenant = " + t + " AND experiment IN (" + ids + ")", curValues, parts);
        StringBuilder sql = new StringBuilder();
        sql.append("SELECT toString(experiment) AS e_id, toString(variant) AS v_id, toFloat64(count()) AS units").append(outer).append("\n")
                .append("FROM (\n  SELECT u.experiment AS experiment, u.variant AS variant").append(perUnit).append("\n")
                .append("  FROM (\n  ").append(units).append(") AS u\n");
        if (preDays != null && !preKeys.isEmpty()) {
            // each unit's totals over the pre-period, whatever it was assigned to (a unit not seen then gets 0)
            sql.append("  LEFT JOIN (SELECT unit_id, sumMap(([").append(ExperimentTables.STATS_KEY_OF_COLUMNS)
                    .append("], [count], [sum])) AS pre FROM ").append(ExperimentTables.UNIT_DAILY).append("\n")
                    .append("        WHERE tenant = ").append(t).append(" AND (type, measure) IN (").append(String.join(", ", preKeys))
                    .append(")\n          AND day >= ").append(day(preDays.get(0))).append(" AND day < ").append(day(preDays.get(1)))
                    .append("\n        GROUP BY unit_id) AS p ON u.unit_id = p.unit_id\n");
        }
        sql.append(")\nGROUP BY experiment, variant\nSETTINGS join_use_nulls = 0\n");
        return sql.toString();
    }

    /** Runs the quantile passes of a batch beside its totals statement (they are independent until the end). */
    private static final java.util.concurrent.ExecutorService QUANTILES = Executors.newVirtualThreadPerTaskExecutor();

    private Map<String, Result> runBatch(String tenant, List<Plan> batch, Instant asOf) throws SQLException {
        Cols cols = new Cols();
        Map<Slot, SlotCols> slotCols = columns(batch, cols);
        // exp -> variant -> column -> value, filled by the totals statement below
        Map<String, Map<String, Map<String, Double>>> rows = new HashMap<>();
        Map<Slot, Map<String, QuantileSums>> quantiles = new java.util.IdentityHashMap<>();
        List<QuantilePushdown.Request> requests = new ArrayList<>();
        for (Plan p : batch)
            for (Slot s : p.slots())
                if (s.kind() == MetricKind.QUANTILE) {
                    int m = slotCols.get(s).n();
                    requests.add(new QuantilePushdown.Request(p.def().id(), s.source().type(), s.source().measure(),
                            s.quantile() == null ? 0.5 : s.quantile(),
                            () -> unitsOf(rows.getOrDefault(p.def().id(), Map.of())),
                            () -> {
                                Map<String, Double> sq = new HashMap<>();
                                rows.getOrDefault(p.def().id(), Map.of()).forEach((v, r) -> sq.put(v, cols.get(r, "p", m, m)));
                                return sq;
                            },
                            r -> quantiles.put(s, r)));
                }
        QuantilePushdown qp = new QuantilePushdown(ds);
        Future<QuantilePushdown.Found> found = requests.isEmpty() ? null : QUANTILES.submit(() -> qp.query(tenant, requests));
        rows.putAll(PerUnitRows.run(ds, ExperimentTables.UNIT_TOTALS, parts -> {
            Map<String, Map<String, Map<String, Double>>> out = new HashMap<>();
            try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql(tenant, batch, cols, parts))) {
                var md = rs.getMetaData();
                int n = md.getColumnCount();
                while (rs.next()) {
                    Map<String, Double> row = out.computeIfAbsent(rs.getString(1), k -> new LinkedHashMap<>())
                            .computeIfAbsent(rs.getString(2), k -> new HashMap<>());
                    for (int i = 3; i <= n; i++) row.merge(md.getColumnLabel(i), rs.getDouble(i), Double::sum);
                }
            }
            return out;
        }));
        if (found != null) qp.deliver(join(found));
        Map<String, Result> out = new HashMap<>();
        for (Plan p : batch)
            out.put(p.def().id(), toResult(p, rows.getOrDefault(p.def().id(), Map.of()), asOf, cols, slotCols, quantiles));
        return out;
    }

    private static Map<String, Long> unitsOf(Map<String, Map<String, Double>> byVariant) {
        Map<String, Long> units = new HashMap<>();
        byVariant.forEach((v, r) -> units.put(v, r.get("units").longValue()));
        return units;
    }

    private static <T> T join(Future<T> f) throws SQLException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof SQLException se) throw se;
            throw new SQLException(e.getCause());
        }
    }

    private static Result toResult(Plan p, Map<String, Map<String, Double>> byVariant, Instant asOf, Cols cols,
                                   Map<Slot, SlotCols> slotCols, Map<Slot, Map<String, QuantileSums>> quantiles) {
        Map<String, Long> units = new LinkedHashMap<>();
        for (var v : p.def().variants()) if (v != null && v.id() != null) units.put(v.id(), 0L);
        units.putAll(unitsOf(byVariant));
        List<Unavailable> unavailable = new ArrayList<>(p.unavailable());
        Map<String, Map<String, MetricSums>> metrics = new LinkedHashMap<>();
        for (Slot s : p.slots()) {
            if (s.kind() == MetricKind.QUANTILE) {
                Map<String, QuantileSums> q = quantiles.get(s);
                if (q == null || q.isEmpty()) {
                    unavailable.add(new Unavailable(s.metricId(), "metric", "no exposed unit has events with measure '"
                            + s.source().measure() + "' of type '" + s.source().type() + "' yet"));
                } else {
                    metrics.put(s.metricId(), new LinkedHashMap<>(q));
                }
                continue;
            }
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
                    case QUANTILE -> throw new IllegalStateException("quantile metrics are handled above");
                });
            }
            metrics.put(s.metricId(), sums);
        }
        return new Result(new ExperimentObservation(p.def().id(), asOf, units, metrics), unavailable);
    }
}
