package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SortedMap;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.model.Event;

/** The series cache is bounded by its estimated heap, and the estimate follows what it really holds. */
class SeriesCacheTest {
    /** What the consumer thread does for a series it has not seen: decode, build the ref, cache it. */
    private static void putNew(SeriesCache cache, EventScratch s, int i, int labelLength) {
        TreeMap<String, String> dims = new TreeMap<>();
        dims.put("model", "fraud-model-" + i % 97);
        dims.put("pod", "inference-" + "x".repeat(labelLength) + "-" + i);
        dims.put("region", "eu-west-" + i % 3);
        byte[] rec = RecordCodec.encode(new Event("acme", 1, "inference", dims, new TreeMap<>(java.util.Map.of("latency_ms", 1.0)), null,
                new TreeMap<>(), null, 1));
        RecordCodec.scanEvent(rec, s);
        Event ev = RecordCodec.decodeEvent(rec);
        SortedMap<String, String> labels = ev.dims();
        FlushBuffer.SeriesRef ref = new FlushBuffer.SeriesRef(ev.tenant(), FlushBuffer.KIND_EVENT, ev.type(), i, labels);
        int h = SeriesCache.hash(s);
        assertThat(cache.get(s, h)).isNull();
        cache.put(s, h, ev.tenant(), ev.type(), ref);
    }

    @Test
    void theEstimateFollowsTheRetainedHeap() {
        EventScratch s = new EventScratch();
        long before = HeapProbe.usedAfterGc();
        SeriesCache cache = new SeriesCache(1 << 20, Long.MAX_VALUE);
        for (int i = 0; i < 100_000; i++) {
            putNew(cache, s, i, 20);
        }
        long retained = HeapProbe.usedAfterGc() - before;
        assertThat(cache.size()).isEqualTo(100_000);
        assertThat(cache.resets()).isZero();
        assertThat((double) cache.bytes() / retained).as("estimate %d vs retained %d", cache.bytes(), retained).isBetween(0.8, 2.0);
    }

    @Test
    void aBurstOfNewSeriesClearsItAtItsByteBoundInsteadOfFillingTheHeap() {
        EventScratch s = new EventScratch();
        long max = 4L << 20;
        SeriesCache cache = new SeriesCache(1 << 20, max);
        long before = HeapProbe.usedAfterGc();
        long most = 0;
        for (int i = 0; i < 200_000; i++) {
            putNew(cache, s, i, 200); // labels of ~200 bytes: ~1.5 KB a series, 300 MB for all of them
            most = Math.max(most, cache.bytes());
        }
        long retained = HeapProbe.usedAfterGc() - before;
        assertThat(most).isLessThanOrEqualTo(max);
        assertThat(cache.resets()).isGreaterThan(50);
        assertThat(retained).as("retained heap").isLessThan(2 * max);
        // what it holds after a reset is found again
        assertThat(cache.size()).isPositive();
    }
}
