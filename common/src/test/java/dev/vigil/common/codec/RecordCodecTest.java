package dev.vigil.common.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import dev.vigil.common.model.Event;
import dev.vigil.common.model.Sample;

class RecordCodecTest {
    static Event event() {
        return new Event("acme", 1_700_000_000_123L, "inference",
                new TreeMap<>(Map.of("model", "ranker", "version", "v2", "region", "eu-west-1 ünïcode")),
                new TreeMap<>(Map.of("latency_ms", 12.5, "error", 0.0, "score", -0.25)),
                "user-42", new TreeMap<>(Map.of("exp-42", "treatment")), "evt-1", 1_700_000_000_456L);
    }

    @Test
    void eventRoundTripsExactly() {
        Event e = event();
        assertThat(RecordCodec.decodeEvent(RecordCodec.encode(e))).isEqualTo(e);
    }

    @Test
    void optionalFieldsRoundTripAsAbsent() {
        Event e = new Event("t", 1, "x", new TreeMap<>(), new TreeMap<>(), null, new TreeMap<>(), null, 2);
        Event back = RecordCodec.decodeEvent(RecordCodec.encode(e));
        assertThat(back.unitId()).isNull();
        assertThat(back.eventId()).isNull();
        assertThat(back).isEqualTo(e);
    }

    @Test
    void sampleRoundTripsIncludingStaleNaNBits() {
        double stale = Double.longBitsToDouble(0x7ff0000000000002L);
        Sample s = new Sample("acme", "http_requests_total", new TreeMap<>(Map.of("job", "api")), 42, stale);
        Sample back = RecordCodec.decodeSample(RecordCodec.encode(s));
        assertThat(Double.doubleToRawLongBits(back.value())).isEqualTo(0x7ff0000000000002L);
        assertThat(back.labels()).isEqualTo(s.labels());
    }

    @Test
    void everyTruncationIsRejectedWithAReason() {
        byte[] full = RecordCodec.encode(event());
        for (int n = 0; n < full.length; n++) {
            byte[] cut = Arrays.copyOf(full, n);
            assertThatThrownBy(() -> RecordCodec.decodeEvent(cut)).isInstanceOf(RecordCodec.CodecException.class);
        }
    }

    @Test
    void unknownVersionAndWrongKindAreRejected() {
        byte[] b = RecordCodec.encode(event());
        b[0] = 9;
        assertThatThrownBy(() -> RecordCodec.decodeEvent(b)).hasMessageContaining("version 9");
        byte[] s = RecordCodec.encode(new Sample("t", "m", new TreeMap<>(), 1, 1));
        assertThatThrownBy(() -> RecordCodec.decodeEvent(s)).hasMessageContaining("expected an event");
    }
}
