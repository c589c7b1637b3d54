package dev.vigil.query.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.List;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

import dev.vigil.promql.Labels;
import dev.vigil.promql.engine.Sample;
import dev.vigil.promql.engine.Series;
import dev.vigil.promql.engine.Value;

/** Prometheus HTTP API JSON: result values, timestamps as seconds, sample values as strings. */
public final class PromJson {
    private static final JsonFactory F = new JsonFactory();

    private PromJson() {
    }

    /** Go's strconv.FormatFloat(v, 'f', -1, 64) as Prometheus uses for sample values. */
    public static String formatValue(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (v == Double.POSITIVE_INFINITY) {
            return "+Inf";
        }
        if (v == Double.NEGATIVE_INFINITY) {
            return "-Inf";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return new BigDecimal(Double.toString(v)).stripTrailingZeros().toPlainString();
    }

    static void writeTime(JsonGenerator g, long ms) throws IOException {
        long s = Math.floorDiv(ms, 1000);
        long frac = Math.floorMod(ms, 1000);
        if (frac == 0) {
            g.writeNumber(s);
        } else {
            String f = String.format("%03d", frac);
            while (f.endsWith("0")) {
                f = f.substring(0, f.length() - 1);
            }
            g.writeNumber(s + "." + f);
        }
    }

    static void writeMetric(JsonGenerator g, Labels l) throws IOException {
        g.writeObjectFieldStart("metric");
        for (int i = 0; i < l.size(); i++) {
            g.writeStringField(l.name(i), l.value(i));
        }
        g.writeEndObject();
    }

    /** The success envelope of a matrix answer computed outside the engine (same format as {@link #queryResult}). */
    public static byte[] matrix(List<dev.vigil.query.storage.HistogramQuantilePath.Out> series) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
        try (JsonGenerator g = F.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("status", "success");
            g.writeObjectFieldStart("data");
            g.writeStringField("resultType", "matrix");
            g.writeArrayFieldStart("result");
            for (var s : series) {
                g.writeStartObject();
                writeMetric(g, s.labels());
                g.writeArrayFieldStart("values");
                for (int i = 0; i < s.n(); i++) {
                    g.writeStartArray();
                    writeTime(g, s.t()[i]);
                    g.writeString(formatValue(s.v()[i]));
                    g.writeEndArray();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
            g.writeEndObject();
        }
        return out.toByteArray();
    }

    /** The full success envelope of a query / query_range answer. */
    public static byte[] queryResult(Value v, List<String> warnings, List<String> infos) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
        try (JsonGenerator g = F.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("status", "success");
            g.writeObjectFieldStart("data");
            switch (v) {
                case Value.Scalar s -> {
                    g.writeStringField("resultType", "scalar");
                    g.writeArrayFieldStart("result");
                    writeTime(g, s.timestamp());
                    g.writeString(formatValue(s.value()));
                    g.writeEndArray();
                }
                case Value.Str s -> {
                    g.writeStringField("resultType", "string");
                    g.writeArrayFieldStart("result");
                    writeTime(g, s.timestamp());
                    g.writeString(s.value());
                    g.writeEndArray();
                }
                case Value.Vector vec -> {
                    g.writeStringField("resultType", "vector");
                    g.writeArrayFieldStart("result");
                    for (Sample s : vec.samples()) {
                        g.writeStartObject();
                        writeMetric(g, s.metric());
                        g.writeArrayFieldStart("value");
                        writeTime(g, s.timestamp());
                        g.writeString(formatValue(s.value()));
                        g.writeEndArray();
                        g.writeEndObject();
                    }
                    g.writeEndArray();
                }
                case Value.Matrix m -> {
                    g.writeStringField("resultType", "matrix");
                    g.writeArrayFieldStart("result");
                    for (Series s : m.series()) {
                        g.writeStartObject();
                        writeMetric(g, s.labels());
                        g.writeArrayFieldStart("values");
                        for (int i = 0; i < s.size(); i++) {
                            g.writeStartArray();
                            writeTime(g, s.timestamp(i));
                            g.writeString(formatValue(s.value(i)));
                            g.writeEndArray();
                        }
                        g.writeEndArray();
                        g.writeEndObject();
                    }
                    g.writeEndArray();
                }
            }
            g.writeEndObject();
            if (!warnings.isEmpty()) {
                g.writeArrayFieldStart("warnings");
                for (String w : warnings) {
                    g.writeString(w);
                }
                g.writeEndArray();
            }
            if (!infos.isEmpty()) {
                g.writeArrayFieldStart("infos");
                for (String w : infos) {
                    g.writeString(w);
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        }
        return out.toByteArray();
    }
}
