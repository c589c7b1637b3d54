package dev.vigil.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.config.Config;
import dev.vigil.common.model.Event;

/** The hot path's direct encoding must be byte-identical to RecordCodec.encode(Event) and Event.seriesKey(). */
class EncodedEventsTest {
    static final GatewayConfig.Limits LIMITS = GatewayConfig.Limits.of(Config.load(GatewayConfig.DEF, Map.of()));
    static final long NOW = 1_800_000_000_000L;

    private static void assertSame(String json, boolean ndjson, String headerBatch) {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        EventJsonParser parser = new EventJsonParser(LIMITS);
        EventJsonParser.Result bytes = parser.parse(b, 0, b.length, ndjson, "tenant-ü", headerBatch, NOW);
        EventJsonParser.Result stream = parser.parse(new ByteArrayInputStream(b), ndjson, "tenant-ü", headerBatch, NOW);
        EncodedEvents enc = bytes.records();
        assertThat(enc.size()).isEqualTo(bytes.events().size()).isEqualTo(stream.events().size()).isPositive();
        assertThat(bytes.rejections()).isEqualTo(stream.rejections());
        for (int i = 0; i < enc.size(); i++) {
            Event e = stream.events().get(i);
            assertThat(bytes.events().get(i)).isEqualTo(e);
            assertThat(enc.values()[i]).isEqualTo(RecordCodec.encode(e));
            assertThat(enc.keys()[i]).isEqualTo(e.seriesKey().getBytes(StandardCharsets.UTF_8));
            assertThat(RecordCodec.decodeEvent(enc.values()[i])).isEqualTo(e);
        }
    }

    @Test
    void sameBytesAsRecordCodec() {
        StringBuilder sb = new StringBuilder("{\"events\":[");
        for (int i = 0; i < 23; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append("{\"type\":\"inference\",\"ts\":").append(NOW - i)
                    .append(",\"dims\":{\"region\":\"eu-west\",\"model\":\"ränker\",\"version\":\"v").append(i % 3)
                    .append("\",\"a_").append(i).append("\":\"x\"},")
                    .append("\"measures\":{\"score\":0.").append(i).append("1,\"latency_ms\":").append(i * 7)
                    .append(",\"error\":0,\"big\":1e300},")
                    .append("\"unit_id\":\"user-😀").append(i).append('"');
            if (i % 4 == 0) {
                sb.append(",\"experiments\":{\"exp-42\":\"treatment\",\"exp-10\":\"control\",\"a.b:c\":\"v\"}");
            }
            if (i % 5 == 0) {
                sb.append(",\"event_id\":\"own-").append(i).append('"');
            }
            if (i == 7) {
                sb.append(",\"dims\":{}"); // duplicate field: rejected
            }
            sb.append('}');
        }
        sb.append("],\"batch_id\":\"batch-€-1\"}");
        assertSame(sb.toString(), false, null);
        String longValue = "ü-".repeat(40) + "x".repeat(100);
        assertSame("[{\"type\":\"t\",\"ts\":" + NOW + ",\"event_id\":\"" + longValue + "\",\"dims\":{\"long\":\"" + longValue
                + "\",\"" + "n".repeat(60) + "\":\"" + "a".repeat(43) + "\"},\"unit_id\":\"" + "é".repeat(42) + "\"}]", false, null);
        assertSame("[{\"type\":\"t\",\"ts\":\"2027-01-15T08:00:00Z\"},{\"type\":\"t\",\"ts\":" + NOW + ",\"dims\":{\"b\":\"1\",\"a\":\"2\"}}]", false, null);
        assertSame("{\"type\":\"t\",\"ts\":" + NOW + "}\n{\"type\":\"t\",\"ts\":" + NOW + ",\"dims\":{\"z\":\"1\",\"y\":\"2\",\"x\":\"3\",\"w\":\"4\",\"v\":\"5\"}}\n",
                true, "hb");
    }

    @Test
    void duplicateAndTooManyKeysStillRejected() {
        String j = "[{\"type\":\"t\",\"ts\":" + NOW + ",\"dims\":{\"a\":\"1\",\"a\":\"2\"}},"
                + "{\"type\":\"t\",\"ts\":" + NOW + ",\"measures\":{\"m\":1,\"m\":2}},"
                + "{\"type\":\"t\",\"ts\":" + NOW + ",\"dims\":{\"bad-name\":\"1\"}},"
                + "{\"type\":\"t\",\"ts\":" + NOW + ",\"measures\":{\"m\":NaN}},"
                + "{\"type\":\"t\",\"ts\":" + NOW + "}]";
        byte[] b = j.getBytes(StandardCharsets.UTF_8);
        var r = new EventJsonParser(LIMITS).parse(b, 0, b.length, false, "t", null, NOW);
        assertThat(r.rejections()).extracting(Rejection::index, Rejection::field, Rejection::reason).containsExactly(
                org.assertj.core.groups.Tuple.tuple(0, "dims.a", "duplicate_key"),
                org.assertj.core.groups.Tuple.tuple(1, "measures.m", "duplicate_key"),
                org.assertj.core.groups.Tuple.tuple(2, "dims.bad-name", "invalid_name"),
                org.assertj.core.groups.Tuple.tuple(3, "measures.m", "not_finite"));
        assertThat(r.records().size()).isEqualTo(1);
    }
}
