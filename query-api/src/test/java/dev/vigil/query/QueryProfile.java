package dev.vigil.query;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vigil.promql.Labels;
import dev.vigil.promql.Matcher;
import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.engine.EngineOptions;
import dev.vigil.promql.engine.QueryContext;
import dev.vigil.promql.storage.Querier;
import dev.vigil.promql.storage.SelectHints;
import dev.vigil.promql.storage.SeriesData;
import dev.vigil.query.storage.ClickHouseStorage;
import dev.vigil.query.storage.QueryGuard;

/**
 * Profiling harness (not part of `mvn verify`; {@code -Dit.test=QueryProfile}): the unaggregated
 * {@code rate(bench_events_total[5m])} of {@link QueryBenchmark} (1,000 series, 24 h, step 60 s),
 * with wall and thread CPU time of the storage's select apart from the whole query, and of the
 * ClickHouse statement alone (rows read and discarded).
 */
class QueryProfile {
    static final int RUNS = Integer.getInteger("bench.profile.runs", 8);

    @Test
    void profile() throws Exception {
        long hour = 3_600_000L;
        long end = Math.floorDiv(System.currentTimeMillis(), hour) * hour;
        long start = end - 24 * hour;
        try (TestTables t = TestTables.create("qprof")) {
            QueryBenchmark.loadSeries(t, start, end);
            QueryBenchmark.awaitMerges(t);
            ClickHouseStorage st = new ClickHouseStorage(t.ch, new ClickHouseStorage.Settings(10, 300_000, 60_000, System::currentTimeMillis), List.of());
            Engine engine = new Engine(EngineOptions.defaults().withMaxSamples(200_000_000L));
            ThreadMXBean tmx = ManagementFactory.getThreadMXBean();
            String q = "rate(bench_events_total[5m])";
            SelectHints h = new SelectHints(start - 300_000 + 1, end, 60_000, "rate", 300_000, List.of(), false);
            List<Matcher> ms = List.of(new Matcher(Matcher.Type.EQ, Labels.METRIC_NAME, "bench_events_total"));
            Map<String, Runnable> cases = new java.util.LinkedHashMap<>();
            cases.put("whole query", () -> engine.rangeQuery(st.forTenant("bench", QueryGuard.unlimited()), q, start, end, 60_000, QueryContext.unlimited()).value());
            cases.put("storage select", () -> {
                try (Querier qq = st.forTenant("bench", QueryGuard.unlimited()).querier(h.start(), h.end())) {
                    List<SeriesData> l = qq.select(h, ms);
                    if (l.size() != QueryBenchmark.SERIES) {
                        throw new AssertionError(l.size());
                    }
                }
            });
            String metric = "tenant = {tenant:String} AND kind = 'event' AND name = {type:String} AND measure = ''";
            String range = " AND bucket >= toDateTime({from:Int64}, 'UTC') AND bucket < toDateTime({to:Int64}, 'UTC')";
            Map<String, Object> p = Map.of("tenant", "bench", "type", "bench", "from", (start - 300_000) / 1000, "to", end / 1000);
            Map<String, String> sqls = new java.util.LinkedHashMap<>();
            sqls.put("sql general path", "SELECT mapKeys(any(lab)) AS lk, mapValues(any(lab)) AS lv, groupArray(b) AS bs, groupArray(c) AS cs FROM ("
                    + "SELECT series_id AS k, any(labels) AS lab, toInt64(toUnixTimestamp(bucket)) * 1000 AS b, toFloat64(sum(count)) AS c FROM vigil_rollup_1m WHERE "
                    + metric + range + " GROUP BY k, bucket) GROUP BY k");
            sqls.put("sql no labels", "SELECT k, groupArray(b) AS bs, groupArray(c) AS cs FROM ("
                    + "SELECT series_id AS k, toInt64(toUnixTimestamp(bucket)) * 1000 AS b, toFloat64(sum(count)) AS c FROM vigil_rollup_1m WHERE "
                    + metric + range + " GROUP BY k, bucket) GROUP BY k");
            sqls.put("sql no labels, no merge", "SELECT series_id AS k, groupArray(toInt64(toUnixTimestamp(bucket)) * 1000) AS bs, groupArray(toFloat64(count)) AS cs FROM vigil_rollup_1m WHERE "
                    + metric + range + " GROUP BY k");
            sqls.put("sql no labels, sorted", "SELECT k, arraySort(groupArray((b, c))) AS bc FROM ("
                    + "SELECT series_id AS k, toInt64(toUnixTimestamp(bucket)) * 1000 AS b, toFloat64(sum(count)) AS c FROM vigil_rollup_1m WHERE "
                    + metric + range + " GROUP BY k, bucket) GROUP BY k");
            sqls.put("sql labels from 1h", "SELECT series_id, mapKeys(any(labels)) AS lk, mapValues(any(labels)) AS lv FROM vigil_rollup_1h WHERE "
                    + metric + " AND bucket >= toStartOfHour(toDateTime({from:Int64}, 'UTC')) AND bucket < toDateTime({to:Int64}, 'UTC') GROUP BY series_id");
            sqls.put("sql hand", "SELECT g, t, sum(c) OVER (PARTITION BY g ORDER BY t ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) / 300 AS r FROM ("
                    + "SELECT labels['svc'] AS g, toUnixTimestamp(bucket) AS t, sum(count) AS c FROM vigil_rollup_1m WHERE " + metric + range + " GROUP BY g, bucket) ORDER BY g, t");
            sqls.put("sql hand no labels", "SELECT g, t, sum(c) OVER (PARTITION BY g ORDER BY t ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) / 300 AS r FROM ("
                    + "SELECT series_id AS g, toUnixTimestamp(bucket) AS t, sum(count) AS c FROM vigil_rollup_1m WHERE " + metric + range + " GROUP BY g, bucket) ORDER BY g, t");
            sqls.keySet().retainAll(java.util.Set.of(System.getProperty("bench.profile.sql", "sql no labels").split(",")));
            sqls.forEach((name, sql) -> cases.put(name, () -> {
                long[] n = {0};
                t.ch.select(sql, p, null, row -> n[0]++);
            }));
            for (Map.Entry<String, Runnable> c : cases.entrySet()) {
                for (int i = 0; i < 3; i++) {
                    c.getValue().run();
                }
                double[] wall = new double[RUNS], cpu = new double[RUNS];
                for (int i = 0; i < RUNS; i++) {
                    long c0 = tmx.getCurrentThreadCpuTime(), w0 = System.nanoTime();
                    c.getValue().run();
                    wall[i] = (System.nanoTime() - w0) / 1e6;
                    cpu[i] = (tmx.getCurrentThreadCpuTime() - c0) / 1e6;
                }
                Arrays.sort(wall);
                Arrays.sort(cpu);
                System.out.printf("BENCH profile %-20s wall p50 %8.1f ms  thread cpu p50 %8.1f ms (min %.1f / %.1f)%n", c.getKey(), wall[RUNS / 2], cpu[RUNS / 2],
                        wall[0], cpu[0]);
            }
        }
    }
}
