package dev.vigil.query.experiments;

import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.vigil.clickhouse.EmbeddedClickHouse;

/**
 * Benchmark of the experiment pushdown (docs/experiments-api.md, "Performance"): N units spread over
 * E experiments of one tenant (default 10,000,000 units, 1,000 experiments, 5 metrics each: a proportion, a mean,
 * two ratios and a p95 quantile), written
 * with INSERT ... SELECT as the aggregator would have; then one report (fresh, no cache) and all
 * reports of the tenant (fresh) are timed.
 *
 * <pre>
 * export VIGIL_CHDB_LIB=$(scripts/fetch-chdb.sh)
 * mvn -B -q -pl query-api -am test-compile dependency:build-classpath -Dmdep.outputFile=target/test-cp.txt -Dmdep.includeScope=test
 * java --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx2g \
 *   -cp query-api/target/test-classes:query-api/target/classes:$(cat query-api/target/test-cp.txt) \
 *   dev.vigil.query.experiments.ExperimentsBenchmark [units] [experiments] [batchSize] [parallelism]
 * </pre>
 * VIGIL_BENCH_DIR keeps the embedded data directory between runs (data is generated once).
 * CLICKHOUSE_URL (e.g. jdbc:clickhouse:http://127.0.0.1:8123) uses a ClickHouse server instead of embedded chDB.
 */
public final class ExperimentsBenchmark {
    static final String T = "bench";

