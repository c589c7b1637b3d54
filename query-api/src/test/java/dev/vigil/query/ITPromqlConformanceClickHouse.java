package dev.vigil.query;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.vigil.promql.Labels;
import dev.vigil.promql.storage.AppendableStorage;
import dev.vigil.promql.storage.Appender;
import dev.vigil.promql.storage.InMemoryStorage;
import dev.vigil.promql.storage.Querier;
import dev.vigil.promql.test.PromqlTestRunner;
import dev.vigil.promql.test.PromqlTestRunner.Outcome;
import dev.vigil.promql.test.PromqlTestScript;
import dev.vigil.query.storage.ClickHouseStorage;
import dev.vigil.query.storage.QueryGuard;

/**
 * A sample of the Prometheus promqltest scripts run against the ClickHouse storage (series loaded
 * into vigil_samples through the runner's appender), each eval held to the same outcome as with the
 * in-memory storage. Pass counts are written to target/promqltest-clickhouse.txt and docs/query-api.md.
 */
class ITPromqlConformanceClickHouse {
    static final List<String> FILES = List.of(System.getProperty("vigil.ch-conformance.files",
            "selectors.test,aggregators.test,staleness.test,range_queries.test,literals.test,collision.test").split(","));
    static TestTables tables;
    static ClickHouseStorage storage;

    /** vigil_samples as an AppendableStorage for one fixed tenant. */
    static final class ChAppendable implements AppendableStorage {
        @Override
        public Appender appender() {
            List<TestTables.SampleRow> rows = new ArrayList<>();
            return new Appender() {
                @Override
                public void append(Labels labels, long t, double v) {
                    rows.add(new TestTables.SampleRow("conformance", labels.metricName(),
                            new TreeMap<>(labels.withoutName().toMap()), t, v));
                }

                @Override
                public void commit() {
                    try {
                        tables.insertSamples(rows);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    rows.clear();
                }
            };
        }

        @Override
        public void clear() {
            tables.ch.execute("TRUNCATE TABLE vigil_samples", Map.of());
        }

        @Override
        public Querier querier(long mint, long maxt) {
            return storage.forTenant("conformance", QueryGuard.unlimited()).querier(mint, maxt);
        }
    }

    @BeforeAll
    static void setUp() throws Exception {
        tables = TestTables.create("it_conf");
        storage = new ClickHouseStorage(tables.ch, new ClickHouseStorage.Settings(10, 300_000, 0, System::currentTimeMillis), List.of());
    }

    @AfterAll
    static void tearDown() {
        tables.close();
    }

    static Path dir() {
        Path p = Paths.get("").toAbsolutePath();
        while (p != null) {
            for (String rel : List.of("shared/conformance/promqltest", "../shared/conformance/promqltest")) {
                Path c = p.resolve(rel).normalize();
                if (Files.isDirectory(c)) {
                    return c;
                }
            }
            p = p.getParent();
        }
        throw new IllegalStateException("promqltest directory not found");
    }

    @Test
    void sampleOfPromqltestScriptsAgreesWithInMemoryStorage() throws Exception {
        StringBuilder report = new StringBuilder("| script | evals | pass (ClickHouse) | pass (in-memory) | same outcome |\n|---|---|---|---|---|\n");
        List<String> diffs = new ArrayList<>();
        int tp = 0, tm = 0, tt = 0, ts = 0;
        for (String f : FILES) {
            PromqlTestScript script = PromqlTestScript.load(dir().resolve(f.trim()));
            List<Outcome> ch = new PromqlTestRunner(() -> {
                ChAppendable s = new ChAppendable();
                s.clear();
                return s;
            }).run(script);
            List<Outcome> mem = new PromqlTestRunner(InMemoryStorage::new).run(script);
            int pc = 0, pm = 0, same = 0;
            for (int i = 0; i < ch.size(); i++) {
                if (ch.get(i).passed()) {
                    pc++;
                }
                if (mem.get(i).passed()) {
                    pm++;
                }
                if (ch.get(i).passed() == mem.get(i).passed()) {
                    same++;
                } else {
                    diffs.add(ch.get(i).id() + " `" + ch.get(i).eval().query() + "`: clickhouse=" + ch.get(i).message() + " memory=" + mem.get(i).message());
                }
            }
            report.append("| ").append(f).append(" | ").append(ch.size()).append(" | ").append(pc).append(" | ").append(pm)
                    .append(" | ").append(same).append(" |\n");
            tp += pc;
            tm += pm;
            tt += ch.size();
            ts += same;
        }
        report.append("| total | ").append(tt).append(" | ").append(tp).append(" | ").append(tm).append(" | ").append(ts).append(" |\n");
        System.out.println(report);
        diffs.forEach(System.out::println);
        Path target = Paths.get("target");
        if (Files.isDirectory(target)) {
            Files.writeString(target.resolve("promqltest-clickhouse.txt"), report + String.join("\n", diffs) + "\n");
        }
        assertTrue(diffs.isEmpty(), diffs.size() + " evals differ between ClickHouse and in-memory storage:\n" + String.join("\n", diffs));
    }
}
