package dev.vigil.aggregator;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.model.Event;

/**
 * Not a test: the events job's fast path on one thread, without Kafka, as a consumer thread of
 * the aggregator bench sees it ({@code java -cp ... ConsumerPathBench [series=500] [partitions=2]}).
 * Unlike {@link HotPathBench}, the caches are under the same pressure as in the full bench: each
 * "poll" of 20,000 records first copies every record into a new array beside a new
 * {@code ByteBuffer} (what Kafka's decompression and record parsing do, megabytes per poll), and then
 * each record goes through what {@code Rollup.handleEvent} does for it (scan, series cache,
 * group, rows, queued histogram increments) into its partition's flush buffer, which is encoded and
 * replaced every 1,000,000 records per partition. Prints the CPU per event of the whole path and of
 * the copy alone: a look at the hot path in seconds, without Kafka and ClickHouse. Its spread within
 * one process was ±20 % on a busy host, so it does not settle differences of a few per cent either.
 * It mirrors {@code Rollup.handleEvent}'s fast path: a change there must be made here too.
 */
public final class ConsumerPathBench {
    private static final int POLL = Integer.getInteger("poll", 20_000);
    private static final int RECORDS_PER_FLUSH = 1_000_000;

    public static void main(String[] args) {
        int series = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        int partitions = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int n = 2_000_000;
        Random rnd = new Random(1);
        byte[][] recs = new byte[n][];
        int[] partitionOf = new int[n]; // Kafka keys records by series: a series lives in one partition
        long now = System.currentTimeMillis();
        for (int i = 0; i < n; i++) {
            int s = rnd.nextInt(series);
            partitionOf[i] = s % partitions;
            SortedMap<String, String> dims = new TreeMap<>(Map.of("model", "m" + s % 50, "region", "r" + (s / 50) % 20));
            SortedMap<String, Double> m = new TreeMap<>();
            m.put("latency_ms", Math.exp(3 + rnd.nextGaussian()));
            m.put("error", rnd.nextInt(50) == 0 ? 1.0 : 0.0);
            recs[i] = RecordCodec.encode(new Event("t" + s % 3, now - rnd.nextInt(60_000), "inference", dims, m, null, new TreeMap<>(), null, now));
        }
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        Path path = new Path(partitions);
        ByteBuffer[] poll = new ByteBuffer[POLL];
        long sink = 0;
        for (int round = 0; round < 10; round++) {
            long t0 = mx.getCurrentThreadCpuTime();
            for (int from = 0; from < n; from += POLL) {
                int to = Math.min(n, from + POLL);
                for (int i = from; i < to; i++) {
                    poll[i - from] = ByteBuffer.wrap(recs[i].clone());
                }
                for (int i = from; i < to; i++) {
                    path.handle(poll[i - from], partitionOf[i]);
                }
            }
            long t1 = mx.getCurrentThreadCpuTime();
            for (int from = 0; from < n; from += POLL) {
                int to = Math.min(n, from + POLL);
                for (int i = from; i < to; i++) {
                    poll[i - from] = ByteBuffer.wrap(recs[i].clone());
                }
                sink += poll[0].remaining();
            }
            long t2 = mx.getCurrentThreadCpuTime();
            long copyOnly = t2 - t1;
            System.out.printf("CPU per event (%d series, %d partitions): whole path %.0f ns, of which the copy of the poll %.0f ns  (%d)%n",
                    series, partitions, (t1 - t0) / (double) n, copyOnly / (double) n, sink + path.rows);
        }
    }

    /** {@code Rollup.handleEvent}'s fast path for events without ids, units or experiments. */
    private static final class Path {
        final EventScratch e = new EventScratch();
        final SeriesCache cache = new SeriesCache(1 << 20, Long.MAX_VALUE);
        final Utf8Interner measureNames = new Utf8Interner(4096);
        final FlushBuffer[] bufs;
        final long[] records;
        long rows;

        Path(int partitions) {
            bufs = new FlushBuffer[partitions];
            records = new long[partitions];
            for (int p = 0; p < partitions; p++) {
                bufs[p] = new FlushBuffer();
            }
        }

        void handle(ByteBuffer value, int partition) {
            RecordCodec.scanEvent(value.array(), value.arrayOffset() + value.position(), value.remaining(), e);
            int hash = SeriesCache.hash(e);
            SeriesCache.Entry info = cache.get(e, hash);
            if (info == null) {
                Event ev = RecordCodec.decodeEvent(Records.bytes(value));
                TreeMap<String, String> labels = new TreeMap<>(ev.dims());
                FlushBuffer.SeriesRef ref = new FlushBuffer.SeriesRef(ev.tenant(), FlushBuffer.KIND_EVENT, ev.type(),
                        SeriesIds.seriesId(ev.type(), labels), labels);
                info = cache.put(e, hash, ev.tenant(), ev.type(), ref);
            }
            FlushBuffer buf = bufs[partition];
            long bucket = Math.floorDiv(e.time, 10_000L) * 10;
            FlushBuffer.Group g = buf.group(info.ref, bucket);
            g.add(1.0, false);
            byte[] b = e.buf;
            for (int i = 0; i < e.measureCount; i++) {
                buf.addValue(buf.row(g, measureNames.get(i, b, e.measureOff[i], e.measureLen[i]), i), e.measureVal[i]);
            }
            if (++records[partition] == RECORDS_PER_FLUSH) {
                for (FlushBuffer.Block block : buf.encode()) {
                    rows += block.rows().rows();
                }
                bufs[partition] = new FlushBuffer(buf);
                records[partition] = 0;
            }
        }
    }
}
