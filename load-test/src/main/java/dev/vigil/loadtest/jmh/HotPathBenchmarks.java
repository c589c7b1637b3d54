package dev.vigil.loadtest.jmh;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;
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

import dev.vigil.common.config.Config;
import dev.vigil.common.histogram.LogBuckets;
import dev.vigil.common.histogram.LogHistogram;
import dev.vigil.gateway.EventJsonParser;
import dev.vigil.gateway.GatewayConfig;
import dev.vigil.promql.Labels;
import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.storage.Appender;
import dev.vigil.promql.storage.InMemoryStorage;

/**
 * JMH microbenchmarks of the hot paths (docs/benchmarks.md): the gateway's event decoding and
 * validation, histogram insertion, and PromQL evaluation. Rollup accumulation is in
 * {@code dev.vigil.aggregator.RollupBenchmark} (it needs the aggregator's package-private buffer).
 * Run: {@code ./bench jmh} or {@code java -cp 'load-test/target/classes:load-test/target/lib/*' org.openjdk.jmh.Main}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx1g"})
public class HotPathBenchmarks {
    static final int BATCH = 500;

    private byte[] body;
    private EventJsonParser parser;
    private double[] values;
    private LogHistogram hist;
    private InMemoryStorage storage;
    private Engine engine;
    private long end;

    @Setup(Level.Trial)
    public void setup() {
        long now = System.currentTimeMillis();
        Random r = new Random(1);
        StringBuilder sb = new StringBuilder("{\"batch_id\":\"b1\",\"events\":[");
        String[] models = {"ranker", "recommender", "fraud"};
        for (int i = 0; i < BATCH; i++) {
            sb.append(i == 0 ? "" : ",").append("{\"type\":\"inference\",\"ts\":").append(now)
                    .append(",\"dims\":{\"model\":\"").append(models[i % 3]).append("\",\"version\":\"v").append(i % 2)
                    .append("\",\"region\":\"eu-west\"},\"measures\":{\"latency_ms\":").append(Math.round(Math.exp(2.5 + r.nextGaussian() * 0.5) * 1000) / 1000.0)
                    .append(",\"score\":0.").append(100 + r.nextInt(899)).append(",\"error\":0},\"unit_id\":\"user-").append(r.nextInt(1_000_000)).append("\"}");
        }
        body = sb.append("]}").toString().getBytes(StandardCharsets.UTF_8);
        parser = new EventJsonParser(GatewayConfig.Limits.of(Config.load(GatewayConfig.DEF, Map.of())));
        values = new double[4096];
        for (int i = 0; i < values.length; i++) {
            values[i] = Math.exp(2.5 + r.nextGaussian() * 0.5);
        }
        hist = new LogHistogram();
        storage = new InMemoryStorage();
        Appender a = storage.appender();
        end = 3_600_000L;
        for (int s = 0; s < 1000; s++) {
            Labels l = Labels.of("__name__", "inference_events_total", "model", "m" + (s % 20), "version", "v" + (s % 3), "instance", "i" + s);
            double v = 0;
            for (long t = 0; t <= end; t += 15_000) {
                v += r.nextInt(10);
                a.append(l, t, v);
            }
        }
        a.commit();
        engine = new Engine();
    }

    /** Events decoded and validated per second (gateway /v1/events parser, 500-event batches). */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void decodeEvents(Blackhole bh) {
        bh.consume(parser.parse(new ByteArrayInputStream(body), false, "bench", null, System.currentTimeMillis()));
    }

    /** Values inserted per second into the log-bucket histogram (key computation + count). */
    @Benchmark
    @OperationsPerInvocation(4096)
    public void histogramInsert(Blackhole bh) {
        for (double v : values) {
            hist.add(v);
        }
        bh.consume(hist.count());
    }

    /** LogBuckets.key alone. */
    @Benchmark
    @OperationsPerInvocation(4096)
    public void histogramKey(Blackhole bh) {
        int acc = 0;
        for (double v : values) {
            acc += LogBuckets.key(v);
        }
        bh.consume(acc);
    }

    /** PromQL range query over 1,000 series x 1 h (15 s samples), step 60 s: queries per second. */
    @Benchmark
    public void promqlSumByRate(Blackhole bh) {
        bh.consume(engine.rangeQuery(storage, "sum by (model) (rate(inference_events_total[5m]))", 600_000L, end, 60_000L));
    }

    /** PromQL histogram_quantile-free instant query: topk over 1,000 series. */
    @Benchmark
    public void promqlInstantTopk(Blackhole bh) {
        bh.consume(engine.instantQuery(storage, "topk(5, increase(inference_events_total[10m]))", end));
    }
}
