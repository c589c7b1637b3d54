package dev.vigil.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SortedMap;
import java.util.TreeMap;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;

import dev.vigil.common.model.Event;
import dev.vigil.common.model.Sample;
import io.netty.buffer.ByteBufInputStream;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsPartialSuccess;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsPartialSuccess;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.logs.v1.LogRecord;
import io.opentelemetry.proto.logs.v1.ResourceLogs;
import io.opentelemetry.proto.logs.v1.ScopeLogs;
import io.opentelemetry.proto.metrics.v1.AggregationTemporality;
import io.opentelemetry.proto.metrics.v1.HistogramDataPoint;
import io.opentelemetry.proto.metrics.v1.Metric;
import io.opentelemetry.proto.metrics.v1.NumberDataPoint;
import io.opentelemetry.proto.metrics.v1.ResourceMetrics;
import io.opentelemetry.proto.metrics.v1.ScopeMetrics;
import io.opentelemetry.proto.metrics.v1.SummaryDataPoint;
import io.opentelemetry.proto.resource.v1.Resource;

/**
 * OTLP/HTTP receivers ({@code /v1/metrics}, {@code /v1/logs}), protobuf and JSON encodings,
 * answering with OTLP's response messages ({@code partial_success} when items were rejected)
 * and {@code google.rpc.Status} on failure. Mapping: docs/gateway.md.
 */
public final class OtlpEndpoints {
    private OtlpEndpoints() {
    }

    /** Data point flag: no recorded value (a staleness signal); such points are skipped. */
    static final int FLAG_NO_RECORDED_VALUE = 1;

    abstract static class Base implements Endpoint {
        final GatewayConfig.Limits limits;
        final Names names;

        Base(GatewayConfig.Limits limits) {
            this.limits = limits;
            this.names = new Names(limits.maxNameLength(), limits.maxValueLength());
        }

        static boolean isJson(String contentType) {
            String ct = contentType == null ? "" : contentType.toLowerCase(Locale.ROOT).trim();
            int semi = ct.indexOf(';');
            if (semi >= 0) {
                ct = ct.substring(0, semi).trim();
            }
            return switch (ct) {
                case "application/json" -> true;
                case "application/x-protobuf", "application/protobuf" -> false;
                default -> throw new RequestException(415, "unsupported_media_type",
                        "Content-Type '" + contentType + "' not accepted (application/x-protobuf or application/json)");
            };
        }

        <T extends Message.Builder> T parse(IngestRequest req, T builder, boolean json) {
            BodyDecoder.Encoding enc = BodyDecoder.encoding(req.header(HttpHeaderNames.CONTENT_ENCODING));
            byte[] bytes = BodyDecoder.bytes(new ByteBufInputStream(req.body().duplicate()), enc, limits.maxDecompressed());
            try {
                if (json) {
                    String text = utf8(bytes);
                    if (text.isBlank()) {
                        throw RequestException.badRequest("empty_body", "empty body: expected an OTLP JSON export request");
                    }
                    checkDepth(text, 64);
                    JsonFormat.parser().ignoringUnknownFields().merge(text, builder);
                } else {
                    builder.mergeFrom(bytes);
                }
            } catch (InvalidProtocolBufferException e) {
                // JsonFormat wraps the JSON parser's errors in this one, message and all ("java.io.EOFException: ...")
                throw RequestException.badRequest(json ? "invalid_json" : "invalid_protobuf",
                        "cannot parse OTLP " + (json ? "JSON" : "protobuf") + ": " + withoutClassName(e.getMessage()));
            } catch (RuntimeException e) {
                if (e instanceof RequestException re) {
                    throw re;
                }
                throw RequestException.badRequest(json ? "invalid_json" : "invalid_protobuf",
                        "cannot parse OTLP " + (json ? "JSON" : "protobuf") + ": " + withoutClassName(e));
            }
            return builder;
        }

        long time(long unixNano, long observedNano, long now) {
            long t = unixNano != 0 ? unixNano : observedNano;
            return t == 0 ? now : Math.floorDiv(t, 1_000_000L);
        }

