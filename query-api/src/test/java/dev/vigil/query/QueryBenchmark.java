package dev.vigil.query;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;

import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.engine.EngineOptions;
import dev.vigil.promql.engine.QueryContext;
import dev.vigil.promql.engine.Value;
import dev.vigil.query.storage.ClickHouseStorage;
import dev.vigil.query.storage.PushdownRewriter;
import dev.vigil.query.storage.QueryGuard;

/**
 * Benchmark (not part of `mvn verify`; run with query-api/bench.sh): range queries over 1,000
 * event series for 24 h at a 60 s step through the engine and the ClickHouse storage, next to
 * the equivalent hand-written ClickHouse SQL in the same session.
 */
class QueryBenchmark {
    static final int SERIES = Integer.getInteger("bench.series", 1000);
    static final int RUNS = Integer.getInteger("bench.runs", 30);

    record Stat(String name, double p50, double p99) {
    }

    static Stat measure(String name, Supplier<Object> run) {
        return interleaved(List.of(name), List.of(run)).get(0);
    }

    /**
     * Runs the candidates in turn (a, b, a, b, ...) after 5 warm-ups each, so that a change of
     * machine load (the 2 cores are shared, and ClickHouse merges parts in the background) affects
     * all of them alike instead of whichever happened to run first.
     */
    static List<Stat> interleaved(List<String> names, List<Supplier<Object>> runs) {
        int k = runs.size();
        for (int i = 0; i < Math.min(5, RUNS); i++) {
            runs.forEach(Supplier::get);
        }
        double[][] ms = new double[k][RUNS];
        for (int i = 0; i < RUNS; i++) {
            for (int j = 0; j < k; j++) {
                long t0 = System.nanoTime();
                runs.get(j).get();
                ms[j][i] = (System.nanoTime() - t0) / 1e6;
            }
        }
        List<Stat> out = new ArrayList<>();
        for (int j = 0; j < k; j++) {
            Arrays.sort(ms[j]);
            Stat s = new Stat(names.get(j), ms[j][(int) Math.floor(0.5 * (RUNS - 1))], ms[j][(int) Math.ceil(0.99 * (RUNS - 1))]);
            report(String.format("BENCH %-70s p50 %8.1f ms  p99 %8.1f ms (runs %d)%n", s.name, s.p50, s.p99, RUNS));
            out.add(s);
        }
        return out;
    }

    static void report(String line) {
        System.out.print(line);
        try {
            java.nio.file.Files.writeString(java.nio.file.Path.of("target/bench.txt"), line, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        } catch (java.io.IOException ignored) {
            // console only
        }
    }

    /** The benchmark's data: SERIES event series (10 regions) with one 1-minute row each from 10 minutes before start to end. */
    static void loadSeries(TestTables t, long start, long end) throws Exception {
        Random r = new Random(1);
        List<TestTables.RollupRow> rows = new ArrayList<>();
        for (int s = 0; s < SERIES; s++) {
            SortedMap<String, String> dims = new TreeMap<>(Map.of("svc", "s" + s, "region", "r" + (s % 10)));
            for (long b = start - 10 * 60_000; b < end; b += 60_000) {
                long c = 1 + r.nextInt(20);
                rows.add(new TestTables.RollupRow("bench", "event", "bench", "", dims, b / 1000, c, c, c, 1, 1, Map.of()));
            }
            if (rows.size() > 200_000) {
                t.insertRollups(rows);
                rows.clear();
            }
        }
        t.insertRollups(rows);
    }

    /** Waits (at most a minute) until ClickHouse has no merge running, so the measured runs do not race the load's merges. */
    static void awaitMerges(TestTables t) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        int quiet = 0;
        while (quiet < 3 && System.nanoTime() < deadline) {
            long[] n = {0};
            t.ch.select("SELECT count() AS n FROM system.merges", Map.of(), null, r -> n[0] = r.getLong(1));
            quiet = n[0] == 0 ? quiet + 1 : 0;
            Thread.sleep(500);
        }
    }