    public static void main(String[] args) throws Exception {
        long units = args.length > 0 ? Long.parseLong(args[0]) : 10_000_000L;
        int experiments = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        int batchSize = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        int parallelism = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        EmbeddedClickHouse ch = null;
        String ext = System.getenv("CLICKHOUSE_URL");
        String base;
        if (ext == null || ext.isBlank()) {
            String dir = System.getenv("VIGIL_BENCH_DIR"); // keep the data between runs
            ch = EmbeddedClickHouse.start(dir != null ? java.nio.file.Path.of(dir) : Files.createTempDirectory("vigil-exp-bench-"));
            base = ch.jdbcUrl().substring(0, ch.jdbcUrl().lastIndexOf('/'));
        } else {
            base = ext.replaceAll("/+$", "");
        }
        try {
            JdbcDataSource root = new JdbcDataSource(base + "/default", "default", "");
            SchemaFixture.exec(root, "CREATE DATABASE IF NOT EXISTS vigil_bench");
            var longTimeout = new java.util.Properties();
            longTimeout.setProperty("socket_timeout", "3600000"); // bulk generation on a busy machine
            JdbcDataSource ds = new JdbcDataSource(base + "/vigil_bench", "default", "", longTimeout);
            for (String ddl : SchemaFixture.DDL) SchemaFixture.exec(ds, ddl);
            SchemaFixture.exec(ds, ExperimentRegistry.DDL);
            Instant now = Instant.now();
            Instant start = LocalDate.now(ZoneOffset.UTC).minusDays(1).atStartOfDay(ZoneOffset.UTC).toInstant();
            long existing = count(ds, "SELECT count() FROM vigil_exposures WHERE tenant = '" + T + "'");
            if (existing != units) {
                for (String t : new String[]{"vigil_exposures", "vigil_experiment_units", "vigil_experiment_unit_totals",
                        "vigil_experiment_unit_hist", "vigil_experiments"})
                    SchemaFixture.exec(ds, "TRUNCATE TABLE " + t);
                long t0 = System.nanoTime();
                generate(ds, units, experiments);
                System.out.printf("generated %,d units in %,d experiments: %,d exposure rows, %,d unit rows in %.1f s%n", units,
                        experiments, count(ds, "SELECT count() FROM vigil_exposures"),
                        count(ds, "SELECT count() FROM vigil_experiment_units"), (System.nanoTime() - t0) / 1e9);
                SchemaFixture.exec(ds, "OPTIMIZE TABLE vigil_exposures FINAL");
                SchemaFixture.exec(ds, "OPTIMIZE TABLE vigil_experiment_units FINAL");
                SchemaFixture.exec(ds, "OPTIMIZE TABLE vigil_experiment_unit_totals FINAL");
                SchemaFixture.exec(ds, "OPTIMIZE TABLE vigil_experiment_unit_hist FINAL");
                List<String> rows = new ArrayList<>();
                for (int e = 0; e < experiments; e++) {
                    String id = "exp-" + e;
                    ExperimentSpec spec = ExperimentSpec.parse(id, 1, definition(start).getBytes());
                    rows.add("('" + T + "', " + Sql.str(id) + ", 1, 0, " + Sql.str(spec.json()) + ", now64(3))");
                }
                SchemaFixture.exec(ds, "INSERT INTO vigil_experiments (tenant, id, version, deleted, definition_json, created_at) VALUES "
                        + String.join(",", rows));
            } else {
                System.out.printf("reusing %,d units already in vigil_bench%n", units);
            }
            ExperimentRegistry registry = new ExperimentRegistry(ds, Clock.systemUTC());
            ExperimentReports reports = new ExperimentReports(registry, new ExperimentStats(ds, batchSize, parallelism),
                    Clock.systemUTC(), Duration.ZERO);
            // one experiment, fresh each time
            long[] one = new long[7];
            String decision = null;
            for (int i = 0; i < one.length; i++) {
                long t0 = System.nanoTime();
                var v = reports.report(T, "exp-" + (7 + i), false);
                one[i] = (System.nanoTime() - t0) / 1_000_000;
                decision = v.report().decision() + " (" + v.report().metrics().size() + " metric results, units "
                        + v.report().srm().observedUnits() + ")";
            }
            System.out.println("one report, ms per run: " + Arrays.toString(one) + "; e.g. " + decision);
            // "merged" means merged: a reused data set may hold the unmerged rows of an earlier bench.unmerged run
            for (String t : new String[]{"vigil_experiment_unit_totals", "vigil_experiment_unit_hist"})
                SchemaFixture.exec(ds, "OPTIMIZE TABLE " + t + " FINAL");
            timeAll(reports, batchSize, parallelism, "all parts merged");
            if (Boolean.getBoolean("bench.unmerged")) {
                // steady state under ingestion: a second day of rows for 10 % of the units, in parts not merged yet,
                // so FINAL has to merge those units' rows while reading
                long t0 = System.nanoTime();
                SchemaFixture.exec(ds, "INSERT INTO vigil_experiment_units SELECT tenant, experiment, variant, type, measure, unit_id, "
                        + "day - 1, count, sum, sum_sq FROM vigil_experiment_units WHERE tenant = '" + T + "' AND cityHash64(unit_id) % 10 = 0 "
                        + "AND day = today() SETTINGS insert_deduplicate = 0");
                System.out.printf("added a second day for 10%% of the units (unmerged parts) in %.1f s; totals parts: %d%n",
                        (System.nanoTime() - t0) / 1e9, count(ds, "SELECT count() FROM system.parts WHERE active AND database = currentDatabase() "
                                + "AND table = 'vigil_experiment_unit_totals'"));
                timeAll(reports, batchSize, parallelism, "10% of units in unmerged parts");
            }
            System.out.println("now " + now);
        } finally {
            if (ch != null) ch.close();
        }
    }

    static void timeAll(ExperimentReports reports, int batchSize, int parallelism, String state) throws Exception {
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long[] all = new long[3], cpu = new long[3];
        int n = 0;
        for (int i = 0; i < all.length; i++) {
            double load = os.getSystemLoadAverage();
            long c0 = os.getProcessCpuTime(), t0 = System.nanoTime();
            n = reports.reports(T).size();
            all[i] = (System.nanoTime() - t0) / 1_000_000;
            cpu[i] = (os.getProcessCpuTime() - c0) / 1_000_000;
            System.out.printf("  run %d: wall %,d ms, CPU of this process (Java + embedded ClickHouse) %,d ms, load average before %.1f on %d cores%n",
                    i + 1, all[i], cpu[i], load, os.getAvailableProcessors());
        }
        System.out.println("all " + n + " reports (" + state + "), ms per run: " + Arrays.toString(all) + ", CPU ms: " + Arrays.toString(cpu)
                + " (batch " + batchSize + " experiments per statement, " + parallelism + " statements at once)");
    }