        Rejection window(long t, long now) {
            if (t > now + limits.maxFutureMillis()) {
                return new Rejection(0, "time_unix_nano", Rejection.OUT_OF_WINDOW, "timestamp " + t + " ms is more than "
                        + limits.maxFutureMillis() / 1000 + " s in the future");
            }
            if (t < now - limits.maxAgeMillis()) {
                return new Rejection(0, "time_unix_nano", Rejection.OUT_OF_WINDOW, "timestamp " + t + " ms is older than "
                        + limits.maxAgeMillis() / 1000 + " s");
            }
            return null;
        }

        @Override
        public FullHttpResponse error(HttpHeaders h, RequestException e) {
            boolean json;
            try {
                json = isJson(h.get(HttpHeaderNames.CONTENT_TYPE));
            } catch (RequestException ignored) {
                json = false;
            }
            int grpc = switch (e.status()) {
                case 400, 413, 415 -> 3;   // INVALID_ARGUMENT
                case 401 -> 16;            // UNAUTHENTICATED
                case 429 -> 8;             // RESOURCE_EXHAUSTED
                case 503 -> 14;            // UNAVAILABLE
                case 404, 405 -> 12;       // UNIMPLEMENTED
                default -> 13;             // INTERNAL
            };
            String msg = e.code() + ": " + e.getMessage();
            FullHttpResponse r;
            if (json) {
                r = HttpReplies.json(e.status(), java.util.Map.of("code", grpc, "message", msg));
            } else {
                r = HttpReplies.bytes(e.status(), "application/x-protobuf", status(grpc, msg));
            }
            return HttpReplies.retryAfter(r, e);
        }

        FullHttpResponse reply(Message m, boolean json) {
            if (json) {
                try {
                    return HttpReplies.bytes(200, "application/json",
                            JsonFormat.printer().omittingInsignificantWhitespace().print(m).getBytes(StandardCharsets.UTF_8));
                } catch (InvalidProtocolBufferException e) {
                    throw new IllegalStateException(e);
                }
            }
            return HttpReplies.bytes(200, "application/x-protobuf", m.toByteArray());
        }
    }

    /**
     * The exception's message without a leading Java class name: the JSON parser (Gson, inside protobuf's JsonFormat)
     * reports a truncated body as "java.io.EOFException: End of input at line 1 column 13 path $.resourceMetrics".
     */
    static String withoutClassName(RuntimeException e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : withoutClassName(e.getMessage());
    }

    static String withoutClassName(String m) {
        return m == null ? "" : m.replaceFirst("^(?:[a-z_][a-z0-9_]*\\.)+[A-Z][A-Za-z0-9_$]*: ", "");
    }

    /** google.rpc.Status {int32 code = 1; string message = 2;}, encoded by hand. */
    static byte[] status(int code, String message) {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            CodedOutputStream out = CodedOutputStream.newInstance(bos);
            out.writeInt32(1, code);
            out.writeString(2, message);
            out.flush();
            return bos.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static String utf8(byte[] bytes) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        try {
            return d.decode(in).toString();
        } catch (CharacterCodingException e) {
            throw new RequestException(400, "invalid_utf8", "body is not valid UTF-8 near byte offset " + in.position(),
                    0, java.util.Map.of("offset", in.position()));
        }
    }