    @Test
    void benchmark() throws Exception {
        long hour = 3_600_000L;
        long end = Math.floorDiv(System.currentTimeMillis(), hour) * hour;
        long start = end - 24 * hour;
        try (TestTables t = TestTables.create("bench")) {
            long t0 = System.nanoTime();
            loadSeries(t, start, end);
            System.out.flush();
            awaitMerges(t);
            System.out.printf("BENCH loaded %d series x 24h in %.1f s (merges settled)%n", SERIES, (System.nanoTime() - t0) / 1e9);
            ClickHouseStorage st = new ClickHouseStorage(t.ch, new ClickHouseStorage.Settings(10, 300_000, 60_000, System::currentTimeMillis), List.of());
            Engine engine = new Engine(EngineOptions.defaults().withMaxSamples(200_000_000L));
            List<String> out = new ArrayList<>();
            String[][] cases = {
                    {"sum(rate(bench_events_total[5m]))", ""},
                    {"sum by (region) (rate(bench_events_total[5m]))", "region"},
                    {"rate(bench_events_total[5m])", "svc"}};
            int ncases = Integer.getInteger("bench.cases", cases.length);
            for (String[] c : java.util.Arrays.copyOf(cases, ncases)) {
                String q = c[0];
                String rq = PushdownRewriter.rewrite(q);
                Supplier<Object> promqlRun = () -> engine.rangeQuery(st.forTenant("bench", QueryGuard.unlimited()), rq, start, end, 60_000,
                        QueryContext.unlimited()).value();
                String part = c[1].isEmpty() ? "" : "PARTITION BY g ";
                String key = c[1].isEmpty() ? "''" : "labels['" + c[1] + "']";
                String sql = "SELECT g, t, sum(c) OVER (" + part + "ORDER BY t ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) / 300 AS r FROM ("
                        + "SELECT " + key + " AS g, toUnixTimestamp(bucket) AS t, sum(count) AS c FROM vigil_rollup_1m WHERE tenant = {tenant:String}"
                        + " AND kind = 'event' AND name = 'bench' AND measure = '' AND bucket >= toDateTime({from:Int64}, 'UTC')"
                        + " AND bucket < toDateTime({to:Int64}, 'UTC') GROUP BY g, bucket) ORDER BY g, t";
                Map<String, Object> p = Map.of("tenant", "bench", "from", (start - 300_000) / 1000, "to", end / 1000);
                Supplier<Object> handRun = () -> {
                    double[] sum = {0};
                    t.ch.select(sql, p, null, row -> sum[0] += row.getDouble("r"));
                    return sum[0];
                };
                List<Stat> both = interleaved(List.of("promql " + q, "sql    " + q), List.of(promqlRun, handRun));
                Stat promql = both.get(0);
                Stat hand = both.get(1);
                out.add(String.format("| `%s` | %.1f | %.1f | %.1f | %.1f | %.2f |", q, promql.p50, promql.p99, hand.p50, hand.p99, promql.p50 / hand.p50));
            }
            // sanity: the pushed-down and engine-side results agree (same series, same points)
            boolean agree = true;
            for (String q : List.of("sum(rate(bench_events_total[5m]))", "sum by (region) (rate(bench_events_total[5m]))")) {
                Value a = engine.rangeQuery(st.forTenant("bench", QueryGuard.unlimited()), q, end - hour, end, 60_000, QueryContext.unlimited()).value();
                Value b = engine.rangeQuery(st.forTenant("bench", QueryGuard.unlimited()), PushdownRewriter.rewrite(q), end - hour, end, 60_000,
                        QueryContext.unlimited()).value();
                agree &= sameWithin(a, b);
            }
            System.out.println("BENCH pushdown agrees: " + agree);
            System.out.println("| query (1,000 series, 24 h, step 60 s) | PromQL p50 ms | PromQL p99 ms | SQL p50 ms | SQL p99 ms | ratio p50 |");
            System.out.println("|---|---|---|---|---|---|");
            out.forEach(System.out::println);
        }
    }

    static boolean sameWithin(Value a, Value b) {
        return sameWithin(a, b, 1e-9);
    }

    /** Same series (labels), same timestamps, values equal within {@code rel} relative error. */
    static boolean sameWithin(Value a, Value b, double rel) {
        List<dev.vigil.promql.engine.Series> sa = sorted(a);
        List<dev.vigil.promql.engine.Series> sb = sorted(b);
        if (sa.size() != sb.size() || sa.isEmpty()) {
            return false;
        }
        for (int k = 0; k < sa.size(); k++) {
            var x = sa.get(k);
            var y = sb.get(k);
            if (!x.labels().equals(y.labels()) || x.size() != y.size()) {
                return false;
            }
            for (int i = 0; i < x.size(); i++) {
                if (x.timestamp(i) != y.timestamp(i) || Math.abs(x.value(i) - y.value(i)) > rel * Math.abs(x.value(i))) {
                    return false;
                }
            }
        }
        return true;
    }

    private static List<dev.vigil.promql.engine.Series> sorted(Value v) {
        List<dev.vigil.promql.engine.Series> l = new ArrayList<>(((Value.Matrix) v).series());
        l.sort(java.util.Comparator.comparing(x -> x.labels().toString()));
        return l;
    }
}
