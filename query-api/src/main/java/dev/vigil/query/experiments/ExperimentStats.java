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
 * docs/experiments-api.md "Pushdown"). One SQL statement per batch of experiments:
 *
 * <ol>
 *   <li>the exposed units ({@code vigil_exposures}, one row per experiment, variant and unit) and
 *       the per-unit rollups ({@code vigil_experiment_units}) are combined with {@code UNION ALL}
 *       and grouped by {@code (experiment, variant, unit_id)}; each metric of an experiment is a
 *       "slot" whose per-unit numerator {@code n}, denominator {@code d} and pre-period values
 *       {@code x}, {@code e} are conditional sums over the unit's rows;</li>
 *   <li>units that were never exposed are dropped ({@code HAVING exposed = 1}), units with no
 *       events keep 0;</li>
 *   <li>the outer query sums per experiment and variant: units, sum n, sum n^2, units with n > 0,
 *       sum d, sum d^2, sum n d and the CUPED cross products.</li>
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

    private static String key(String exp, MetricSource s) {
        return "(" + Sql.str(exp) + ", " + Sql.str(s.type()) + ", " + Sql.str(s.measure()) + ")";
    }

    /** Conditional per-row value: sum or count of the rows whose (experiment, type, measure) is in the sets. */
    private static String valueExpr(Set<String> sumKeys, Set<String> countKeys) {
        List<String> terms = new ArrayList<>();
        if (!sumKeys.isEmpty()) terms.add("if(k IN (" + String.join(", ", sumKeys) + "), sum, 0.)");
        if (!countKeys.isEmpty()) terms.add("if(k IN (" + String.join(", ", countKeys) + "), toFloat64(count), 0.)");
        return terms.isEmpty() ? "0." : String.join(" + ", terms);
    }

    private static void add(MetricSource s, String exp, Set<String> sums, Set<String> counts) {
        (s.isCount() ? counts : sums).add(key(exp, s));
    }

    /** The SQL computing the sums of {@code specs} in one statement (for docs, benchmarks and debugging). */
    public static String sqlFor(String tenant, List<ExperimentSpec> specs, Instant asOf) {
        List<Plan> plans = new ArrayList<>();
        for (ExperimentSpec s : specs) plans.add(plan(s));
        return sql(tenant, plans, asOf);
    }

    /** The SQL of one batch. */
    static String sql(String tenant, List<Plan> batch, Instant asOf) {
        int maxSlots = batch.stream().mapToInt(p -> p.slots().size()).max().orElse(0);
        boolean anyPre = batch.stream().anyMatch(Plan::withPre);
        long asOfDay = Sql.dayNumber(asOf);
        StringJoiner ids = new StringJoiner(", ");
        StringJoiner startDays = new StringJoiner(", "), preStart = new StringJoiner(", "), preEnd = new StringJoiner(", ");
        Set<String> allKeys = new LinkedHashSet<>();
        // per slot: numerator/denominator/pre keys
        List<Set<String>> nS = new ArrayList<>(), nC = new ArrayList<>(), dS = new ArrayList<>(), dC = new ArrayList<>(),
                xS = new ArrayList<>(), xC = new ArrayList<>(), eS = new ArrayList<>(), eC = new ArrayList<>();
        boolean[] needD = new boolean[maxSlots], needPre = new boolean[maxSlots];
        for (int m = 0; m < maxSlots; m++) {
            nS.add(new LinkedHashSet<>()); nC.add(new LinkedHashSet<>()); dS.add(new LinkedHashSet<>()); dC.add(new LinkedHashSet<>());
            xS.add(new LinkedHashSet<>()); xC.add(new LinkedHashSet<>()); eS.add(new LinkedHashSet<>()); eC.add(new LinkedHashSet<>());
        }
        for (Plan p : batch) {
            String exp = p.def().id();
            ids.add(Sql.str(exp));
            startDays.add(Long.toString(Sql.dayNumber(p.def().start())));
            if (p.withPre()) {
                preStart.add(Long.toString(Sql.dayNumber(p.def().prePeriod().start())));
                // prePeriod.end is exclusive: a pre-period ending at midnight excludes that day
                Instant pe = p.def().prePeriod().end();
                long endDay = Sql.dayNumber(pe) + (pe.equals(java.time.LocalDate.ofInstant(pe, java.time.ZoneOffset.UTC)
                        .atStartOfDay(java.time.ZoneOffset.UTC).toInstant()) ? 0 : 1);
                preEnd.add(Long.toString(endDay));
            } else {
                preStart.add("0");
                preEnd.add("0");
            }
            for (Slot s : p.slots()) {
                int m = s.index();
                add(s.source(), exp, nS.get(m), nC.get(m));
                allKeys.add(key(exp, s.source()));
                if (s.source().denominator() != null) {
                    needD[m] = true;
                    add(s.source().denominator(), exp, dS.get(m), dC.get(m));
                    allKeys.add(key(exp, s.source().denominator()));
                }
                if (s.cuped()) {
                    needPre[m] = true;
                    add(s.source(), exp, xS.get(m), xC.get(m));
                    if (s.source().denominator() != null) add(s.source().denominator(), exp, eS.get(m), eC.get(m));
                }
            }
        }
        String t = Sql.str(tenant);
        StringBuilder zeroCols = new StringBuilder(), unitCols = new StringBuilder(), groupCols = new StringBuilder(),
                outer = new StringBuilder();
        for (int m = 0; m < maxSlots; m++) {
            List<String[]> cols = new ArrayList<>();
            cols.add(new String[]{"n" + m, valueExpr(nS.get(m), nC.get(m)), "cur"});
            if (needD[m]) cols.add(new String[]{"d" + m, valueExpr(dS.get(m), dC.get(m)), "cur"});
            if (needPre[m]) {
                cols.add(new String[]{"x" + m, valueExpr(xS.get(m), xC.get(m)), "pre"});
                if (needD[m]) cols.add(new String[]{"e" + m, valueExpr(eS.get(m), eC.get(m)), "pre"});
            }
            for (String[] c : cols) {
                zeroCols.append(", 0. AS ").append(c[0]);
                unitCols.append(", if(").append(c[2]).append(", ").append(c[1]).append(", 0.) AS ").append(c[0]);
                groupCols.append(", sum(").append(c[0]).append(") AS ").append(c[0]);
            }
            String n = "n" + m, d = "d" + m, x = "x" + m, e = "e" + m;
            outer.append(", sum(").append(n).append(") AS s_").append(n)
                    .append(", sum(").append(n).append(" * ").append(n).append(") AS ss_").append(n)
                    .append(", countIf(").append(n).append(" > 0) AS p_").append(n);
            if (needD[m]) outer.append(", sum(").append(d).append(") AS s_").append(d)
                    .append(", sum(").append(d).append(" * ").append(d).append(") AS ss_").append(d)
                    .append(", sum(").append(n).append(" * ").append(d).append(") AS nd_").append(m);
            if (needPre[m]) {
                outer.append(", sum(").append(x).append(") AS s_").append(x)
                        .append(", sum(").append(x).append(" * ").append(x).append(") AS ss_").append(x)
                        .append(", sum(").append(x).append(" * ").append(n).append(") AS nx_").append(m)
                        .append(", countIf(").append(x).append(" > 0) AS p_").append(x)
                        .append(", countIf(").append(x).append(" > 0 AND ").append(n).append(" > 0) AS pxn_").append(m);
                if (needD[m]) outer.append(", sum(").append(e).append(") AS s_").append(e)
                        .append(", sum(").append(e).append(" * ").append(e).append(") AS ss_").append(e)
                        .append(", sum(").append(x).append(" * ").append(e).append(") AS xe_").append(m)
                        .append(", sum(").append(n).append(" * ").append(e).append(") AS ne_").append(m)
                        .append(", sum(").append(d).append(" * ").append(x).append(") AS dx_").append(m)
                        .append(", sum(").append(d).append(" * ").append(e).append(") AS de_").append(m);
            }
        }
        StringBuilder sql = new StringBuilder();
        sql.append("SELECT e_id, v_id, count() AS units").append(outer).append("\nFROM (\n")
                .append("  SELECT e_id, v_id, unit_id, max(exposed) AS exposed").append(groupCols).append("\n  FROM (\n")
                .append("    SELECT toString(experiment) AS e_id, toString(variant) AS v_id, unit_id, toUInt8(1) AS exposed")
                .append(zeroCols).append("\n    FROM vigil_exposures WHERE tenant = ").append(t)
                .append(" AND experiment IN (").append(ids).append(")\n");
        if (!allKeys.isEmpty()) {
            String dn = "toUInt32(toUInt16(day))";
            String tr = "e_id, [" + ids + "]";
            sql.append("    UNION ALL\n")
                    .append("    SELECT e_id, v_id, unit_id, toUInt8(0) AS exposed").append(unitCols).append("\n")
                    .append("    FROM (SELECT toString(experiment) AS e_id, toString(variant) AS v_id, unit_id, count, sum,")
                    .append(" (e_id, toString(type), toString(measure)) AS k,\n")
                    .append("            ").append(dn).append(" >= transform(").append(tr).append(", [").append(startDays)
                    .append("], 4294967295) AND ").append(dn).append(" <= ").append(asOfDay).append(" AS cur");
            if (anyPre)
                sql.append(",\n            ").append(dn).append(" >= transform(").append(tr).append(", [").append(preStart)
                        .append("], 4294967295) AND ").append(dn).append(" < transform(").append(tr).append(", [")
                        .append(preEnd).append("], 0) AS pre");
            else sql.append(", 0 AS pre");
            sql.append("\n          FROM vigil_experiment_units WHERE tenant = ").append(t)
                    .append(" AND experiment IN (").append(ids).append(")")
                    .append(" AND (experiment, type, measure) IN (").append(String.join(", ", allKeys)).append("))\n");
        }
        sql.append("  )\n  GROUP BY e_id, v_id, unit_id\n  HAVING exposed = 1\n)\nGROUP BY e_id, v_id\n")
                .append("ORDER BY e_id, v_id");
        return sql.toString();
    }

    private Map<String, Result> runBatch(String tenant, List<Plan> batch, Instant asOf) throws SQLException {
        String sql = sql(tenant, batch, asOf);
        Map<String, Map<String, Map<String, Double>>> rows = new HashMap<>(); // exp -> variant -> column -> value
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            var md = rs.getMetaData();
            int n = md.getColumnCount();
            while (rs.next()) {
                Map<String, Double> cols = new HashMap<>();
                for (int i = 3; i <= n; i++) cols.put(md.getColumnLabel(i), rs.getDouble(i));
                rows.computeIfAbsent(rs.getString(1), k -> new LinkedHashMap<>()).put(rs.getString(2), cols);
            }
        }
        Map<String, Result> out = new HashMap<>();
        for (Plan p : batch) out.put(p.def().id(), toResult(p, rows.getOrDefault(p.def().id(), Map.of()), asOf));
        return out;
    }

    private static Result toResult(Plan p, Map<String, Map<String, Double>> byVariant, Instant asOf) {
        Map<String, Long> units = new LinkedHashMap<>();
        for (var v : p.def().variants()) if (v != null && v.id() != null) units.put(v.id(), 0L);
        byVariant.forEach((v, cols) -> units.put(v, cols.get("units").longValue()));
        List<Unavailable> unavailable = new ArrayList<>(p.unavailable());
        Map<String, Map<String, MetricSums>> metrics = new LinkedHashMap<>();
        for (Slot s : p.slots()) {
            int m = s.index();
            boolean preSeen = s.cuped() && byVariant.values().stream()
                    .anyMatch(c -> c.getOrDefault("ss_x" + m, 0.) > 0 || c.getOrDefault("ss_e" + m, 0.) > 0);
            if (s.cuped() && !preSeen) unavailable.add(new Unavailable(s.metricId(), "cuped", CUPED_REASON));
            Map<String, MetricSums> sums = new LinkedHashMap<>();
            for (String variant : units.keySet()) {
                Map<String, Double> c = byVariant.getOrDefault(variant, Map.of());
                long n = units.get(variant);
                sums.put(variant, switch (s.kind()) {
                    case MEAN -> new MeanSums(n, c.getOrDefault("s_n" + m, 0.), c.getOrDefault("ss_n" + m, 0.),
                            preSeen ? new CovariateSums(c.getOrDefault("s_x" + m, 0.), c.getOrDefault("ss_x" + m, 0.),
                                    c.getOrDefault("nx_" + m, 0.)) : null);
                    case PROPORTION -> {
                        double px = c.getOrDefault("p_x" + m, 0.);
                        yield new ProportionSums(n, c.getOrDefault("p_n" + m, 0.).longValue(),
                                preSeen ? new CovariateSums(px, px, c.getOrDefault("pxn_" + m, 0.)) : null);
                    }
                    case RATIO -> new RatioSums(n, c.getOrDefault("s_n" + m, 0.), c.getOrDefault("ss_n" + m, 0.),
                            c.getOrDefault("s_d" + m, 0.), c.getOrDefault("ss_d" + m, 0.), c.getOrDefault("nd_" + m, 0.),
                            preSeen ? new RatioCovariateSums(c.getOrDefault("s_x" + m, 0.), c.getOrDefault("ss_x" + m, 0.),
                                    c.getOrDefault("s_e" + m, 0.), c.getOrDefault("ss_e" + m, 0.), c.getOrDefault("xe_" + m, 0.),
                                    c.getOrDefault("nx_" + m, 0.), c.getOrDefault("ne_" + m, 0.),
                                    c.getOrDefault("dx_" + m, 0.), c.getOrDefault("de_" + m, 0.)) : null);
                    case QUANTILE -> throw new IllegalStateException("quantile metrics have no slot");
                });
            }
            metrics.put(s.metricId(), sums);
        }
        return new Result(new ExperimentObservation(p.def().id(), asOf, units, metrics), unavailable);
    }
}