    /** Refuses JSON nested deeper than {@code max} before handing it to the protobuf JSON parser. */
    static void checkDepth(String text, int max) {
        int depth = 0;
        boolean inString = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                if (++depth > max) {
                    throw new RequestException(400, "invalid_json", "JSON nested deeper than " + max + " at character offset " + i,
                            0, java.util.Map.of("offset", i));
                }
            } else if (c == '}' || c == ']') {
                depth--;
            }
        }
    }

    static String anyToString(AnyValue v) {
        return switch (v.getValueCase()) {
            case STRING_VALUE -> v.getStringValue();
            case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
            case INT_VALUE -> Long.toString(v.getIntValue());
            case DOUBLE_VALUE -> Double.toString(v.getDoubleValue());
            default -> null;
        };
    }

    static String resourceAttr(Resource r, String key) {
        for (KeyValue kv : r.getAttributesList()) {
            if (kv.getKey().equals(key)) {
                return anyToString(kv.getValue());
            }
        }
        return null;
    }

    /** OTLP metrics to Samples. */
    public static final class Metrics extends Base {
        public Metrics(GatewayConfig.Limits limits) {
            super(limits);
        }

        @Override
        public String name() {
            return "otlp_metrics";
        }

        @Override
        public String kind() {
            return "sample";
        }

        @Override
        public Decoded decode(IngestRequest req, long now) {
            boolean json = isJson(req.header(HttpHeaderNames.CONTENT_TYPE));
            ExportMetricsServiceRequest r = parse(req, ExportMetricsServiceRequest.newBuilder(), json).build();
            List<Sample> out = new ArrayList<>();
            List<Rejection> rej = new ArrayList<>();
            int index = 0;
            for (ResourceMetrics rm : r.getResourceMetricsList()) {
                SortedMap<String, String> base = new TreeMap<>();
                String svc = resourceAttr(rm.getResource(), "service.name");
                String ns = resourceAttr(rm.getResource(), "service.namespace");
                String inst = resourceAttr(rm.getResource(), "service.instance.id");
                if (svc != null && !svc.isEmpty()) {
                    base.put("job", ns != null && !ns.isEmpty() ? ns + "/" + svc : svc);
                }
                if (inst != null && !inst.isEmpty()) {
                    base.put("instance", inst);
                }
                for (ScopeMetrics sm : rm.getScopeMetricsList()) {
                    for (Metric m : sm.getMetricsList()) {
                        String name = Names.sanitize(m.getName(), true);
                        switch (m.getDataCase()) {
                            case GAUGE -> {
                                for (NumberDataPoint dp : m.getGauge().getDataPointsList()) {
                                    index = number(req.tenant(), name, base, dp, index, now, out, rej);
                                }
                            }
                            case SUM -> {
                                boolean counter = m.getSum().getIsMonotonic()
                                        && m.getSum().getAggregationTemporality() == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE;
                                String n = counter && !name.endsWith("_total") ? name + "_total" : name;
                                for (NumberDataPoint dp : m.getSum().getDataPointsList()) {
                                    index = number(req.tenant(), n, base, dp, index, now, out, rej);
                                }
                            }
                            case HISTOGRAM -> {
                                for (HistogramDataPoint dp : m.getHistogram().getDataPointsList()) {
                                    index = histogram(req.tenant(), name, base, dp, index, now, out, rej);
                                }
                            }
                            case SUMMARY -> {
                                for (SummaryDataPoint dp : m.getSummary().getDataPointsList()) {
                                    index = summary(req.tenant(), name, base, dp, index, now, out, rej);
                                }
                            }
                            case EXPONENTIAL_HISTOGRAM -> {
                                for (int i = 0; i < m.getExponentialHistogram().getDataPointsCount(); i++) {
                                    checkCount(index);
                                    rej.add(new Rejection(index++, m.getName(), Rejection.UNSUPPORTED,
                                            "exponential histograms are not accepted; configure explicit-bucket histograms"));
                                }
                            }
                            default -> {
                                checkCount(index);
                                rej.add(new Rejection(index++, m.getName(), Rejection.MISSING, "metric has no data"));
                            }
                        }
                    }
                }
            }
            return new Decoded(List.of(), out, rej, index, null, json);
        }

        private void checkCount(int index) {
            if (index >= limits.maxEvents()) {
                throw RequestException.tooLarge("too_many_events", "more than " + limits.maxEvents() + " data points in one request");
            }
        }

        /**
         * Labels of a data point, or a rejection. Attributes whose names sanitise to the same label name are joined with
         * ';' in the order of their original names (the OTel-to-Prometheus rule; the last one used to win silently).
         * Names Vigil sets itself are refused rather than overwritten: {@code __name__}, {@code le} and {@code quantile}
         * (a histogram's bucket or a summary's quantile label), and {@code job} and {@code instance} when the resource set
         * them (its service.name, service.instance.id).
         */
        private Object labels(SortedMap<String, String> base, List<KeyValue> attrs, String metric) {
            SortedMap<String, String> l = new TreeMap<>(base);
            SortedMap<String, SortedMap<String, String>> byLabel = new TreeMap<>(); // label -> original name -> value
            for (KeyValue kv : attrs) {
                String k = Names.sanitize(kv.getKey(), false);
                String v = anyToString(kv.getValue());
                if (v == null) {
                    return new Rejection(0, metric + "{" + kv.getKey() + "}", Rejection.WRONG_TYPE, "attribute value must be a scalar");
                }
                if (v.isEmpty()) {
                    continue;
                }
                if (RESERVED_LABELS.contains(k) || base.containsKey(k)) {
                    return new Rejection(0, metric + "{" + kv.getKey() + "}", Rejection.INVALID_VALUE, "attribute " + kv.getKey()
                            + " would become label " + k + ", which Vigil sets itself (" + String.join(", ", RESERVED_LABELS)
                            + ", and job and instance from the resource)");
                }
                Rejection r = names.labelName(metric + "{" + kv.getKey() + "}", k);
                if (r != null) {
                    return r;
                }
                byLabel.computeIfAbsent(k, x -> new TreeMap<>()).put(kv.getKey(), v);
            }
            for (var e : byLabel.entrySet()) {
                String v = String.join(";", e.getValue().values());
                Rejection r = names.value(metric + "{" + e.getKey() + "}", v);
                if (r != null) {
                    return r;
                }
                l.put(e.getKey(), v);
            }
            if (l.size() > limits.maxDims()) {
                return new Rejection(0, metric, Rejection.TOO_MANY, "more than " + limits.maxDims() + " labels");
            }
            return l;
        }

        /** Label names a data point's attributes may not take (see {@link #labels}). */
        static final List<String> RESERVED_LABELS = List.of("__name__", "le", "quantile");

        @SuppressWarnings("unchecked")
        private int number(String tenant, String name, SortedMap<String, String> base, NumberDataPoint dp, int index, long now,
                           List<Sample> out, List<Rejection> rej) {
            checkCount(index);
            if ((dp.getFlags() & FLAG_NO_RECORDED_VALUE) != 0) {
                return index + 1;
            }
            Rejection bad = names.metricName("name", name);
            Object l = bad == null ? labels(base, dp.getAttributesList(), name) : bad;
            long t = time(dp.getTimeUnixNano(), 0, now);
            if (l instanceof Rejection r) {
                rej.add(r.withIndex(index));
                return index + 1;
            }
            Rejection w = window(t, now);
            if (w == null && dp.getValueCase() == NumberDataPoint.ValueCase.VALUE_NOT_SET) {
                // neither as_double nor as_int: nothing was measured (it was stored as 0)
                w = new Rejection(0, name, Rejection.INVALID_VALUE, "data point has no value (neither as_double nor as_int)");
            }
            double v = dp.hasAsInt() ? dp.getAsInt() : dp.getAsDouble();
            if (w == null && !Double.isFinite(v)) {
                w = new Rejection(0, name, Rejection.NOT_FINITE, "value must be finite, got " + v);
            }
            if (w != null) {
                rej.add(w.withIndex(index));
                return index + 1;
            }
            out.add(new Sample(tenant, name, (SortedMap<String, String>) l, t, v));
            return index + 1;
        }

        @SuppressWarnings("unchecked")
        private int histogram(String tenant, String name, SortedMap<String, String> base, HistogramDataPoint dp, int index,
                              long now, List<Sample> out, List<Rejection> rej) {
            checkCount(index);
            if ((dp.getFlags() & FLAG_NO_RECORDED_VALUE) != 0) {
                return index + 1;
            }
            Rejection bad = names.metricName("name", name + "_bucket");
            Object l = bad == null ? labels(base, dp.getAttributesList(), name) : bad;
            if (l instanceof Rejection r) {
                rej.add(r.withIndex(index));
                return index + 1;
            }
            SortedMap<String, String> labels = (SortedMap<String, String>) l;
            if (labels.size() + 1 > limits.maxDims()) {
                rej.add(new Rejection(index, name, Rejection.TOO_MANY, "more than " + limits.maxDims() + " labels with le"));
                return index + 1;
            }
            long t = time(dp.getTimeUnixNano(), 0, now);
            Rejection w = window(t, now);
            if (w == null && dp.getBucketCountsCount() != 0 && dp.getBucketCountsCount() != dp.getExplicitBoundsCount() + 1) {
                w = new Rejection(0, name, Rejection.INVALID_VALUE, "bucket_counts must have explicit_bounds + 1 entries");
            }
            if (w == null && dp.hasSum() && !Double.isFinite(dp.getSum())) {
                w = new Rejection(0, name + "_sum", Rejection.NOT_FINITE, "sum must be finite");
            }
            if (w != null) {
                rej.add(w.withIndex(index));
                return index + 1;
            }
            long cum = 0;
            for (int i = 0; i < dp.getExplicitBoundsCount() && i < dp.getBucketCountsCount(); i++) {
                cum += dp.getBucketCounts(i);
                out.add(new Sample(tenant, name + "_bucket", with(labels, "le", le(dp.getExplicitBounds(i))), t, cum));
            }
            out.add(new Sample(tenant, name + "_bucket", with(labels, "le", "+Inf"), t, dp.getCount()));
            if (dp.hasSum()) {
                out.add(new Sample(tenant, name + "_sum", labels, t, dp.getSum()));
            }
            out.add(new Sample(tenant, name + "_count", labels, t, dp.getCount()));
            return index + 1;
        }

        @SuppressWarnings("unchecked")
        private int summary(String tenant, String name, SortedMap<String, String> base, SummaryDataPoint dp, int index,
                            long now, List<Sample> out, List<Rejection> rej) {
            checkCount(index);
            if ((dp.getFlags() & FLAG_NO_RECORDED_VALUE) != 0) {
                return index + 1; // as the other point types: nothing recorded (it was stored as _sum 0, _count 0)
            }
            Rejection bad = names.metricName("name", name + "_count");
            Object l = bad == null ? labels(base, dp.getAttributesList(), name) : bad;
            if (l instanceof Rejection r) {
                rej.add(r.withIndex(index));
                return index + 1;
            }
            SortedMap<String, String> labels = (SortedMap<String, String>) l;
            long t = time(dp.getTimeUnixNano(), 0, now);
            Rejection w = window(t, now);
            if (w != null) {
                rej.add(w.withIndex(index));
                return index + 1;
            }
            for (SummaryDataPoint.ValueAtQuantile q : dp.getQuantileValuesList()) {
                if (Double.isFinite(q.getValue())) {
                    out.add(new Sample(tenant, name, with(labels, "quantile", le(q.getQuantile())), t, q.getValue()));
                }
            }
            if (Double.isFinite(dp.getSum())) {
                out.add(new Sample(tenant, name + "_sum", labels, t, dp.getSum()));
            }
            out.add(new Sample(tenant, name + "_count", labels, t, dp.getCount()));
            return index + 1;
        }

        /**
         * A bucket bound or quantile as Prometheus writes it (Go's {@code strconv.FormatFloat(b, 'g', -1, 64)}, as client
         * libraries and remote-write senders do): {@code 0.5}, {@code 1e-05}, {@code 1e+15}, so that one histogram sent by
         * OTLP and by remote write is one set of series (Java's {@code 1.0E-5} made it two).
         */
        static String le(double b) {
            if (b == Double.POSITIVE_INFINITY) {
                return "+Inf";
            }
            if (b == Double.NEGATIVE_INFINITY) {
                return "-Inf";
            }
            if (b == 0) {
                return "0";
            }
            // the shortest round-trip digits (Double.toString), in Go's %g layout: exponent form when the decimal
            // exponent is < -4 or >= 6 (strconv uses precision 6 for that choice when printing the shortest digits)
            java.math.BigDecimal d = new java.math.BigDecimal(Double.toString(b)).stripTrailingZeros();
            int exp = d.precision() - d.scale() - 1;
            if (exp < -4 || exp >= 6) {
                String digits = d.unscaledValue().abs().toString();
                String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
                String e = (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
                return (b < 0 ? "-" : "") + mant + "e" + e;
            }
            return d.toPlainString();
        }

        static SortedMap<String, String> with(SortedMap<String, String> l, String k, String v) {
            SortedMap<String, String> m = new TreeMap<>(l);
            m.put(k, v);
            return m;
        }

        @Override
        public FullHttpResponse success(IngestRequest req, Decoded d) {
            ExportMetricsServiceResponse.Builder b = ExportMetricsServiceResponse.newBuilder();
            if (!d.rejections().isEmpty()) {
                b.setPartialSuccess(ExportMetricsPartialSuccess.newBuilder()
                        .setRejectedDataPoints(d.rejections().size())
                        .setErrorMessage(HttpReplies.summary(d.rejections())));
            }
            return reply(b.build(), d.json());
        }
    }

    /** OTLP logs to Events. */
    public static final class Logs extends Base {
        public Logs(GatewayConfig.Limits limits) {
            super(limits);
        }

        @Override
        public String name() {
            return "otlp_logs";
        }

        @Override
        public String kind() {
            return "event";
        }

        @Override
        public Decoded decode(IngestRequest req, long now) {
            boolean json = isJson(req.header(HttpHeaderNames.CONTENT_TYPE));
            ExportLogsServiceRequest r = parse(req, ExportLogsServiceRequest.newBuilder(), json).build();
            List<Event> out = new ArrayList<>();
            List<Rejection> rej = new ArrayList<>();
            int index = 0;
            for (ResourceLogs rl : r.getResourceLogsList()) {
                String svc = resourceAttr(rl.getResource(), "service.name");
                for (ScopeLogs sl : rl.getScopeLogsList()) {
                    for (LogRecord lr : sl.getLogRecordsList()) {
                        if (index >= limits.maxEvents()) {
                            throw RequestException.tooLarge("too_many_events", "more than " + limits.maxEvents() + " log records in one request");
                        }
                        Object e = toEvent(req.tenant(), svc, lr, now);
                        if (e instanceof Rejection rr) {
                            rej.add(rr.withIndex(index));
                        } else {
                            out.add((Event) e);
                        }
                        index++;
                    }
                }
            }
            return new Decoded(out, List.of(), rej, index, null, json);
        }

        private Object toEvent(String tenant, String service, LogRecord lr, long now) {
            if (lr.getSerializedSize() > limits.maxEventBytes()) {
                return new Rejection(0, "", Rejection.TOO_LARGE, "log record is " + lr.getSerializedSize() + " bytes, limit " + limits.maxEventBytes());
            }
            String type = lr.getEventName();
            SortedMap<String, String> dims = new TreeMap<>();
            SortedMap<String, Double> measures = new TreeMap<>();
            SortedMap<String, String> experiments = new TreeMap<>();
            String unit = null;
            String eventId = null;
            if (service != null && !service.isEmpty()) {
                dims.put("service", service);
            }
            for (KeyValue kv : lr.getAttributesList()) {
                String key = kv.getKey();
                AnyValue v = kv.getValue();
                String f = "attributes." + key;
                switch (key) {
                    case "event.name", "vigil.type" -> {
                        if (type.isEmpty()) {
                            type = anyToString(v) == null ? "" : anyToString(v);
                        }
                        continue;
                    }
                    case "unit_id", "vigil.unit_id" -> {
                        unit = anyToString(v);
                        Rejection r = unit == null ? new Rejection(0, f, Rejection.WRONG_TYPE, "expected a scalar") : names.value(f, unit);
                        if (r != null) {
                            return r;
                        }
                        continue;
                    }
                    case "event_id", "vigil.event_id" -> {
                        eventId = anyToString(v);
                        Rejection r = eventId == null ? new Rejection(0, f, Rejection.WRONG_TYPE, "expected a scalar") : names.value(f, eventId);
                        if (r != null) {
                            return r;
                        }
                        continue;
                    }
                    default -> {
                    }
                }
                if (key.startsWith("vigil.experiment.")) {
                    String exp = key.substring("vigil.experiment.".length());
                    String variant = anyToString(v);
                    Rejection r = names.experimentId(f, exp);
                    if (r == null) {
                        r = variant == null ? new Rejection(0, f, Rejection.WRONG_TYPE, "expected a string") : names.value(f, variant);
                    }
                    if (r != null) {
                        return r;
                    }
                    experiments.put(exp, variant);
                    continue;
                }
                String name = Names.sanitize(key, false);
                Rejection r = names.labelName(f, name);
                if (r != null) {
                    return r;
                }
                switch (v.getValueCase()) {
                    case STRING_VALUE, BOOL_VALUE -> {
                        String s = anyToString(v);
                        Rejection rv = names.value(f, s);
                        if (rv != null) {
                            return rv;
                        }
                        if (dims.put(name, s) != null) {
                            return new Rejection(0, f, Rejection.DUPLICATE_KEY, "attribute maps to dim '" + name + "' twice");
                        }
                    }
                    case INT_VALUE, DOUBLE_VALUE -> {
                        double d = v.getValueCase() == AnyValue.ValueCase.INT_VALUE ? v.getIntValue() : v.getDoubleValue();
                        if (!Double.isFinite(d)) {
                            return new Rejection(0, f, Rejection.NOT_FINITE, "value must be finite");
                        }
                        if (measures.put(name, d) != null) {
                            return new Rejection(0, f, Rejection.DUPLICATE_KEY, "attribute maps to measure '" + name + "' twice");
                        }
                    }
                    default -> {
                        return new Rejection(0, f, Rejection.WRONG_TYPE, "attribute must be a string, bool or number (got "
                                + v.getValueCase().name().toLowerCase(Locale.ROOT) + ")");
                    }
                }
            }
            if (type.isEmpty()) {
                type = "log";
            }
            Rejection r = names.typeName("event_name", type);
            if (r != null) {
                return r;
            }
            if (dims.size() > limits.maxDims()) {
                return new Rejection(0, "attributes", Rejection.TOO_MANY, "more than " + limits.maxDims() + " string attributes (dims)");
            }
            if (measures.size() > limits.maxMeasures()) {
                return new Rejection(0, "attributes", Rejection.TOO_MANY, "more than " + limits.maxMeasures() + " numeric attributes (measures)");
            }
            if (experiments.size() > limits.maxExperiments()) {
                return new Rejection(0, "attributes", Rejection.TOO_MANY, "more than " + limits.maxExperiments() + " experiments");
            }
            long t = time(lr.getTimeUnixNano(), lr.getObservedTimeUnixNano(), now);
            Rejection w = window(t, now);
            if (w != null) {
                return w;
            }
            return new Event(tenant, t, type, dims, measures, unit, experiments, eventId, now);
        }

        @Override
        public FullHttpResponse success(IngestRequest req, Decoded d) {
            ExportLogsServiceResponse.Builder b = ExportLogsServiceResponse.newBuilder();
            if (!d.rejections().isEmpty()) {
                b.setPartialSuccess(ExportLogsPartialSuccess.newBuilder()
                        .setRejectedLogRecords(d.rejections().size())
                        .setErrorMessage(HttpReplies.summary(d.rejections())));
            }
            return reply(b.build(), d.json());
        }
    }
}
