package dev.vigil.aggregator;

import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.histogram.LogBuckets;
import dev.vigil.common.model.Event;

/**
 * Not a test: CPU per event of the pieces of the event hot path, without Kafka
 * ({@code java -cp ... HotPathBench [series=1000]}). One flush buffer holds every series, so its
 * working set grows with {@code series}: a consumer thread of the aggregator bench holds two
 * partitions' buffers, about 500 series.
 */
public final class HotPathBench {
    public static void main(String[] args) {
        int n = 1_000_000;
        int series = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        Random rnd = new Random(1);
        byte[][] recs = new byte[n][];
        long now = System.currentTimeMillis();
        for (int i = 0; i < n; i++) {
            int s = rnd.nextInt(series);
            SortedMap<String, String> dims = new TreeMap<>(Map.of("model", "m" + s % 50, "region", "r" + (s / 50) % 20));
            SortedMap<String, Double> m = new TreeMap<>();
            m.put("latency_ms", Math.exp(3 + rnd.nextGaussian()));
            m.put("error", rnd.nextInt(50) == 0 ? 1.0 : 0.0);
            recs[i] = RecordCodec.encode(new Event("t" + s % 3, now - rnd.nextInt(60_000), "inference", dims, m, null, new TreeMap<>(), null, now));
        }
        EventScratch e = new EventScratch();
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        for (int round = 0; round < 8; round++) {
            long t0 = mx.getCurrentThreadCpuTime();
            long x = 0;
            for (byte[] r : recs) {
                RecordCodec.visitEvent(r, e);
                x += e.time;
            }
            long t1 = mx.getCurrentThreadCpuTime();
            SeriesCache cache = new SeriesCache(1 << 20, Long.MAX_VALUE);
            for (byte[] r : recs) {
                RecordCodec.visitEvent(r, e);
                int h = SeriesCache.hash(e);
                if (cache.get(e, h) == null) {
                    cache.put(e, h, "", "", null);
                }
            }
            long t2 = mx.getCurrentThreadCpuTime();
            for (byte[] r : recs) {
                RecordCodec.visitEvent(r, e);
                for (int i = 0; i < e.measureCount; i++) {
                    x += LogBuckets.key(e.measureVal[i]);
                }
            }
            long t3 = mx.getCurrentThreadCpuTime();
            for (byte[] r : recs) {
                RecordCodec.visitEvent(r, e);
                for (int i = 0; i < e.measureCount; i++) {
                    x += FastBuckets.key(e.measureVal[i]);
                }
            }
            long t3f = mx.getCurrentThreadCpuTime();
            FlushBuffer buf = new FlushBuffer();
            FlushBuffer.SeriesRef[] refs = new FlushBuffer.SeriesRef[series];
            for (int i = 0; i < refs.length; i++) {
                refs[i] = new FlushBuffer.SeriesRef("t", FlushBuffer.KIND_EVENT, "inference", i, new TreeMap<>());
            }
            rows(recs, e, buf, refs, Hists.NONE);
            long t4 = mx.getCurrentThreadCpuTime();
            rows(recs, e, new FlushBuffer(), refs, Hists.DIRECT);
            long t5 = mx.getCurrentThreadCpuTime();
            rows(recs, e, new FlushBuffer(), refs, Hists.QUEUED);
            long t6 = mx.getCurrentThreadCpuTime();
            // each figure is visit + the piece named
            System.out.printf("CPU per event (%d series): visit %.0f ns, +series cache %.0f ns, +2 bucket keys %.0f ns (FastBuckets %.0f ns),"
                    + " +3 rows without histograms %.0f ns, +3 rows with histograms %.0f ns, the same with queued increments %.0f ns  (%d)%n", series,
                    (t1 - t0) / (double) n, (t2 - t1) / (double) n, (t3 - t2) / (double) n, (t3f - t3) / (double) n, (t4 - t3f) / (double) n,
                    (t5 - t4) / (double) n, (t6 - t5) / (double) n, x);
        }
    }

    /** How {@link #rows} adds the measures: totals only, with direct histogram increments, or queued ones. */
    private enum Hists { NONE, DIRECT, QUEUED }

    /** The rollup of every record into {@code buf}: its (series, bucket) group and its two measure rows. */
    private static void rows(byte[][] recs, EventScratch e, FlushBuffer buf, FlushBuffer.SeriesRef[] refs, Hists hists) {
        int j = 0;
        for (byte[] r : recs) {
            RecordCodec.visitEvent(r, e);
            FlushBuffer.SeriesRef ref = refs[(int) ((j++ * 7919L) % refs.length)];
            long bucket = Math.floorDiv(e.time, 10_000) * 10;
            FlushBuffer.Group g = buf.group(ref, bucket);
            g.add(1.0, false);
            FlushBuffer.SeriesAgg error = buf.row(g, "error", 0);
            FlushBuffer.SeriesAgg latency = buf.row(g, "latency_ms", 1);
            if (hists == Hists.QUEUED) {
                buf.addValue(error, e.measureVal[0]);
                buf.addValue(latency, e.measureVal[1]);
            } else {
                error.add(e.measureVal[0], hists == Hists.DIRECT);
                latency.add(e.measureVal[1], hists == Hists.DIRECT);
            }
        }
        buf.applyPendingIncrements();
    }
}