    static String definition(Instant start) {
        return """
                {"variants":[{"id":"control","allocation":0.5,"control":true},{"id":"treatment","allocation":0.5,"control":false}],
                 "start":"%s","end":"%s","randomisationUnit":"user_id",
                 "successMetrics":[{"metricId":"purchase","kind":"PROPORTION","goodDirection":"INCREASE"},
                                   {"metricId":"purchase.amount","kind":"MEAN","goodDirection":"INCREASE"}],
                 "guardrailMetrics":[
                   {"metricId":"inference.latency_ms","kind":"RATIO","harmDirection":"INCREASE","margin":{"type":"RELATIVE","value":0.05}},
                   {"metricId":"inference.error/inference","kind":"RATIO","harmDirection":"INCREASE","margin":{"type":"ABSOLUTE","value":0.01}},
                   {"metricId":"latency_p95","kind":"QUANTILE","quantile":0.95,"harmDirection":"INCREASE","margin":{"type":"RELATIVE","value":0.05}}],
                 "sources":{"latency_p95":{"type":"inference","measure":"latency_ms"}}}
                """.formatted(start, start.plus(Duration.ofDays(14)));
    }

    static long count(JdbcDataSource ds, String sql) throws Exception {
        try (var c = ds.getConnection(); var s = c.createStatement(); var rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static void generate(JdbcDataSource ds, long units, int experiments) throws Exception {
        long chunk = 1_000_000;
        for (long off = 0; off < units; off += chunk) {
            long n = Math.min(chunk, units - off);
            String src = "SELECT number AS u, concat('exp-', toString(u % " + experiments + ")) AS exp, "
                    + "if(cityHash64(u, 1) % 2 = 0, 'control', 'treatment') AS variant, concat('u', toString(u)) AS unit "
                    + "FROM numbers(" + off + ", " + n + ")";
            SchemaFixture.exec(ds, "INSERT INTO vigil_exposures (tenant, experiment, variant, unit_id, first_seen, last_seen, events) "
                    + "SELECT '" + T + "', exp, variant, unit, now64(3) - 3600, now64(3), 1 FROM (" + src + ")");
            SchemaFixture.exec(ds, "INSERT INTO vigil_experiment_units (tenant, experiment, variant, type, measure, unit_id, day, count, sum, sum_sq) "
                    + "SELECT '" + T + "', exp, variant, t.1, t.2, unit, today(), t.3, t.4, t.5 FROM ("
                    + "SELECT exp, variant, unit, 1 + cityHash64(u, 2) % 5 AS k, 100 * (1 + (cityHash64(u, 3) % 1000) / 1000.) AS lat, "
                    + "toUInt64(cityHash64(u, 4) % 50 = 0) AS err, toUInt64(cityHash64(u, 5) % 10 = 0) AS buys, "
                    + "10 + (cityHash64(u, 6) % 4000) / 100. AS amount FROM (" + src + ")) "
                    + "ARRAY JOIN arrayFilter(x -> x.3 > 0, [('inference', '', k, toFloat64(k), toFloat64(k)), "
                    + "('inference', 'latency_ms', k, k * lat, k * lat * lat), ('inference', 'error', k, toFloat64(err), toFloat64(err)), "
                    + "('purchase', '', buys, toFloat64(buys), toFloat64(buys)), "
                    + "('purchase', 'amount', buys, buys * amount, buys * amount * amount)]) AS t");
            // the unit's latency values in its log-bucket histogram (LogBuckets.key: ceil(log(v) / log(1.01)))
            SchemaFixture.exec(ds, "INSERT INTO vigil_experiment_unit_hist (tenant, experiment, variant, type, measure, unit_id, last_day, hist) "
                    + "SELECT '" + T + "', exp, variant, 'inference', 'latency_ms', unit, today(), "
                    + "map(toInt32(ceil(log(lat) / log(1.01))), toUInt64(k)) FROM (SELECT exp, variant, unit, 1 + cityHash64(u, 2) % 5 AS k, "
                    + "100 * (1 + (cityHash64(u, 3) % 1000) / 1000.) AS lat FROM (" + src + "))");
        }
    }
}
