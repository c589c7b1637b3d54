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
    @Test
    void theEstimateFollowsTheRetainedHeapOfAnExperimentHeavyBuffer() {
        Random rnd = new Random(3);
        long before = HeapProbe.usedAfterGc();
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
            f.idMarks.add(i, i);
            FlushBuffer.Group g = f.group(refs[i % refs.length], i % 6);
            g.add(1, false);
            f.addValue(f.row(g, "latency_ms", 0), v);
        }
        f.applyPendingIncrements();
        long retained = HeapProbe.usedAfterGc() - before;
        long estimate = f.approxBytes();
        assertThat(f.keys()).as("rows, not the client ids").isBetween(300_000, 320_000);
        // within [0.8, 2] of what the buffer holds: the bound it sets is neither blown nor uselessly tight
        assertThat((double) estimate / retained).as("estimate %d vs retained %d", estimate, retained).isBetween(0.8, 2.0);
    }

    /** Series rows whose values are latency-like: a few hundred 1 % buckets a row. */
    @Test
    void theEstimateFollowsTheRetainedHeapOfSeriesRowsWithNarrowHistograms() {
        assertEstimateFollowsSeriesRows(false);
    }

    /**
     * Series rows whose values spread over twelve decades (~2,800 buckets of 1 %): the estimate counts each row's
     * histogram window as allocated, so a buffer of wide histograms is bounded by max-bytes-per-flush like any other (a
     * fixed ~490 bytes a row, as before 2026-11-28, counted a third of what such a buffer held).
     */
    @Test
    void theEstimateFollowsTheRetainedHeapOfSeriesRowsWithWideHistograms() {
        assertEstimateFollowsSeriesRows(true);
    }

    private static void assertEstimateFollowsSeriesRows(boolean wide) {
        Random rnd = new Random(7);
        long before = HeapProbe.usedAfterGc();
        FlushBuffer f = new FlushBuffer();
        FlushBuffer.SeriesRef[] refs = new FlushBuffer.SeriesRef[5000];
        for (int i = 0; i < refs.length; i++) {
            refs[i] = new FlushBuffer.SeriesRef("t", FlushBuffer.KIND_EVENT, "inference", i, new TreeMap<>());
        }
        for (int i = 0; i < 2_000_000; i++) {
            FlushBuffer.Group g = f.group(refs[rnd.nextInt(refs.length)], rnd.nextInt(6));
            g.add(1, false);
            double v = wide ? Math.pow(10, -3 + 12 * rnd.nextDouble()) : Math.exp(3 + rnd.nextGaussian());
            f.addValue(f.row(g, "latency_ms", 0), v);
            f.addValue(f.row(g, "error", 1), rnd.nextInt(50) == 0 ? 1.0 : 0.0);
        }
        f.applyPendingIncrements();
        long retained = HeapProbe.usedAfterGc() - before;
        long estimate = f.approxBytes();
        assertThat(f.seriesRows()).isEqualTo(3 * 30_000);
        // measured: 1.12 (narrow) and 1.04 (wide); 0.34 for the wide rows before their windows were counted
        assertThat((double) estimate / retained).as("%s: estimate %d vs retained %d", wide ? "wide" : "narrow", estimate, retained)
                .isBetween(0.8, 2.0);
        assertThat(f.records).isZero(); // keeps f reachable until here
    }

    /**
     * A cardinality burst: every group a series of its own, with four labels, each decoded into Strings of its own as the
     * consumer does for a new series. The rows' refs and labels count (a fixed cost per row counted a quarter of them).
     */
    @Test
    void theEstimateFollowsTheRetainedHeapOfRowsOfDistinctSeries() {
        long before = HeapProbe.usedAfterGc();
        FlushBuffer f = new FlushBuffer();
        for (int i = 0; i < 100_000; i++) {
            TreeMap<String, String> labels = new TreeMap<>();
            labels.put(new String("model"), "fraud-model-" + i % 97);
            labels.put(new String("pod"), "inference-7d9f8c-" + i);
            labels.put(new String("region"), "eu-west-" + i % 3);
            labels.put(new String("version"), "v" + i % 11);
            FlushBuffer.SeriesRef ref = new FlushBuffer.SeriesRef(new String("acme"), FlushBuffer.KIND_EVENT, new String("inference"), i, labels);
            FlushBuffer.Group g = f.group(ref, 0);
            g.add(1, false);
            f.addValue(f.row(g, "latency_ms", 0), 10 + i % 7);
        }
        f.applyPendingIncrements();
        long retained = HeapProbe.usedAfterGc() - before;
        long estimate = f.approxBytes();
        assertThat(f.seriesRows()).isEqualTo(200_000);
        assertThat((double) estimate / retained).as("estimate %d vs retained %d", estimate, retained).isBetween(0.8, 2.0);
        assertThat(f.records).isZero(); // keeps f reachable until here
    }

    /**
     * Per-unit rows whose ids and names are long (the gateway allows hundreds of characters) and unit histograms whose
     * values spread over many decades: the keys' Strings and the histograms' maps count as they are (measured 1.38; fixed
     * per-row costs, measured with 12-character ids and a unit histogram's map at 384 bytes whatever it holds, 0.45).
     */
    @Test
    void theEstimateFollowsTheRetainedHeapOfLongIdsAndWideUnitHistograms() {
        Random rnd = new Random(11);
        long before = HeapProbe.usedAfterGc();
        FlushBuffer f = new FlushBuffer();
        String pad = "u".repeat(200);
        for (int i = 0; i < 400_000; i++) {
            int u = rnd.nextInt(20_000);
            String unit = new String(pad + u); // decoded per event, as the consumer does; a new key keeps its event's Strings
            String experiment = new String("checkout-redesign-2026-q4-holdout-" + (u % 8));
            String variant = new String("treatment-with-a-rather-long-name-" + (u % 3));
            f.addUnit("acme", experiment, variant, "purchase", "amount", unit, 20_000, 1 + i % 13);
            f.addExposure("acme", experiment, variant, unit, i);
        }
        for (int i = 0; i < 500_000; i++) { // a hundred units with 5,000 values each, spread over twelve decades
            int u = i % 100;
            f.addUnitHist("acme", "exp-" + (u % 8), "treatment", "purchase", "amount", "unit-" + u, 20_000, Math.pow(10, -3 + 12 * rnd.nextDouble()));
        }
        long retained = HeapProbe.usedAfterGc() - before;
        long estimate = f.approxBytes();
        assertThat((double) estimate / retained).as("estimate %d vs retained %d", estimate, retained).isBetween(0.8, 2.0);
        assertThat(f.records).isZero(); // keeps f reachable until here
    }

    /**
     * The marks of accepted client ids: the offsets come back in order, the stored bitmap decodes to
     * the same offsets (bit i of the flush's record start + i), and a mark costs about a bit.
     */
    @Test
    void clientIdMarksKeepTheirOffsetsAndCostABitARecord() {
        FlushBuffer.SeenMarks marks = new FlushBuffer.SeenMarks();
        long start = 3_000_000_000L; // beyond an int
        java.util.List<Long> expected = new java.util.ArrayList<>();
        Random rnd = new Random(5);
        for (long o = start + 3; o < start + 200_000; o++) {
            if (rnd.nextInt(10) < 9) { // most records with an id, some without
                marks.add(o, 1_795_000_000_000L + (o - start) / 10);
                expected.add(o);
            }
        }
        assertThat(marks.size()).isEqualTo(expected.size());
        java.util.List<Long> got = new java.util.ArrayList<>();
        marks.forEach(got::add);
        assertThat(got).containsExactlyElementsOf(expected);

        FlushBuffer.Block block = marks.block("events", "vigil.events", 2, start, start + 200_001);
        assertThat(block.table()).isEqualTo(Migrations.SEEN_ID_MARKS);
        byte[] row = block.rows().toArray();
        int bitmapLen = (200_001 + 7) / 8;
        byte[] bitmap = java.util.Arrays.copyOfRange(row, row.length - bitmapLen, row.length); // the last column
        java.util.List<Long> decoded = new java.util.ArrayList<>();
        FlushBuffer.SeenMarks.decode(start, bitmap, decoded::add);
        assertThat(decoded).containsExactlyElementsOf(expected);
        // about a bit a record (the words double as they grow: at most twice that), where the ids themselves took 24-32 bytes each before
        assertThat((double) marks.bytes() / (200_000 / 8.0)).as("bytes / (records / 8)").isBetween(1.0, 2.1);
    }
}
