package dev.vigil.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SortedMap;
import java.util.TreeMap;

import com.google.protobuf.InvalidProtocolBufferException;

import dev.vigil.common.model.Sample;
import dev.vigil.gateway.prompb.Remote.WriteRequest;
import dev.vigil.gateway.prompb.Types;
import io.netty.buffer.ByteBufInputStream;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

/**
 * Prometheus remote write 1.0 ({@code POST /api/v1/write}): snappy block-compressed
 * protobuf {@code WriteRequest} to Samples. 204 when every sample was accepted; 400 with a text
 * summary when some were rejected (the valid ones are written, as Prometheus' own receiver does:
 * a 4xx tells the sender not to retry).
 */
public final class RemoteWriteEndpoint implements Endpoint {
    /** Prometheus' staleness marker, the one NaN accepted. */
    public static final long STALE_NAN_BITS = 0x7ff0000000000002L;

    private final GatewayConfig.Limits limits;
    private final Names names;

    public RemoteWriteEndpoint(GatewayConfig.Limits limits) {
        this.limits = limits;
        this.names = new Names(limits.maxNameLength(), limits.maxValueLength());
    }

    @Override
    public String name() {
        return "remote_write";
    }

    /** The {@code proto} parameter of a Content-Type ({@code application/x-protobuf;proto=...}), or null. */
    static String protoParameter(String contentType) {
        if (contentType == null) {
            return null;
        }
        String[] parts = contentType.split(";");
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim();
            int eq = p.indexOf('=');
            if (eq > 0 && p.substring(0, eq).trim().equalsIgnoreCase("proto")) {
                String v = p.substring(eq + 1).trim();
                return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
            }
        }
        return null;
    }

    @Override
    public String kind() {
        return "sample";
    }

    @Override
    public Decoded decode(IngestRequest req, long now) {
        String ct = req.header(HttpHeaderNames.CONTENT_TYPE);
        if (ct != null && !ct.toLowerCase(Locale.ROOT).startsWith("application/x-protobuf")) {
            throw new RequestException(415, "unsupported_media_type", "remote write needs Content-Type application/x-protobuf, got '" + ct + "'");
        }
        String proto = protoParameter(ct);
        if (proto != null && !proto.equals("prometheus.WriteRequest")) {
            // Remote-Write 2.0 (io.prometheus.write.v2.Request) decodes as a 1.0 WriteRequest without error and without
            // a single series: it must be refused, and with 415 its sender falls back to 1.0 (the 2.0 spec's rule)
            throw new RequestException(415, "unsupported_media_type", "remote write message '" + proto
                    + "' is not supported; send Remote-Write 1.0 (Content-Type application/x-protobuf;proto=prometheus.WriteRequest)");
        }
        String ce = req.header(HttpHeaderNames.CONTENT_ENCODING);
        BodyDecoder.Encoding enc = ce == null ? BodyDecoder.Encoding.SNAPPY : BodyDecoder.encoding(ce);
        if (enc != BodyDecoder.Encoding.SNAPPY) {
            throw new RequestException(415, "unsupported_encoding", "remote write bodies must be snappy-compressed (Content-Encoding: snappy)");
        }
        if (!req.body().isReadable()) {
            throw RequestException.badRequest("empty_body", "empty body: expected a snappy-compressed WriteRequest");
        }
        byte[] bytes = BodyDecoder.bytes(new ByteBufInputStream(req.body().duplicate()), enc, limits.maxDecompressed());
        WriteRequest wr;
        try {
            wr = WriteRequest.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw RequestException.badRequest("invalid_protobuf", "cannot parse WriteRequest: " + e.getMessage());
        }
        List<Sample> out = new ArrayList<>();
        List<Rejection> rej = new ArrayList<>();
        int index = 0;
        for (Types.TimeSeries ts : wr.getTimeseriesList()) {
            int n = ts.getSamplesCount() + ts.getHistogramsCount();
            if ((long) index + n > limits.maxEvents()) {
                throw RequestException.tooLarge("too_many_events", "more than " + limits.maxEvents() + " samples in one request");
            }
            String name = null;
            SortedMap<String, String> labels = new TreeMap<>();
            Rejection bad = null;
            for (Types.Label l : ts.getLabelsList()) {
                if (l.getName().equals("__name__")) {
                    if (name != null) {
                        bad = new Rejection(0, "__name__", Rejection.DUPLICATE_KEY, "label given twice");
                        break;
                    }
                    name = l.getValue();
                    bad = names.metricName("__name__", name);
                } else {
                    String f = "labels." + l.getName();
                    bad = names.labelName(f, l.getName());
                    if (bad == null && l.getValue().isEmpty()) {
                        continue;
                    }
                    if (bad == null) {
                        bad = names.value(f, l.getValue());
                    }
                    if (bad == null && labels.put(l.getName(), l.getValue()) != null) {
                        bad = new Rejection(0, f, Rejection.DUPLICATE_KEY, "label given twice");
                    }
                }
                if (bad != null) {
                    break;
                }
            }
            if (bad == null && name == null) {
                bad = new Rejection(0, "__name__", Rejection.MISSING, "series has no __name__ label");
            }
            if (bad == null && labels.size() > limits.maxDims()) {
                bad = new Rejection(0, "labels", Rejection.TOO_MANY, "more than " + limits.maxDims() + " labels");
            }
            for (Types.Sample s : ts.getSamplesList()) {
                Rejection r = bad;
                double v = s.getValue();
                if (r == null && !Double.isFinite(v) && Double.doubleToRawLongBits(v) != STALE_NAN_BITS) {
                    r = new Rejection(0, name, Rejection.NOT_FINITE, "value " + v + " (only finite values and the staleness marker are accepted)");
                }
                if (r == null && s.getTimestamp() > now + limits.maxFutureMillis()) {
                    r = new Rejection(0, "timestamp", Rejection.OUT_OF_WINDOW, "timestamp " + s.getTimestamp() + " too far in the future");
                }
                if (r == null && s.getTimestamp() < now - limits.maxAgeMillis()) {
                    r = new Rejection(0, "timestamp", Rejection.OUT_OF_WINDOW, "timestamp " + s.getTimestamp() + " too old");
                }
                if (r != null) {
                    rej.add(r.withIndex(index));
                } else {
                    out.add(new Sample(req.tenant(), name, labels, s.getTimestamp(), v));
                }
                index++;
            }
            for (int i = 0; i < ts.getHistogramsCount(); i++) {
                rej.add(new Rejection(index++, name == null ? "histograms" : name, Rejection.UNSUPPORTED,
                        "native histograms are not accepted (remote write 1.0 float samples only)"));
            }
        }
        return new Decoded(List.of(), out, rej, index, null, false);
    }

    @Override
    public FullHttpResponse success(IngestRequest req, Decoded d) {
        if (d.rejections().isEmpty()) {
            return HttpReplies.bytes(204, null, new byte[0]);
        }
        return HttpReplies.text(400, "accepted " + d.accepted() + " samples; " + HttpReplies.summary(d.rejections()) + "\n");
    }

    @Override
    public FullHttpResponse error(HttpHeaders h, RequestException e) {
        return HttpReplies.retryAfter(HttpReplies.text(e.status(), e.code() + ": " + e.getMessage() + "\n"), e);
    }
}
