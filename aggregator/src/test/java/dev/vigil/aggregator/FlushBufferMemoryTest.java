package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/**
 * The buffer's heap estimate, which aggregator.max-bytes-per-flush and max-queued-bytes bound,
 * follows the heap the buffer really retains (measured around full GCs).
 */
class FlushBufferMemoryTest {
    private static long usedAfterGc() {
        Runtime r = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            used = Math.min(used, r.totalMemory() - r.freeMemory());
        }
        return used;
    }

    @Test
    void theEstimateFollowsTheRetainedHeapOfAnExperimentHeavyBuffer() {
        Random rnd = new Random(3);
        long before = usedAfterGc();
        FlushBuffer f = new FlushBuffer();
        FlushBuffer.SeriesRef[] refs = new FlushBuffer.SeriesRef[2000];
        for (int i = 0; i < refs.length; i++) {
            refs[i] = new FlushBuffer.SeriesRef("t", FlushBuffer.KIND_EVENT, "inference", i, new TreeMap<>());
        }
        for (int i = 0; i < 100_000; i++) {
            String unit = new String("user-" + (1_000_000 + i)); // a decoded unit id: a String of its own
            double v = Math.exp(3 + rnd.nextGaussian());
            f.addUnit("acme", "exp-" + (i % 40), "treatment", "inference", "latency_ms", unit, 20_000, v);
            f.addUnitHist("acme", "exp-" + (i % 40), "treatment", "inference", "latency_ms", unit, 20_000, v);
            f.addExposure("acme", "exp-" + (i % 40), "treatment", unit, i);
            f.seenIds.add(i, i, i, i);
            FlushBuffer.Group g = f.group(refs[i % refs.length], i % 6);
            g.add(1, false);
            f.row(g, "latency_ms", 0).add(v, true);
        }
        long retained = usedAfterGc() - before;
        long estimate = f.approxBytes();
        assertThat(f.keys()).as("rows, not the client ids").isBetween(300_000, 320_000);
        // within [0.8, 2] of what the buffer holds: the bound it sets is neither blown nor uselessly tight
        assertThat((double) estimate / retained).as("estimate %d vs retained %d", estimate, retained).isBetween(0.8, 2.0);
    }

    /**
     * The ids a flush stores come back in order across the chunks, offsets and times that do not fit a chunk's 32-bit
     * differences included, and their bytes are what they hold.
     */
    @Test
    void clientIdsKeepTheirOrderAndCountTheirBytes() {
        FlushBuffer.SeenIdColumns ids = new FlushBuffer.SeenIdColumns();
        int n = 40_000; // dozens of chunks
        long[][] expected = new long[4][n];
        for (int i = 0; i < n; i++) {
            // now and then a jump beyond an int: 3 billion records or 30 days later, or back in time
            long offset = 1_000L + i + (i >= 20_000 ? 3_000_000_000L : 0);
            long ts = 1_795_000_000_000L + 7L * i + (i % 9_999 == 0 ? 30L * 86_400_000 : 0) - (i == 30_001 ? 40L * 86_400_000 : 0);
            long[] row = {offset, ts, -i, Long.MAX_VALUE - i};
            ids.add(row[0], row[1], row[2], row[3]);
            for (int f = 0; f < 4; f++) {
                expected[f][i] = row[f];
            }
        }
        assertThat(ids.size()).isEqualTo(n);
        for (int f = 0; f < FlushBuffer.SeenIdColumns.FIELDS; f++) {
            java.util.List<Long> got = new java.util.ArrayList<>();
            ids.forEach(f, got::add);
            assertThat(got).as("field %d", f).containsExactly(java.util.Arrays.stream(expected[f]).boxed().toArray(Long[]::new));
        }
        FlushBuffer.SeenIdColumns steady = new FlushBuffer.SeenIdColumns(); // offsets in a row, times close
        for (int i = 0; i < n; i++) {
            steady.add(5_000_000L + i, 1_795_000_000_000L + i / 10, i, i);
        }
        assertThat((double) steady.bytes() / (24.0 * n)).as("bytes per id / 24").isBetween(1.0, 1.05);
    }
}
