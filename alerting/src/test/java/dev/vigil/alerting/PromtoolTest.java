package dev.vigil.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped pack under the real promtool (Debian's prometheus 2.42, unpacked by
 * rules/fetch-promtool.sh into ~/.cache/vigil/promtool): check rules and test rules.
 */
class PromtoolTest {
    static Path promtool;

    record Run(int exit, String output) {
    }

    static Run exec(List<String> cmd, Path dir) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("%s finished", cmd).isTrue();
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @BeforeAll
    static void fetch() throws Exception {
        Run r = exec(List.of("bash", ShippedRulePackTest.RULES.resolve("fetch-promtool.sh").toString()), ShippedRulePackTest.RULES);
        assertThat(r.exit()).as("fetch-promtool.sh: %s", r.output()).isZero();
        String[] lines = r.output().strip().split("\n");
        promtool = Path.of(lines[lines.length - 1].strip());
        assertThat(promtool).isExecutable();
        assertThat(exec(List.of(promtool.toString(), "--version"), ShippedRulePackTest.RULES).output()).contains("2.42");
    }

    @Test
    void promtoolAcceptsEveryShippedRuleFile() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(promtool.toString(), "check", "rules"));
        for (Path f : ShippedRulePackTest.ruleFiles()) {
            cmd.add(f.toString());
        }
        Run r = exec(cmd, ShippedRulePackTest.RULES);
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("SUCCESS").doesNotContain("FAILED");
    }

    @Test
    void shippedUnitTestsPassUnderPromtool() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(promtool.toString(), "test", "rules"));
        for (Path f : ShippedRulePackTest.testFiles()) {
            cmd.add(f.toString());
        }
        Run r = exec(cmd, ShippedRulePackTest.RULES.resolve("tests"));
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).doesNotContain("FAILED");
    }

    @Test
    void promtoolAndVigilBothRejectAWrongExpectation(@TempDir Path tmp) throws Exception {
        String text = Files.readString(ShippedRulePackTest.RULES.resolve("tests/ml-health.test.yaml"))
                .replace("../ml-health.yaml", ShippedRulePackTest.RULES.resolve("ml-health.yaml").toString())
                .replace("eval_time: 22m", "eval_time: 21m30s");
        Path f = tmp.resolve("shifted.test.yaml");
        Files.writeString(f, text);
        Run r = exec(List.of(promtool.toString(), "test", "rules", f.toString()), tmp);
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.output()).contains("alertname: ModelErrorRateHigh");
        assertThat(dev.vigil.alerting.promtool.RuleUnitTests.run(f).errors()).singleElement().asString()
                .contains("alertname: ModelErrorRateHigh");
    }

    @Test
    void promtoolAndVigilAgreeOnAnInvalidRuleFile(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("bad.yaml");
        Files.writeString(f, """
                groups:
                  - name: g
                    rules:
                      - alert: X
                        expr: up == 0
                        annotations:
                          summary: '{{ $labels.instance'
                """);
        Run r = exec(List.of(promtool.toString(), "check", "rules", f.toString()), tmp);
        assertThat(r.exit()).isNotZero();
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> dev.vigil.alerting.rules.RuleFiles.parseFile(f.toString(), Files.readString(f), e -> { }))
                .hasMessageContaining("summary");
    }
}
