package dev.vigil.query;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

import dev.vigil.promql.Matcher;
import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.engine.EngineOptions;
import dev.vigil.promql.engine.QueryContext;
import dev.vigil.promql.storage.Querier;
import dev.vigil.promql.storage.SelectHints;
import dev.vigil.promql.storage.SeriesData;
import dev.vigil.promql.storage.Storage;
import dev.vigil.query.experiments.JdbcDataSource;
import dev.vigil.query.health.ModelHealthModule;
import dev.vigil.query.storage.ClickHouseStorage;
import dev.vigil.query.storage.PushdownRewriter;
import dev.vigil.query.storage.QueryGuard;

/**
 * Profiling harness (not part of `mvn verify`; {@code -Dit.test=DashboardProfile}): the slow panel
 * queries of the ML-health dashboard, through the engine and the storage without HTTP, with the
 * thread CPU time of the storage's select calls apart from the engine's own work.
 */
class DashboardProfile {
    static final int RUNS = Integer.getInteger("bench.profile.runs", 8);

    /** Loads the dashboard benchmark's data: 31 h of 10 s rollups, 2 models x 2 versions. */
    static void load(TestTables t, long last) throws Exception {
        Random rnd = new Random(3);
        TestTables.Rollup roll = new TestTables.Rollup(10);
        for (long b = last - 31 * 3600; b <= last; b += 10) {
            for (String model : new String[] {"fraud", "ranker"}) {
                for (String version : new String[] {"v1", "v2"}) {
                    java.util.SortedMap<String, String> dims = new java.util.TreeMap<>(Map.of("model", model, "version", version));
                    for (int i = 0; i < 10; i++) {
                        roll.event("demo", "inference", dims, b * 1000 + i * 1000, Map.of(
                                "latency_ms", 50 * Math.exp(0.5 * rnd.nextGaussian()),
                                "error", rnd.nextDouble() < 0.03 ? 1.0 : 0.0,
                                "score", Math.max(0.001, 0.3 + 0.1 * rnd.nextGaussian()),
                                "feature_age", 10 + 2 * rnd.nextGaussian()));
                    }
                }
            }
            if ((b - last) % 3600 == 0) {
                t.insertRollups(roll.rows());
                roll = new TestTables.Rollup(10);
            }
        }
        t.insertRollups(roll.rows());
        QueryBenchmark.awaitMerges(t);
    }

