package dev.vigil.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import dev.vigil.common.model.Sample;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;

class OtlpEndpointsTest {
    private static final long NOW = EventJsonParserTest.NOW;
    private final OtlpEndpoints.Metrics metrics = new OtlpEndpoints.Metrics(EventJsonParserTest.LIMITS);

    /** One OTLP/HTTP JSON metrics request with the given metric objects, decoded as the endpoint does. */
    private Decoded decode(String metricsJson) {
        String body = "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc\"}}]},"
                + "\"scopeMetrics\":[{\"metrics\":[" + metricsJson + "]}]}]}";
        DefaultHttpHeaders h = new DefaultHttpHeaders();
        h.set(HttpHeaderNames.CONTENT_TYPE, "application/json");
        return metrics.decode(new IngestRequest(metrics, "t1", h, Unpooled.wrappedBuffer(body.getBytes(StandardCharsets.UTF_8)), 0), NOW);
    }

    private static String gauge(String name, String point) {
        return "{\"name\":\"" + name + "\",\"gauge\":{\"dataPoints\":[" + point + "]}}";
    }

    private static final String T = "\"timeUnixNano\":\"" + NOW * 1_000_000 + "\"";

    /** The JSON parser's messages reach clients without the Java class that carried them. */
    @Test
    void parseErrorsLoseTheirJavaClassName() {
        assertThat(OtlpEndpoints.withoutClassName(new IllegalStateException("java.io.EOFException: End of input at line 1 column 19 path $.resourceLogs")))
                .isEqualTo("End of input at line 1 column 19 path $.resourceLogs");
        assertThat(OtlpEndpoints.withoutClassName(new IllegalStateException("com.google.gson.stream.MalformedJsonException: Unterminated object")))
                .isEqualTo("Unterminated object");
        assertThat(OtlpEndpoints.withoutClassName(new IllegalStateException("Expected BEGIN_OBJECT but was STRING: a.b")))
                .isEqualTo("Expected BEGIN_OBJECT but was STRING: a.b");
        assertThat(OtlpEndpoints.withoutClassName(new IllegalStateException())).isEqualTo("IllegalStateException");
    }

    /** Bucket bounds as Prometheus (Go's %g, shortest digits) writes them, so OTLP and remote write meet in one series. */
    @Test
    void bucketBoundsAreWrittenAsPrometheusWritesThem() {
        assertThat(OtlpEndpoints.Metrics.le(1e-5)).isEqualTo("1e-05");
        assertThat(OtlpEndpoints.Metrics.le(1e15)).isEqualTo("1e+15");
        assertThat(OtlpEndpoints.Metrics.le(1_000_000)).isEqualTo("1e+06");
        assertThat(OtlpEndpoints.Metrics.le(100_000)).isEqualTo("100000");
        assertThat(OtlpEndpoints.Metrics.le(0.005)).isEqualTo("0.005");
        assertThat(OtlpEndpoints.Metrics.le(0.0001)).isEqualTo("0.0001");
        assertThat(OtlpEndpoints.Metrics.le(2.5)).isEqualTo("2.5");
        assertThat(OtlpEndpoints.Metrics.le(5)).isEqualTo("5");
        assertThat(OtlpEndpoints.Metrics.le(0)).isEqualTo("0");
        assertThat(OtlpEndpoints.Metrics.le(-0.25)).isEqualTo("-0.25");
        assertThat(OtlpEndpoints.Metrics.le(1.5e300)).isEqualTo("1.5e+300");
        assertThat(OtlpEndpoints.Metrics.le(Double.POSITIVE_INFINITY)).isEqualTo("+Inf");
    }

    @Test
    void attributesThatSanitiseAlikeAreJoinedNotOverwritten() {
        Decoded d = decode(gauge("g", "{" + T + ",\"asDouble\":1,\"attributes\":["
                + "{\"key\":\"http_route\",\"value\":{\"stringValue\":\"/b\"}},{\"key\":\"http.route\",\"value\":{\"stringValue\":\"/a\"}}]}"));
        assertThat(d.rejections()).isEmpty();
        assertThat(d.samples()).extracting(s -> s.labels().get("http_route")).containsExactly("/a;/b"); // ordered by original name
    }

    @Test
    void labelsVigilSetsItselfAreRefusedAsAttributes() {
        // job comes from the resource's service.name here
        for (String reserved : new String[] {"le", "quantile", "job", "__name__"}) {
            Decoded d = decode(gauge("g", "{" + T + ",\"asDouble\":1,\"attributes\":[{\"key\":\"" + reserved + "\",\"value\":{\"stringValue\":\"x\"}}]}"));
            assertThat(d.samples()).as(reserved).isEmpty();
            assertThat(d.rejections()).as(reserved).singleElement().satisfies(r -> assertThat(r.message()).contains("sets itself"));
        }
        // instance: the resource has no service.instance.id, so a point may carry one
        Decoded d = decode(gauge("g", "{" + T + ",\"asDouble\":1,\"attributes\":[{\"key\":\"instance\",\"value\":{\"stringValue\":\"i1\"}}]}"));
        assertThat(d.samples()).extracting(s -> s.labels().get("instance")).containsExactly("i1");
    }

    @Test
    void aPointWithoutValueIsRefusedNotStoredAsZero() {
        Decoded d = decode(gauge("novalue", "{" + T + "}"));
        assertThat(d.samples()).isEmpty();
        assertThat(d.rejections()).singleElement().satisfies(r -> assertThat(r.message()).contains("no value"));
    }

    @Test
    void aSummaryPointWithNoRecordedValueIsSkipped() {
        Decoded d = decode("{\"name\":\"s\",\"summary\":{\"dataPoints\":[{" + T + ",\"flags\":1,\"count\":\"0\",\"sum\":0},"
                + "{" + T + ",\"count\":\"4\",\"sum\":10,\"quantileValues\":[{\"quantile\":0.5,\"value\":2}]}]}}");
        assertThat(d.rejections()).isEmpty();
        assertThat(d.samples()).extracting(Sample::name, Sample::value).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple("s", 2.0), org.assertj.core.groups.Tuple.tuple("s_sum", 10.0),
                org.assertj.core.groups.Tuple.tuple("s_count", 4.0));
    }
}
