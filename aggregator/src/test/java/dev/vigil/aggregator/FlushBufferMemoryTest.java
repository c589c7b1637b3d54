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

    /** The ids a flush stores come back in order across the chunks, and their bytes are what they hold. */
    @Test
    void clientIdsKeepTheirOrderAndCountTheirBytes() {
        FlushBuffer.SeenIdColumns ids = new FlushBuffer.SeenIdColumns();
        int n = 40_000; // dozens of chunks
        for (int i = 0; i < n; i++) {
            ids.add(1_000 + i, 7L * i, -i, Long.MAX_VALUE - i);
        }
        assertThat(ids.size()).isEqualTo(n);
        for (int i = 0; i < n; i++) {
            assertThat(new long[] {ids.get(i, 0), ids.get(i, FlushBuffer.SeenIdColumns.TS), ids.get(i, 2), ids.get(i, 3)})
                    .as("id %d", i).containsExactly(1_000 + i, 7L * i, -i, Long.MAX_VALUE - i);
        }
        assertThat((double) ids.bytes() / (32.0 * n)).as("bytes per id / 32").isBetween(1.0, 1.05);
    }
}
