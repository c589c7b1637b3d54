package dev.vigil.alerting;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.vigil.alerting.promtool.RuleUnitTests;
import dev.vigil.alerting.rules.AlertingRuleDef;
import dev.vigil.alerting.rules.GroupDef;
import dev.vigil.alerting.rules.RuleDef;
import dev.vigil.alerting.rules.RuleFiles;
import dev.vigil.promql.parser.Parser;

/** The shipped rule pack under Vigil's own evaluator and parser (promtool itself: {@link PromtoolTest}). */
class ShippedRulePackTest {
    static final Path RULES = Path.of("..", "rules").toAbsolutePath().normalize();
    static final Path DOCS = Path.of("..", "docs").toAbsolutePath().normalize();

    static List<Path> ruleFiles() throws IOException {
        try (Stream<Path> s = Files.list(RULES)) {
            return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
    }

    static List<Path> testFiles() throws IOException {
        try (Stream<Path> s = Files.list(RULES.resolve("tests"))) {
            return s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
    }

    @Test
    void everyShippedTestFilePassesUnderVigilsEvaluator() throws IOException {
        List<Path> files = testFiles();
        assertThat(files).hasSizeGreaterThanOrEqualTo(3);
        for (Path f : files) {
            RuleUnitTests.Result r = RuleUnitTests.run(f);
            assertThat(r.errors()).as("Vigil's evaluator on %s", f.getFileName()).isEmpty();
        }
    }

    @Test
    void theRunnerReportsWrongExpectations(@TempDir Path tmp) throws IOException {
        // The same pipeline test with one expectation altered must fail, naming the alert.
        String text = Files.readString(RULES.resolve("tests/pipeline.test.yaml"), StandardCharsets.UTF_8)
                .replace("../pipeline.yaml", RULES.resolve("pipeline.yaml").toString())
                .replace("lags 420k records", "lags 421k records");
        Path f = tmp.resolve("broken.test.yaml");
        Files.writeString(f, text);
        RuleUnitTests.Result r = RuleUnitTests.run(f);
        assertThat(r.passed()).isFalse();
        assertThat(String.join("\n", r.errors())).contains("alertname: AggregatorConsumerLagHigh").contains("420k");
    }

    @Test
    void everyAlertHasSummaryDescriptionAndAnExistingRunbook() throws IOException {
        int alerts = 0;
        for (Path f : ruleFiles()) {
            for (GroupDef g : RuleFiles.parseFile(f.toString(), Files.readString(f), Parser::parse)) {
                for (RuleDef r : g.rules()) {
                    if (!(r instanceof AlertingRuleDef a)) {
                        continue;
                    }
                    alerts++;
                    assertThat(a.annotations()).as(a.alert()).containsKeys("summary", "description", "runbook_url");
                    assertThat(a.labels()).as(a.alert()).containsKey("severity");
                    String rb = a.annotations().get("runbook_url");
                    assertThat(rb).startsWith("docs/runbooks/");
                    Path page = DOCS.getParent().resolve(rb);
                    assertThat(page).as("runbook of %s", a.alert()).exists();
                    String body = Files.readString(page);
                    assertThat(body).as("runbook %s names its alert", rb).contains(a.alert());
                    assertThat(body.toLowerCase()).as("runbook %s", rb).contains("check").contains("do");
                }
            }
        }
        assertThat(alerts).isGreaterThanOrEqualTo(11);
    }

    @Test
    void thePackUsesOnlyContractSeries() throws IOException {
        // Every metric name the pack reads is a contract series (docs/alerting.md) or a recording rule of the pack.
        String contract = Files.readString(DOCS.resolve("alerting.md"));
        List<String> recorded = new ArrayList<>();
        List<String> exprs = new ArrayList<>();
        for (Path f : ruleFiles()) {
            for (GroupDef g : RuleFiles.parseFile(f.toString(), Files.readString(f), Parser::parse)) {
                for (RuleDef r : g.rules()) {
                    exprs.add(r.expr());
                    if (!(r instanceof AlertingRuleDef)) {
                        recorded.add(r.name());
                    }
                }
            }
        }
        Pattern metric = Pattern.compile("\\b((?:inference|vigil)_[a-z0-9_]+)");
        for (String e : exprs) {
            Matcher m = metric.matcher(e);
            while (m.find()) {
                String name = m.group(1);
                if (recorded.contains(name)) {
                    continue;
                }
                assertThat(contract).as("series %s is documented in docs/alerting.md", name).contains("`" + name);
            }
        }
    }
}
