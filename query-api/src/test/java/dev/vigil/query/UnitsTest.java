package dev.vigil.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vigil.common.config.Config;
import dev.vigil.common.model.Sample;
import dev.vigil.query.http.PromJson;
import dev.vigil.query.storage.ClickHouseStorage;
import dev.vigil.query.storage.EventSeriesMapping;
import dev.vigil.query.storage.PushdownRewriter;

class UnitsTest {
    @Test
    void selfMonitorParsesTextFormat() {
        String text = """
                # HELP jvm_threads_live_threads live threads
                # TYPE jvm_threads_live_threads gauge
                jvm_threads_live_threads 42.0
                http_requests_total{method="GET",path="/a\\"b"} 7 1700000000000
                vigil_query_requests_seconds_bucket{le="+Inf"} 3
                """;
        List<Sample> s = SelfMonitor.parse("system", text, Map.of("job", "gw", "instance", "h:1"), 5);
        assertEquals(3, s.size());
        assertEquals(42.0, s.get(0).value());
        assertEquals("gw", s.get(0).labels().get("job"));
        assertEquals("/a\"b", s.get(1).labels().get("path"));
        assertEquals(1700000000000L, s.get(1).timeMillis());
        assertEquals("+Inf", s.get(2).labels().get("le"));
        assertEquals("system", s.get(2).tenant());
    }

    @Test
    void pushdownMarksOnlySumOfRate() {
        String q = PushdownRewriter.rewrite("histogram_quantile(0.99, sum by (le, model) (rate(inference_latency_ms_bucket{region=\"eu\"}[5m])))");
        assertTrue(q.contains(ClickHouseStorage.GROUP_MATCHER + "=\"model\""), q);
        assertEquals("avg(rate(x[5m]))", PushdownRewriter.rewrite("avg(rate(x[5m]))"));
        assertEquals("sum without (a) (rate(x[5m]))", PushdownRewriter.rewrite("sum without (a) (rate(x[5m]))"));
        assertTrue(PushdownRewriter.rewrite("sum(rate(x[5m] offset 1h))").equals("sum(rate(x[5m] offset 1h))"));
    }

    @Test
    void leAndValueFormatting() {
        assertEquals("+Inf", EventSeriesMapping.formatLe(Double.POSITIVE_INFINITY));
        assertEquals("1.01", EventSeriesMapping.formatLe(1.01));
        assertEquals("1e-05", EventSeriesMapping.formatLe(1e-5));
        assertEquals("0", EventSeriesMapping.formatLe(0));
        assertEquals("1", PromJson.formatValue(1.0));
        assertEquals("0.25", PromJson.formatValue(0.25));
        assertEquals("NaN", PromJson.formatValue(Double.NaN));
        assertEquals("-Inf", PromJson.formatValue(Double.NEGATIVE_INFINITY));
        assertEquals("inference_latency_ms_bucket", EventSeriesMapping.metricsOf("inference", "latency.ms").stream()
                .filter(m -> m.suffix() == EventSeriesMapping.Suffix.BUCKET).findFirst().orElseThrow().metricName());
    }

    @Test
    void configDefaultsAndValidation() {
        Config c = Config.load(QueryApiMain.DEF, Map.of("VIGIL_API_KEYS", "acme:k1"));
        QueryApi.Settings s = QueryApiMain.settings(c);
        assertEquals(9090, s.port());
        assertEquals("jdbc:clickhouse:http://127.0.0.1:8123/default", s.clickhouseUrl());
        assertEquals(11_000, s.limits().maxPointsPerSeries());
        assertEquals("acme", s.apiKeys().tenantOf("k1").orElseThrow());
    }
}
