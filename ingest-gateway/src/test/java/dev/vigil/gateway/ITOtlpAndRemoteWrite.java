package dev.vigil.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xerial.snappy.Snappy;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.model.Event;
import dev.vigil.common.model.Sample;
import dev.vigil.gateway.prompb.Remote.WriteRequest;
import dev.vigil.gateway.prompb.Types;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporter;
import io.opentelemetry.exporter.otlp.http.logs.OtlpHttpLogRecordExporterBuilder;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporterBuilder;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.metrics.v1.Gauge;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.logs.SdkLoggerProvider;
import io.opentelemetry.sdk.logs.export.SimpleLogRecordProcessor;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;

/** Real clients: the OpenTelemetry Java SDK's OTLP/HTTP exporters and a real remote-write request. */
class ITOtlpAndRemoteWrite {
    static Gateway gw;
    static String bootstrap;
    static final String PREFIX = "it-otlp.";

    @BeforeAll
    static void start() throws Exception {
        bootstrap = TestSupport.sharedBroker().bootstrapServers();
        gw = TestSupport.gateway(bootstrap, PREFIX, Map.of());
    }

    @AfterAll
    static void stop() {
        gw.close();
    }

    static List<Sample> samples(String job) {
        return TestSupport.readAll(bootstrap, PREFIX + "samples").stream().map(r -> RecordCodec.decodeSample(r.value()))
                .filter(s -> job.equals(s.labels().get("job"))).toList();
    }

    static double value(List<Sample> ss, String name, String... labels) {
        return ss.stream().filter(s -> s.name().equals(name)).filter(s -> {
            for (int i = 0; i + 1 < labels.length; i += 2) {
                if (!labels[i + 1].equals(s.labels().get(labels[i]))) {
                    return false;
                }
            }
            return true;
        }).mapToDouble(Sample::value).reduce((a, b) -> b).orElseThrow(() -> new AssertionError("no sample " + name + " in " + ss));
    }

    static void asJson(Object builder) throws Exception {
        Field f = builder.getClass().getDeclaredField("delegate");
        f.setAccessible(true);
        Object delegate = f.get(builder);
        delegate.getClass().getMethod("exportAsJson").invoke(delegate);
    }