    @Test
    void profile() throws Exception {
        long now = System.currentTimeMillis() / 1000;
        long last = now / 10 * 10 - 10;
        try (TestTables t = TestTables.create("prof")) {
            load(t, last);
            ModelHealthModule health = new ModelHealthModule(new JdbcDataSource(t.jdbcUrl, "default", ""), Clock.systemUTC());
            ClickHouseStorage storage = new ClickHouseStorage(t.ch, ClickHouseStorage.Settings.defaults(), health.seriesProviders());
            Engine engine = new Engine(EngineOptions.defaults());
            ThreadMXBean tmx = ManagementFactory.getThreadMXBean();
            long endMs = now * 1000, startMs = endMs - 6 * 3_600_000L;
            var svc = health.service();
            java.time.Instant from = java.time.Instant.ofEpochMilli(startMs - 25 * 3_600_000L), to = java.time.Instant.ofEpochMilli(endMs + 1);
            java.time.Instant inF = java.time.Instant.ofEpochMilli(endMs - 25 * 3_600_000L), inT = java.time.Instant.ofEpochMilli(startMs - 3_600_000L);
            Map<String, java.util.concurrent.Callable<Object>> fetches = new java.util.LinkedHashMap<>();
            fetches.put("fetch 31 h, drift hists, per minute", () -> svc.fetch("demo", null, null, false, from, to, true, false));
            fetches.put("fetch 31 h, drift hists, 18 h core summed", () -> svc.fetch("demo", null, null, false, from, to, true, false, inF, inT));
            fetches.put("fetch 31 h, no hists, per minute", () -> svc.fetch("demo", null, null, false, from, to, false, false));
            fetches.put("fetch 31 h, no hists, 18 h core summed", () -> svc.fetch("demo", null, null, false, from, to, false, false, inF, inT));
            if (Boolean.getBoolean("bench.profile.sql")) {
                long f0 = from.getEpochSecond() / 60 * 60, f1 = to.getEpochSecond();
                long ifs = (inF.toEpochMilli() + 999) / 1000, its = (inT.toEpochMilli() + 999) / 1000;
                long hf = (ifs + 3599) / 3600 * 3600, ht = its / 3600 * 3600;
                String where = "tenant = 'demo' AND kind = 'event' AND name = 'inference' AND bucket >= toDateTime(" + f0 + ", 'UTC') AND bucket < toDateTime(" + f1
                        + ", 'UTC') AND labels['model'] != ''";
                String hc = "measure NOT IN ('', 'latency_ms', 'error', '')";
                String sel = "SELECT labels['model'] AS model, '' AS version, measure, toUnixTimestamp(bucket) AS tm, ";
                String core = "bucket >= toDateTime(" + hf + ", 'UTC') AND bucket < toDateTime(" + ht + ", 'UTC')";
                Map<String, String> sqls = new java.util.LinkedHashMap<>();
                sqls.put("A counts per minute", "SELECT count(), sum(cm) FROM (" + sel + "sum(count) AS cm, sum(sum) AS sm FROM vigil_rollup_1m WHERE " + where + " GROUP BY model, version, measure, tm)");
                sqls.put("B hist minutes outside core", "SELECT count(), sum(length(hm)) FROM (" + sel + "sumMap(hist) AS hm FROM vigil_rollup_1m WHERE " + where + " AND (" + hc + ") AND NOT (" + core + ") GROUP BY model, version, measure, tm)");
                sqls.put("B' hist minutes outside core, no group", "SELECT count(), sum(length(hist)) FROM vigil_rollup_1m WHERE " + where + " AND (" + hc + ") AND NOT (" + core + ")");
                sqls.put("C hist hours of core", "SELECT count(), sum(length(hm)) FROM (" + sel + "sumMap(hist) AS hm FROM vigil_rollup_1h WHERE " + where + " AND (" + hc + ") AND " + core + " GROUP BY model, version, measure, tm)");
                sqls.put("B strings", "SELECT sum(length(arrayStringConcat(arrayMap((k, n) -> concat(toString(k), ':', toString(n)), mapKeys(hm), mapValues(hm)), ','))) FROM (" + sel + "sumMap(hist) AS hm FROM vigil_rollup_1m WHERE " + where + " AND (" + hc + ") AND NOT (" + core + ") GROUP BY model, version, measure, tm)");
                sqls.put("B1 sumMap(keys, values)", "SELECT count(), sum(length(hk.1)) FROM (" + sel + "sumMap(mapKeys(hist), mapValues(hist)) AS hk FROM vigil_rollup_1m WHERE " + where + " AND (" + hc + ") AND NOT (" + core + ") GROUP BY model, version, measure, tm)");
                sqls.put("B3 array join", "SELECT count(), sum(n) FROM (" + sel + "k, sum(n) AS n FROM vigil_rollup_1m ARRAY JOIN mapKeys(hist) AS k, mapValues(hist) AS n WHERE " + where + " AND (" + hc + ") AND NOT (" + core + ") GROUP BY model, version, measure, tm, k)");
                sqls.put("B4 groupArray maps", "SELECT count(), sum(length(hm)) FROM (" + sel + "groupArray(hist) AS hm FROM vigil_rollup_1m WHERE " + where + " AND (" + hc + ") AND NOT (" + core + ") GROUP BY model, version, measure, tm)");
                sqls.put("SELECT 1", "SELECT 1");
                var ds = new JdbcDataSource(t.jdbcUrl, "default", "");
                for (var e : sqls.entrySet()) {
                    fetches.put("sql " + e.getKey(), () -> {
                        try (var c = ds.getConnection(); var st = c.createStatement(); var rs = st.executeQuery(e.getValue())) {
                            rs.next();
                            return rs.getString(1);
                        }
                    });
                }
            }
            for (var e : fetches.entrySet()) {
                report(e.getKey(), e.getValue(), null, null);
            }
            for (String q : List.of(
                    "histogram_quantile(0.95, sum by (le, model) (rate(inference_latency_ms_bucket{model=~\".*\", version=~\".*\"}[5m])))",
                    "vigil_model_drift_psi{model=~\".*\", version=~\".*\"}",
                    "vigil_model_latency_p99_ms{model=~\".*\", version=~\".*\"}")) {
                String eff = PushdownRewriter.rewrite(q);
                long[] selCpu = {0};
                long[] selWall = {0};
                Storage base = storage.forTenant("demo", QueryGuard.unlimited());
                Storage timed = (mint, maxt) -> {
                    Querier in = base.querier(mint, maxt);
                    return new Querier() {
                        @Override
                        public List<SeriesData> select(SelectHints h, List<Matcher> m) {
                            long c0 = tmx.getCurrentThreadCpuTime(), w0 = System.nanoTime();
                            try {
                                return in.select(h, m);
                            } finally {
                                selCpu[0] += tmx.getCurrentThreadCpuTime() - c0;
                                selWall[0] += System.nanoTime() - w0;
                            }
                        }

                        @Override
                        public void close() {
                            in.close();
                        }
                    };
                };
                report(q, () -> engine.rangeQuery(timed, eff, startMs, endMs, 20_000, QueryContext.unlimited()), selCpu, selWall);
                var plan = dev.vigil.query.storage.HistogramQuantilePath.plan(eff);
                if (plan != null) {
                    report("(quantile path) " + q, () -> {
                        if (dev.vigil.query.storage.HistogramQuantilePath.rangeQuery(timed, QueryGuard.unlimited(), plan, startMs, endMs, 20_000, 0) == null) {
                            throw new AssertionError("no fast path for " + eff);
                        }
                        return null;
                    }, selCpu, selWall);
                }
            }
        }
    }

