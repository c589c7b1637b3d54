package dev.vigil.promql;

import dev.vigil.promql.storage.InMemoryStorage;
import dev.vigil.promql.test.PromqlTestRunner;
import dev.vigil.promql.test.PromqlTestRunner.Outcome;
import dev.vigil.promql.test.PromqlTestScript;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs the Prometheus promqltest scripts (shared/conformance/promqltest/*.test) against the engine
 * with the in-memory storage. One dynamic test per eval, named file:line. Evals listed in
 * src/test/resources/expected-failures.txt must fail (the suite fails if one passes).
 */
class PromqlConformanceTest {
    private static final Map<String, int[]> COUNTS = new ConcurrentSkipListMap<>();

    static Path locateDir() {
        String prop = System.getProperty("vigil.promqltest.dir");
        if (prop != null && !prop.isBlank()) return Paths.get(prop);
        Path p = Paths.get("").toAbsolutePath();
        while (p != null) {
            for (String rel : List.of("shared/conformance/promqltest", "../shared/conformance/promqltest")) {
                Path c = p.resolve(rel).normalize();
                if (Files.isDirectory(c)) return c;
            }
            p = p.getParent();
        }
        throw new IllegalStateException("promqltest directory not found; set -Dvigil.promqltest.dir");
    }

    static Map<String, String> expectedFailures() throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        try (InputStream in = PromqlConformanceTest.class.getResourceAsStream("/expected-failures.txt")) {
            if (in == null) return m;
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String l = line.strip();
                if (l.isEmpty() || l.startsWith("#")) continue;
                int sp = l.indexOf(' ');
                if (sp < 0) m.put(l, "");
                else m.put(l.substring(0, sp), l.substring(sp + 1).strip());
            }
        }
        return m;
    }

    @TestFactory
    Stream<DynamicNode> promqltest() throws IOException {
        Path dir = locateDir();
        Map<String, String> expected = expectedFailures();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(f -> f.toString().endsWith(".test")).sorted().toList();
        }
        List<DynamicNode> nodes = new ArrayList<>();
        StringBuilder report = new StringBuilder();
        for (Path f : files) {
            PromqlTestScript script = PromqlTestScript.load(f);
            List<Outcome> outcomes = new PromqlTestRunner(InMemoryStorage::new).run(script);
            int[] c = new int[3]; // passed, expected failures, total
            List<DynamicNode> tests = new ArrayList<>();
            for (Outcome o : outcomes) {
                String id = o.id();
                boolean listed = expected.containsKey(id);
                c[2]++;
                if (o.passed()) c[0]++;
                else {
                    if (listed) c[1]++;
                    report.append(id).append(' ').append(o.message().replace('\n', ' ')).append('\n');
                }
                tests.add(DynamicTest.dynamicTest(id, () -> {
                    if (listed && o.passed()) fail(id + " is listed in expected-failures.txt but passed; remove it from the list");
                    if (!listed && !o.passed()) fail(id + " `" + o.eval().query() + "`: " + o.message());
                }));
            }
            COUNTS.put(f.getFileName().toString(), c);
            nodes.add(DynamicContainer.dynamicContainer(f.getFileName().toString(), tests));
        }
        Path target = Paths.get("target");
        if (Files.isDirectory(target)) Files.writeString(target.resolve("promqltest-failures.txt"), report.toString());
        return nodes.stream();
    }

    @AfterAll
    static void printCounts() {
        StringBuilder sb = new StringBuilder("\nPromQL conformance (passed / total, expected failures):\n");
        int p = 0, t = 0, x = 0;
        for (Map.Entry<String, int[]> e : new TreeMap<>(COUNTS).entrySet()) {
            int[] c = e.getValue();
            sb.append(String.format("  %-28s %4d / %4d   (expected failures: %d)%n", e.getKey(), c[0], c[2], c[1]));
            p += c[0]; t += c[2]; x += c[1];
        }
        sb.append(String.format("  %-28s %4d / %4d   (expected failures: %d)%n", "TOTAL", p, t, x));
        System.out.println(sb);
        try {
            Path target = Paths.get("target");
            if (Files.isDirectory(target)) Files.writeString(target.resolve("promqltest-summary.txt"), sb.toString());
        } catch (IOException ignored) { }
    }
}
