package dev.vigil.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vigil.alerting.template.AlertTemplate;
import dev.vigil.alerting.template.GoFormat;
import dev.vigil.alerting.template.GoPrintf;
import dev.vigil.alerting.template.Humanize;
import dev.vigil.alerting.template.TemplateException;

/** Expected strings are what Go (fmt, strconv) and Prometheus' template functions produce. */
class TemplateTest {
    static String expand(String t, double value) {
        return AlertTemplate.parse("t", t).expand(new AlertTemplate.Data(Map.of("model", "fraud", "__name__", "x"),
                Map.of("cluster", "eu1"), "http://vigil:9090", value));
    }

    @Test
    void goFloatFormatting() {
        assertThat(GoFormat.v(1e6)).isEqualTo("1e+06");
        assertThat(GoFormat.v(123456.7)).isEqualTo("123456.7");
        assertThat(GoFormat.v(0.1)).isEqualTo("0.1");
        assertThat(GoFormat.v(1e-05)).isEqualTo("1e-05");
        assertThat(GoFormat.v(0.0001)).isEqualTo("0.0001");
        assertThat(GoFormat.v(2)).isEqualTo("2");
        assertThat(GoFormat.v(-0.5)).isEqualTo("-0.5");
        assertThat(GoFormat.v(Double.NaN)).isEqualTo("NaN");
        assertThat(GoFormat.v(Double.POSITIVE_INFINITY)).isEqualTo("+Inf");
        assertThat(GoFormat.formatG(1234.5, 4)).isEqualTo("1234");
        assertThat(GoFormat.formatG(12345, 4)).isEqualTo("1.234e+04");
        assertThat(GoFormat.formatG(100, 4)).isEqualTo("100");
        assertThat(GoFormat.formatG(0, 4)).isEqualTo("0");
        assertThat(GoFormat.formatE(1, -1)).isEqualTo("1e+00");
        assertThat(GoFormat.formatE(0.25, -1)).isEqualTo("2.5e-01");
        assertThat(GoFormat.formatE(0, -1)).isEqualTo("0e+00");
        assertThat(GoFormat.formatF(0.125, 2)).as("half-even on the exact value").isEqualTo("0.12");
        assertThat(GoFormat.formatF(1.005, 2)).as("1.005 is 1.00499.. in binary").isEqualTo("1.00");
        assertThat(GoFormat.formatF(2.5, 0)).isEqualTo("2");
        assertThat(GoFormat.formatF(0.001, 2)).isEqualTo("0.00");
    }

    @Test
    void prometheusHumanizeFunctions() {
        assertThat(Humanize.humanize(420000)).isEqualTo("420k");
        assertThat(Humanize.humanize(1234567)).isEqualTo("1.235M");
        assertThat(Humanize.humanize(0.1)).isEqualTo("100m");
        assertThat(Humanize.humanize(0)).isEqualTo("0");
        assertThat(Humanize.humanize1024(2048)).isEqualTo("2ki");
        assertThat(Humanize.percentage(0.2857142857)).isEqualTo("28.57%");
        assertThat(Humanize.duration(4500)).isEqualTo("1h 15m 0s");
        assertThat(Humanize.duration(90061)).isEqualTo("1d 1h 1m 1s");
        assertThat(Humanize.duration(2.5)).isEqualTo("2.5s");
        assertThat(Humanize.duration(0.0123)).isEqualTo("12.3ms");
        assertThat(Humanize.duration(0)).isEqualTo("0s");
        assertThat(Humanize.timestamp(1_700_000_000.5)).isEqualTo("2023-11-14 22:13:20.5 +0000 UTC");
    }

    @Test
    void printfLikeGo() {
        assertThat(GoPrintf.sprintf("%.2f", List.of(0.3141))).isEqualTo("0.31");
        assertThat(GoPrintf.sprintf("%.3g", List.of(1.23e-6))).isEqualTo("1.23e-06");
        assertThat(GoPrintf.sprintf("%5.1f|%-4s|%d", List.of(3.14159, "ab", 7L))).isEqualTo("  3.1|ab  |7");
        assertThat(GoPrintf.sprintf("%d", List.of(1.5))).isEqualTo("%!d(float64=1.5)");
        assertThat(GoPrintf.sprintf("%s %s", List.of("a"))).isEqualTo("a %!s(MISSING)");
        assertThat(GoPrintf.sprintf("100%%", List.of())).isEqualTo("100%");
    }

    @Test
    void alertTemplates() {
        assertThat(expand("{{ $labels.model }} at {{ $value }}", 0.25)).isEqualTo("fraud at 0.25");
        assertThat(expand("{{ .Labels.model }}/{{ .Value }}", 3)).isEqualTo("fraud/3");
        assertThat(expand("{{ $labels.missing }}|", 1)).as("missingkey=zero").isEqualTo("|");
        assertThat(expand("{{ $externalLabels.cluster }} {{ $externalURL }}", 1)).isEqualTo("eu1 http://vigil:9090");
        assertThat(expand("{{ $value | humanizePercentage }}", 0.123456)).isEqualTo("12.35%");
        assertThat(expand("{{ printf \"%.1f\" $value }}", 4)).isEqualTo("4.0");
        assertThat(expand("{{ humanize (printf \"%.0f\" $value) }}", 123456)).isEqualTo("123.5k");
        assertThat(expand("{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}mid{{ else }}low{{ end }}", 0.3)).isEqualTo("mid");
        assertThat(expand("a  {{- \" b \" -}}  c", 0)).isEqualTo("a b c");
        assertThat(expand("{{/* comment */}}{{ $v := $value }}{{ $v }}", 2)).isEqualTo("2");
        assertThat(expand("{{ $labels.model | toUpper }} {{ reReplaceAll \"(f)raud\" \"$1ee\" $labels.model }}", 0))
                .isEqualTo("FRAUD fee");
        assertThat(expand("{{ $labels }}", 0)).isEqualTo("map[__name__:x model:fraud]");
    }

    @Test
    void unsupportedSyntaxFailsClearlyAtParseTime() {
        assertThatThrownBy(() -> AlertTemplate.parse("t", "{{ range $labels }}x{{ end }}"))
                .isInstanceOf(TemplateException.class).hasMessageContaining("unsupported template syntax: 'range'");
        assertThatThrownBy(() -> AlertTemplate.parse("t", "{{ query \"up\" | first | value }}"))
                .hasMessageContaining("unsupported template function \"query\"");
        assertThatThrownBy(() -> AlertTemplate.parse("t", "{{ nosuch $value }}")).hasMessageContaining("function \"nosuch\" not defined");
        assertThatThrownBy(() -> AlertTemplate.parse("t", "{{ $undefined }}")).hasMessageContaining("undefined variable");
        assertThatThrownBy(() -> AlertTemplate.parse("t", "{{ $value ")).hasMessageContaining("unclosed action");
        assertThatThrownBy(() -> AlertTemplate.parse("t", "{{ if $value }}x")).hasMessageContaining("missing {{end}}");
    }
}