    /**
     * Runs {@code body} 2 + RUNS times and prints the medians of the last RUNS: wall, thread CPU,
     * process CPU and, when given, the storage selects' CPU and wall (accumulated into
     * {@code selCpu}/{@code selWall} by the caller's timed storage, reset here before each run).
     */
    static void report(String label, java.util.concurrent.Callable<?> body, long[] selCpu, long[] selWall) throws Exception {
        ThreadMXBean tmx = ManagementFactory.getThreadMXBean();
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        List<Double> wall = new ArrayList<>(), cpu = new ArrayList<>(), proc = new ArrayList<>(), sc = new ArrayList<>(), sw = new ArrayList<>();
        for (int r = -2; r < RUNS; r++) {
            if (selCpu != null) {
                selCpu[0] = 0;
                selWall[0] = 0;
            }
            long c0 = tmx.getCurrentThreadCpuTime(), p0 = os.getProcessCpuTime(), w0 = System.nanoTime();
            body.call();
            if (r >= 0) {
                wall.add((System.nanoTime() - w0) / 1e6);
                cpu.add((tmx.getCurrentThreadCpuTime() - c0) / 1e6);
                proc.add((os.getProcessCpuTime() - p0) / 1e6);
                if (selCpu != null) {
                    sc.add(selCpu[0] / 1e6);
                    sw.add(selWall[0] / 1e6);
                }
            }
        }
        if (selCpu == null) {
            System.out.printf("BENCH profile %-60.60s wall %7.1f ms, thread CPU %7.1f ms, process CPU %7.1f ms (medians of %d)%n",
                    label, med(wall), med(cpu), med(proc), RUNS);
        } else {
            System.out.printf("BENCH profile %-60.60s wall %7.1f ms, thread CPU %7.1f ms (select: CPU %7.1f, wall %7.1f), process CPU %7.1f ms (medians of %d)%n",
                    label, med(wall), med(cpu), med(sc), med(sw), med(proc), RUNS);
        }
    }

    static double med(List<Double> l) {
        List<Double> s = new ArrayList<>(l);
        s.sort(null);
        return s.get((s.size() - 1) / 2);
    }
}