    void sdkMetrics(String service, boolean json) throws Exception {
        OtlpHttpMetricExporterBuilder eb = OtlpHttpMetricExporter.builder()
                .setEndpoint("http://127.0.0.1:" + gw.port() + "/v1/metrics")
                .addHeader("Authorization", "Bearer " + TestSupport.ACME_KEY)
                .setCompression("gzip");
        if (json) {
            asJson(eb);
        }
        OtlpHttpMetricExporter exporter = eb.build();
        Resource res = Resource.getDefault().merge(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), service)));
        try (SdkMeterProvider mp = SdkMeterProvider.builder().setResource(res)
                .registerMetricReader(PeriodicMetricReader.builder(exporter).setInterval(Duration.ofHours(1)).build()).build()) {
            var meter = mp.get("it");
            meter.counterBuilder("http.requests").build().add(5, Attributes.of(AttributeKey.stringKey("route"), "/a"));
            var h = meter.histogramBuilder("rpc.latency").setExplicitBucketBoundariesAdvice(List.of(1.0, 5.0, 10.0)).build();
            for (double v : new double[] {0.5, 3, 7, 20}) {
                h.record(v);
            }
            meter.gaugeBuilder("queue.depth").buildWithCallback(m -> m.record(42));
            CompletableResultCode rc = mp.forceFlush().join(20, TimeUnit.SECONDS);
            assertThat(rc.isSuccess()).as("OTLP metric export succeeded").isTrue();
        }
        List<Sample> ss = samples(service);
        assertThat(ss).allMatch(s -> s.tenant().equals("acme"));
        assertThat(value(ss, "http_requests_total", "route", "/a")).isEqualTo(5);
        assertThat(value(ss, "rpc_latency_bucket", "le", "1")).isEqualTo(1);
        assertThat(value(ss, "rpc_latency_bucket", "le", "5")).isEqualTo(2);
        assertThat(value(ss, "rpc_latency_bucket", "le", "10")).isEqualTo(3);
        assertThat(value(ss, "rpc_latency_bucket", "le", "+Inf")).isEqualTo(4);
        assertThat(value(ss, "rpc_latency_count")).isEqualTo(4);
        assertThat(value(ss, "rpc_latency_sum")).isEqualTo(30.5);
        assertThat(value(ss, "queue_depth")).isEqualTo(42);
    }

    @Test
    void otelSdkMetricsProtobuf() throws Exception {
        sdkMetrics("checkout-pb", false);
    }

    @Test
    void otelSdkMetricsJson() throws Exception {
        sdkMetrics("checkout-json", true);
    }

    void sdkLogs(String eventId, boolean json) throws Exception {
        OtlpHttpLogRecordExporterBuilder eb = OtlpHttpLogRecordExporter.builder()
                .setEndpoint("http://127.0.0.1:" + gw.port() + "/v1/logs")
                .addHeader("Authorization", "Bearer " + TestSupport.GLOBEX_KEY);
        if (json) {
            asJson(eb);
        }
        Resource res = Resource.getDefault().merge(Resource.create(Attributes.of(AttributeKey.stringKey("service.name"), "ranker-svc")));
        try (SdkLoggerProvider lp = SdkLoggerProvider.builder().setResource(res)
                .addLogRecordProcessor(SimpleLogRecordProcessor.create(eb.build())).build()) {
            lp.get("it").logRecordBuilder()
                    .setEventName("inference")
                    .setTimestamp(Instant.now())
                    .setBody("scored")
                    .setAttribute(AttributeKey.stringKey("model"), "ranker")
                    .setAttribute(AttributeKey.doubleKey("latency_ms"), 12.5)
                    .setAttribute(AttributeKey.longKey("tokens"), 300L)
                    .setAttribute(AttributeKey.stringKey("vigil.unit_id"), "user-9")
                    .setAttribute(AttributeKey.stringKey("vigil.experiment.exp-42"), "treatment")
                    .setAttribute(AttributeKey.stringKey("event_id"), eventId)
                    .emit();
            assertThat(lp.forceFlush().join(20, TimeUnit.SECONDS).isSuccess()).as("OTLP log export succeeded").isTrue();
        }
        Event e = TestSupport.readAll(bootstrap, PREFIX + "events").stream().map(r -> RecordCodec.decodeEvent(r.value()))
                .filter(x -> eventId.equals(x.eventId())).findFirst().orElseThrow();
        assertThat(e.tenant()).isEqualTo("globex");
        assertThat(e.type()).isEqualTo("inference");
        assertThat(e.dims()).containsEntry("model", "ranker").containsEntry("service", "ranker-svc");
        assertThat(e.measures()).containsEntry("latency_ms", 12.5).containsEntry("tokens", 300.0);
        assertThat(e.unitId()).isEqualTo("user-9");
        assertThat(e.experiments()).containsEntry("exp-42", "treatment");
        assertThat(Math.abs(e.timeMillis() - System.currentTimeMillis())).isLessThan(60_000);
    }

    @Test
    void otelSdkLogsProtobuf() throws Exception {
        sdkLogs("otlp-log-pb", false);
    }

    @Test
    void otelSdkLogsJson() throws Exception {
        sdkLogs("otlp-log-json", true);
    }

    @Test
    void otlpPartialSuccessNamesRejectedPoints() throws Exception {
        long now = System.currentTimeMillis() * 1_000_000L;
        ExportMetricsServiceRequest req = ExportMetricsServiceRequest.newBuilder().addResourceMetrics(ResourceMetrics.newBuilder()
                .setResource(io.opentelemetry.proto.resource.v1.Resource.newBuilder().addAttributes(
                        io.opentelemetry.proto.common.v1.KeyValue.newBuilder().setKey("service.name")
                                .setValue(io.opentelemetry.proto.common.v1.AnyValue.newBuilder().setStringValue("partial"))))
                .addScopeMetrics(ScopeMetrics.newBuilder().addMetrics(Metric.newBuilder().setName("temp")
                        .setGauge(Gauge.newBuilder()
                                .addDataPoints(NumberDataPoint.newBuilder().setTimeUnixNano(now).setAsDouble(21.5))
                                .addDataPoints(NumberDataPoint.newBuilder().setTimeUnixNano(now).setAsDouble(Double.NaN))
                                .addDataPoints(NumberDataPoint.newBuilder().setTimeUnixNano(now + 86_400_000_000_000L).setAsDouble(1))))))
                .build();
        HttpResponse<byte[]> r = TestSupport.post(gw, "/v1/metrics", TestSupport.ACME_KEY, "application/x-protobuf", req.toByteArray());
        assertThat(r.statusCode()).isEqualTo(200);
        ExportMetricsServiceResponse resp = ExportMetricsServiceResponse.parseFrom(r.body());
        assertThat(resp.getPartialSuccess().getRejectedDataPoints()).isEqualTo(2);
        assertThat(resp.getPartialSuccess().getErrorMessage()).contains("not_finite").contains("out_of_window");
        assertThat(samples("partial")).extracting(Sample::value).containsExactly(21.5);

        String json = com.google.protobuf.util.JsonFormat.printer().print(req);
        r = TestSupport.post(gw, "/v1/metrics", TestSupport.ACME_KEY, "application/json", json.getBytes());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(TestSupport.str(r)).contains("\"rejectedDataPoints\":\"2\"");
    }

    @Test
    void prometheusRemoteWrite() throws Exception {
        long now = System.currentTimeMillis();
        WriteRequest wr = WriteRequest.newBuilder()
                .addTimeseries(Types.TimeSeries.newBuilder()
                        .addLabels(Types.Label.newBuilder().setName("__name__").setValue("node_cpu_seconds_total"))
                        .addLabels(Types.Label.newBuilder().setName("cpu").setValue("0"))
                        .addLabels(Types.Label.newBuilder().setName("job").setValue("rw-node"))
                        .addSamples(Types.Sample.newBuilder().setValue(1234.5).setTimestamp(now - 1000))
                        .addSamples(Types.Sample.newBuilder().setValue(1240.0).setTimestamp(now)))
                .addTimeseries(Types.TimeSeries.newBuilder()
                        .addLabels(Types.Label.newBuilder().setName("__name__").setValue("up"))
                        .addLabels(Types.Label.newBuilder().setName("job").setValue("rw-node"))
                        .addSamples(Types.Sample.newBuilder().setValue(1).setTimestamp(now)))
                .build();
        HttpResponse<byte[]> r = TestSupport.post(gw, "/api/v1/write", TestSupport.ACME_KEY, "application/x-protobuf",
                Snappy.compress(wr.toByteArray()), "Content-Encoding", "snappy", "X-Prometheus-Remote-Write-Version", "0.1.0");
        assertThat(r.statusCode()).as(TestSupport.str(r)).isEqualTo(204);
        List<Sample> ss = samples("rw-node");
        assertThat(ss).hasSize(3);
        assertThat(value(ss, "node_cpu_seconds_total", "cpu", "0")).isEqualTo(1240.0);
        assertThat(ss).filteredOn(s -> s.name().equals("node_cpu_seconds_total")).extracting(Sample::timeMillis)
                .containsExactlyInAnyOrder(now - 1000, now);
        assertThat(value(ss, "up")).isEqualTo(1);
        assertThat(ss).allMatch(s -> s.tenant().equals("acme"));
    }
}
