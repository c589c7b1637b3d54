package dev.vigil.loadtest.jmh;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import dev.vigil.aggregator.SeriesIds;
import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.histogram.LogHistogram;
import dev.vigil.common.model.Event;

/**
 * Rollup accumulation per Kafka record, built from the aggregator's public pieces: decode the
 * record ({@link RecordCodec}), series id ({@link SeriesIds}), the dedup id hash, and additive
 * accumulation (count, sum, sum of squares, min, max, log-bucket histogram) per (series, measure,
 * 10 s bucket). The aggregator's own buffer is package-private and still changing, so its exact
 * code path is measured end to end by aggregator/bench.sh (beside ConsumerPerformance).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx1g"})
public class RollupBenchmark {
    static final int N = 2048;

    static final class Agg {
        long count;
        double sum;
        double sumSq;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        final LogHistogram hist = new LogHistogram();
    }

    record Key(long seriesId, String measure, long bucket) {
    }

    private byte[][] records;
    private Map<Key, Agg> buffer;

    @Setup(Level.Trial)
    public void setup() {
        Random r = new Random(7);
        records = new byte[N][];
        long now = System.currentTimeMillis();
        String[] models = {"ranker", "recommender", "fraud"};
        for (int i = 0; i < N; i++) {
            TreeMap<String, String> dims = new TreeMap<>(Map.of("model", models[i % 3], "version", "v" + (i % 2), "region", "r" + (i % 3)));
            TreeMap<String, Double> ms = new TreeMap<>(Map.of("latency_ms", Math.exp(2.5 + r.nextGaussian() * 0.5), "score", r.nextDouble(), "error", 0.0));
            records[i] = RecordCodec.encode(new Event("bench", now + i, "inference", dims, ms, "user-" + r.nextInt(100000), new TreeMap<>(),
                    "b#" + i, now));
        }
        buffer = new HashMap<>();
    }

    /** Keeps what {@link RecordCodec#scanEvent} reports, as the aggregator's scratch does (offsets and values only). */
    static final class ScanSink implements dev.vigil.common.codec.EventVisitor {
        long sum;

        @Override
        public void begin(byte[] buf, int tenantOff, int tenantLen, long timeMillis, int typeOff, int typeLen) {
            sum += tenantOff + tenantLen + timeMillis + typeOff + typeLen;
        }

        @Override
        public boolean wantsEachDim() {
            return false;
        }

        @Override
        public void dims(byte[] buf, int off, int len, int count) {
            sum += off + len;
        }

        @Override
        public void measure(byte[] buf, int nameOff, int nameLen, double value) {
            sum += nameOff + nameLen + Double.doubleToRawLongBits(value);
        }

        @Override
        public void unit(byte[] buf, int off, int len) {
            sum += off + len;
        }

        @Override
        public void eventId(byte[] buf, int off, int len) {
            sum += off + len;
        }
    }

    private final ScanSink sink = new ScanSink();

    /** Records scanned per second by {@link RecordCodec#scanEvent}: the aggregator consumer threads' decode, without objects. */
    @Benchmark
    @OperationsPerInvocation(N)
    public void scanEvents(Blackhole bh) {
        for (byte[] rec : records) {
            RecordCodec.scanEvent(rec, 0, rec.length, sink);
        }
        bh.consume(sink.sum);
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public void accumulate(Blackhole bh) {
        for (byte[] rec : records) {
            Event e = RecordCodec.decodeEvent(rec);
            long sid = SeriesIds.seriesId(e.type(), e.dims());
            bh.consume(SeriesIds.idHi(e.tenant(), e.eventId()) ^ SeriesIds.idLo(e.tenant(), e.eventId()));
            long bucket = e.timeMillis() / 10_000 * 10;
            Agg c = buffer.computeIfAbsent(new Key(sid, "", bucket), k -> new Agg());
            c.count++;
            for (Map.Entry<String, Double> m : e.measures().entrySet()) {
                Agg a = buffer.computeIfAbsent(new Key(sid, m.getKey(), bucket), k -> new Agg());
                double v = m.getValue();
                a.count++;
                a.sum += v;
                a.sumSq += v * v;
                a.min = Math.min(a.min, v);
                a.max = Math.max(a.max, v);
                a.hist.add(v);
            }
        }
        if (buffer.size() > 100_000) {
            buffer.clear();
        }
    }
}
