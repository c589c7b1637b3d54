package dev.vigil.aggregator.bench;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import dev.vigil.aggregator.AggregatorMain;
import dev.vigil.aggregator.ClickHouse;
import dev.vigil.aggregator.JobSpec;
import dev.vigil.aggregator.JobWorker;
import dev.vigil.clickhouse.EmbeddedClickHouse;
import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.config.Config;
import dev.vigil.common.model.Event;
import dev.vigil.kafka.KafkaBroker;

/**
 * Benchmark (not a test): events consumed and rolled up per second by one aggregator job, next
 * to Kafka's own ConsumerPerformance on the same topic in the same run, and rows stored per
 * event. Run with aggregator/bench.sh [events] [partitions] [series] [id-fraction] [consumers] [spread-ms].
 * Event times follow the records' order ({@code -Dbench.times=ordered}, the default since 2026-11-28): the topic is
 * the backlog of a stream of {@code -Dbench.stream-rate} events/s (1,000,000, the goal's rate), each event up to
 * {@code spread-ms} (10,000 by default: clients that buffer their events before sending) older than its place in
 * the stream, which is how the gateway's topics look (records in arrival order; docs/aggregator-performance.md, "2026-11-28,
 * later"). With {@code -Dbench.times=shuffled} (the only shape before) times are spread uniformly over the
 * {@code spread-ms} before the start whatever the order (60,000 by default: every record may fall in any of six 10 s
 * buckets of its series, so every flush touches all of them: the rollup's worst case, kept as a figure of its own).
 * ConsumerPerformance reads with one thread; the job reads with {@code consumers} threads (2 by
 * default: one per core of the reference machine), so the consumer CPU per event is printed too.
 * Both are warmed up first on a separate topic of {@code min(events / 2, 15,000,000)} events, which
 * the warm-up job reads as many times as it takes to read 30,000,000 (at least twice), alternating small, frequent
 * flushes with the measured job's settings (the JIT compiles Kafka's and the job's code there, every path the
 * measured run takes included, not in the measured run). With {@code -Dbench.repeats=N}
 * the job runs N times under new names, each followed by ConsumerPerformance, and the median of the N
 * ratios is printed: single runs move by ±20 % here.
 */
public final class AggregatorBenchmark {
    /**
     * The jobs' flush settings ({@code -Dbench.flush-interval}, {@code -Dbench.max-records-per-flush}); unset, a
     * job's defaults (JobSpec: 2 s, 5,000,000 records). The job reads a backlog, so its partitions are catching up
     * ({@code aggregator.catch-up.lag}, default 1,000,000 records behind) and are flushed at the catch-up interval
     * (default 10 s) until they are near their end; {@code VIGIL_AGGREGATOR_CATCH_UP_LAG=0} turns that off. Until
     * 2026-11-27 the bench used 5 s and 1,000,000 records, which at these rates (500,000-800,000 events/s per
     * partition) cut every flush after 1.2-2 s; every flush writes a row with a histogram for each (series, measure,
     * bucket) it touched, so ClickHouse's inserts and merges grew with the rate.
     */
    static final String FLUSH_INTERVAL = System.getProperty("bench.flush-interval");
    /** Events the warm-up job reads in all (-Dbench.warm-events; its topic is read again until it has). */
    static final long WARM_EVENTS = Long.getLong("bench.warm-events", 30_000_000L);
    static final Integer MAX_RECORDS_PER_FLUSH = Integer.getInteger("bench.max-records-per-flush");
    /**
     * The warm-up jobs' flush settings ({@code -Dbench.warm-flush-interval}, {@code -Dbench.warm-max-records-per-flush}):
     * short enough that flushes are cut (by count in {@code process}, by interval in {@code afterPoll}) and committed while
     * records still flow. With the measured job's own settings a warm-up pass (1.25 M records a partition) ended before
     * its first cut, so those paths were first taken in the measured run: C2 code of {@code afterPoll}, Kafka's
     * {@code FetchCollector.collectFetch} and {@code ClassicKafkaConsumer.poll} hit uncommon traps there (commits in flight
     * while polls return records), ran as C1 code until recompiled, and the compiler threads took 0.15-0.22 cores of the
     * measured window (-XX:+PrintCompilation, 2026-11-27). Only the odd passes use them: with small flushes alone, the
     * measured run's large flushes were the first where a histogram counter wrapped (Hist.spill: an uncommon trap there).
     */
    static final String WARM_FLUSH_INTERVAL = System.getProperty("bench.warm-flush-interval", "500ms");
    static final int WARM_MAX_RECORDS_PER_FLUSH = Integer.getInteger("bench.warm-max-records-per-flush", 250_000);
    /**
     * The client ids' shape ({@code -Dbench.ids}): {@code short} (default, as before), {@code id-<n>}; {@code batch}, as the
     * gateway derives them from a client's batch: a UUID batch id, {@code #} and the event's index in a batch of 500
     * (~40 bytes, against ~10: every byte is hashed).
     */
    static final String IDS = System.getProperty("bench.ids", "short");
    /** Event times in the records' order ({@code ordered}) or uniform over the spread whatever the order ({@code shuffled}); see above. */
    static final String TIMES = System.getProperty("bench.times", "ordered");
    /** With ordered times: the rate (events/s) of the stream whose backlog the topic is, so n events span n / rate seconds. */
    static final long STREAM_RATE = Long.getLong("bench.stream-rate", 1_000_000L);
    static final int ID_BATCH = 500;

    public static void main(String[] args) throws Exception {
        long n = args.length > 0 ? Long.parseLong(args[0]) : 2_000_000;
        int partitions = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        int seriesCount = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
        double idFraction = args.length > 3 ? Double.parseDouble(args[3]) : 0.0;
        int consumers = args.length > 4 ? Integer.parseInt(args[4]) : 2;
        if (!TIMES.equals("ordered") && !TIMES.equals("shuffled")) {
            throw new IllegalArgumentException("bench.times must be ordered or shuffled: " + TIMES);
        }
        if (STREAM_RATE <= 0) {
            throw new IllegalArgumentException("bench.stream-rate must be positive: " + STREAM_RATE);
        }
        int spreadMs = args.length > 5 ? Integer.parseInt(args[5]) : TIMES.equals("ordered") ? 10_000 : 60_000;
        EmbeddedClickHouse.deleteStaleTempDirs("vigil-agg-*"); // earlier runs' ClickHouse directories (the engine is up until exit)
        // bench.sh passes the directory and deletes it after this JVM (and the embedded engine in it) exits
        String given = System.getProperty("bench.dir");
        Path dir = given != null ? Path.of(given) : Files.createTempDirectory("vigil-agg-bench-");
        String topic = "bench.events";
        String warmTopic = "bench.warmup";
        long warm = Long.getLong("bench.warm", Math.min(n / 2, 15_000_000));
        // Kafka's own default initial rebalance delay (the test broker's is 0): a job's consumer threads then form
        // their group in one rebalance, as with a production broker, instead of the first taking every partition
        // and giving half of them back (revoked, flushed and reassigned) a heartbeat later. The job's rate counts from
        // its first record and the ratio uses ConsumerPerformance's fetch.nMsg.sec, so neither counts its group join.
        try (KafkaBroker kafka = KafkaBroker.start(dir.resolve("kafka"), 0, 0, Map.of("group.initial.rebalance.delay.ms", "3000"))) {
            String chUrl = System.getenv("CLICKHOUSE_URL");
            EmbeddedClickHouse embedded = null;
            if (chUrl == null || chUrl.isBlank()) {
                embedded = EmbeddedClickHouse.start(dir.resolve("clickhouse"));
                chUrl = "jdbc:clickhouse:http://127.0.0.1:" + embedded.port() + "/default";
            }
            try (Admin a = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                a.createTopics(List.of(new NewTopic(topic, partitions, (short) 1), new NewTopic(warmTopic, partitions, (short) 1))).all().get();
            }
            long t0 = System.nanoTime();
            long bytes = produce(kafka.bootstrapServers(), topic, n, seriesCount, idFraction, spreadMs, "inference");
            double produceSecs = (System.nanoTime() - t0) / 1e9;
            String times = TIMES.equals("ordered")
                    ? String.format("event times ordered: a backlog of a %,d events/s stream (%,d ms), each up to %,d ms older than its place", STREAM_RATE,
                            n * 1000 / STREAM_RATE, spreadMs)
                    : String.format("event times shuffled: uniform over the %,d ms before the start, whatever the order", spreadMs);
            System.out.printf("produced events=%d bytes=%d (%.1f B/event) in %.1f s, %s%s%n", n, bytes,
                    (double) bytes / n, produceSecs, times, idFraction > 0 ? ", client ids like " + clientId(n - 1) : "");
            produce(kafka.bootstrapServers(), warmTopic, warm, seriesCount, idFraction, spreadMs, "warmup");
            consumerPerformance(kafka.bootstrapServers(), warmTopic, warm, "bench-warmup-consumer");

            var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            long cpu0 = mx.getCurrentThreadCpuTime();
            String perf = consumerPerformance(kafka.bootstrapServers(), topic, n, "bench-raw-consumer");
            long perfCpu = mx.getCurrentThreadCpuTime() - cpu0;
            System.out.println("ConsumerPerformance: " + perf);
            System.out.printf("ConsumerPerformance consumer thread CPU: %.0f ns/event%n", (double) perfCpu / n);

            Map<String, String> env = new HashMap<>();
            env.put("VIGIL_KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrapServers());
            env.put("VIGIL_CLICKHOUSE_URL", chUrl);
            env.put("VIGIL_AGGREGATOR_PORT", "0");
            env.put("VIGIL_AGGREGATOR_DEFAULT_JOBS", "");
            env.put("VIGIL_AGGREGATOR_MAX_KEYS_PER_FLUSH", "1000000");
            // any other aggregator key from this process' environment (e.g. VIGIL_KAFKA_CONSUMER_PROPERTIES)
            System.getenv().forEach((k, v) -> {
                if (k.startsWith("VIGIL_") && !k.equals("VIGIL_CHDB_LIB")) {
                    env.putIfAbsent(k, v);
                }
            });
            Config config = Config.load(AggregatorMain.DEF, env);
            JobSpec shown = spec("bench", topic, consumers);
            System.out.printf("job: %d consumer threads, flush_interval %s, max_records_per_flush %d; a partition at least %d records behind "
                    + "is flushed every %s%n", consumers, shown.flushInterval(), shown.maxRecordsPerFlush(), config.get(AggregatorMain.CATCH_UP_LAG),
                    dev.vigil.common.config.Sizes.formatDuration(config.get(AggregatorMain.CATCH_UP_FLUSH_INTERVAL)));
            AggregatorMain.Running agg = AggregatorMain.start(config);
            try (ClickHouse ch = new ClickHouse(chUrl, "default", "")) {
                // The warm-up job reads its topic several times (a new job each pass, so a new group that reads it all
                // again) until it has read WARM_EVENTS: at 2,000 records a poll, the methods called once a poll
                // (pollOnce, afterPoll, Kafka's fetchRecords) need ~5,000 polls before C2 compiles them; with one pass
                // of 5 M events (2,500 polls) they were still profiled C1 code for the first 2.5 s of a measured 10 M run
                // (-XX:+PrintCompilation), whose C2 compiler threads took 0.2-0.3 cores.
                int passes = Integer.getInteger("bench.warm-passes", (int) Math.max(2, (WARM_EVENTS + warm - 1) / warm)); // both kinds of pass
                System.out.printf("warm-up: %d pass(es) over %d events, the odd ones with flush_interval %s, max_records_per_flush %d%n", passes, warm, WARM_FLUSH_INTERVAL,
                        WARM_MAX_RECORDS_PER_FLUSH);
                for (int pass = 1; pass <= passes; pass++) {
                    String wjob = pass == 1 ? "warmup" : "warmup" + pass;
                    // odd passes flush small and often, even ones as the measured job does (whose large flushes are the
                    // only ones where an 8-bit histogram counter wraps and spills: a path the small ones never take)
                    agg.aggregator.putJob(pass % 2 == 1 ? warmSpec(wjob, warmTopic, consumers) : spec(wjob, warmTopic, consumers), "bench");
                    JobWorker wu = agg.aggregator.workers().get(wjob);
                    while (wu.offsetsCommitted() < warm) {
                        if (wu.recordsConsumed() >= warm) {
                            wu.requestFlush();
                        }
                        Thread.sleep(20);
                    }
                    agg.aggregator.deleteJob(wjob, "bench");
                }
                // the warm-up's parts are still being merged in the background: let that finish first, or
                // the measured job shares the cores with merges of data it did not write
                awaitMerges(ch, "warm-up's");
                if ("1".equals(System.getenv("BENCH_NO_VIEWS"))) {
                    // diagnostic only: what the 1 m and 1 h materialized views cost the inserts (their tables stay empty)
                    ch.execute("DROP VIEW IF EXISTS vigil_rollup_1m_mv");
                    ch.execute("DROP VIEW IF EXISTS vigil_rollup_1h_mv");
                }
                // diagnostic: statements run before the measured job, e.g. a table setting to try
                // (BENCH_SQL="ALTER TABLE vigil_rollup_10s MODIFY SETTING merge_selector_base = 20; ...")
                for (String stmt : java.util.Objects.requireNonNullElse(System.getenv("BENCH_SQL"), "").split(";")) {
                    if (!stmt.isBlank()) {
                        System.out.println("bench.sql: " + stmt.strip());
                        ch.execute(stmt.strip());
                    }
                }
                // bench.repeats > 1: the job again under new names (new consumer group and tokens, so it reads and stores
                // everything again), each followed by ConsumerPerformance: a ratio per pair of neighbouring runs, and their median
                int repeats = Integer.getInteger("bench.repeats", 1);
                double cpBefore = fetchRate(perf);
                List<Double> ratios = new java.util.ArrayList<>();
                List<Double> sustainedRatios = new java.util.ArrayList<>();
                for (int rep = 1; rep <= repeats; rep++) {
                    String job = rep == 1 ? "bench" : "bench" + rep;
                    if (rep > 1) {
                        System.out.printf("--- run %d of %d (job %s)%n", rep, repeats, job);
                    }
                    agg.aggregator.putJob(spec(job, topic, consumers), "bench");
                    JobWorker w = agg.aggregator.workers().get(job);
                    // JVM uptime, to line the measured job up with -XX:+PrintCompilation or -Xlog output
                    System.out.printf("job %s started at uptime %d ms%n", job, java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime());
                    long start = 0;
                    long consumedAt = 0;
                    long consumerCpu = 0;
                    var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
                    long processCpu0 = os.getProcessCpuTime();
                    Map<String, Long> threads0 = cpuByThreadGroup(mx);
                    Map<String, Long> tasks0 = ticksByTaskName();
                    Map<String, Long> tasks1 = Map.of();
                    if (rep == 1) {
                        profiler("start,event=" + System.getProperty("bench.asprof.event", "cpu") + ",interval=1ms,threads");
                    }
                    long processCpu1 = 0;
                    Map<String, Long> threads1 = Map.of();
                    while (true) {
                        long c = w.recordsConsumed();
                        if (start == 0 && c > 0) {
                            start = w.firstRecordNanos();
                        }
                        if (consumedAt == 0 && c >= n) {
                            consumedAt = System.nanoTime();
                            System.out.printf("job %s consumed everything at uptime %d ms%n", job, java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime());
                            processCpu1 = os.getProcessCpuTime();
                            threads1 = cpuByThreadGroup(mx);
                            tasks1 = ticksByTaskName();
                            if (rep == 1) {
                                profiler("stop,collapsed,file=aggregator/target/bench-consuming.collapsed");
                            }
                            // the job's consumer threads, summed (digits dropped: bench2 too). Their whole CPU
                            // time: right because only live threads are counted and the previous repeat's job,
                            // whose threads have the same name, was removed (and its threads ended) before this one
                            consumerCpu = threads1.getOrDefault("job-bench-consumer", 0L);
                            // cut the last partial flushes now instead of waiting for the idle flush interval
                            w.requestFlush();
                        }
                        if (consumedAt != 0 && w.offsetsCommitted() >= n) {
                            break;
                        }
                        Thread.sleep(5);
                    }
                    long end = System.nanoTime();
                    Long done = ch.queryLong("SELECT sum(e) FROM (SELECT partition, max(end_offset) e FROM vigil_flush_log WHERE job = '" + job + "' "
                            + "AND state = 'done' GROUP BY partition)");
                    if (done == null || done < n) {
                        throw new IllegalStateException("flush log says " + done + " records stored, expected " + n);
                    }
                    double consumeSecs = (consumedAt - start) / 1e9;
                    double totalSecs = (end - start) / 1e9;
                    Map<String, Object> st = w.status();
                    long rows = ((Number) st.get("rows_written")).longValue();
                    Long stored = ch.queryLong("SELECT sum(count) FROM vigil_rollup_10s WHERE name = 'inference' AND measure = ''");
                    System.out.printf("aggregator: consumed+aggregated %d events in %.2f s = %.0f events/s; consumed, rolled up, stored in ClickHouse and committed in %.2f s = %.0f events/s%n",
                            n, consumeSecs, n / consumeSecs, totalSecs, n / totalSecs);
                    System.out.printf("flushes written: %d, cut to done row: %s%n", w.flushesWritten(), w.flushLatencySummary());
                    for (io.micrometer.core.instrument.Timer t : agg.registry.find("vigil_aggregator_insert_duration").tag("job", job).timers()) {
                        System.out.printf("  insert into %s: %d blocks, mean %.0f ms, max %.0f ms%n", t.getId().getTag("table"), t.count(),
                                t.mean(java.util.concurrent.TimeUnit.MILLISECONDS), t.max(java.util.concurrent.TimeUnit.MILLISECONDS));
                    }
                    System.out.printf("aggregator consumer threads (%d) CPU: %.0f ns/event (read, decode, validate, pre-aggregate; summed over the threads)%n",
                            consumers, (double) consumerCpu / n);
                    // where the two cores went while the job consumed (from just before the job started to its last record)
                    double phaseSecs = (consumedAt - start) / 1e9;
                    StringBuilder where = new StringBuilder();
                    long javaThreads = 0;
                    for (Map.Entry<String, Long> e : threads1.entrySet()) {
                        long d = e.getValue() - threads0.getOrDefault(e.getKey(), 0L);
                        javaThreads += d;
                        if (d / 1e9 / phaseSecs >= 0.01) {
                            where.append(String.format(java.util.Locale.ROOT, " %s=%.2f", e.getKey(), d / 1e9 / phaseSecs));
                        }
                    }
                    long processDelta = processCpu1 - processCpu0;
                    System.out.printf("process CPU while consuming: %.2f cores (java threads:%s; GC, JIT and native threads=%.2f)%n",
                            processDelta / 1e9 / phaseSecs, where, (processDelta - javaThreads) / 1e9 / phaseSecs);
                    if (!tasks1.isEmpty()) {
                        // every OS thread of the process (the JVM's compiler and GC threads, the embedded ClickHouse's pools), by name
                        long all = 0;
                        Map<String, Long> d = new java.util.TreeMap<>();
                        for (Map.Entry<String, Long> e : tasks1.entrySet()) {
                            long x = e.getValue() - tasks0.getOrDefault(e.getKey(), 0L);
                            all += x;
                            d.put(e.getKey(), x);
                        }
                        StringBuilder byTask = new StringBuilder();
                        final long total = Math.max(1, all);
                        d.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                                .filter(e -> (double) e.getValue() / total >= 0.005)
                                .forEach(e -> byTask.append(String.format(java.util.Locale.ROOT, " %s=%.2f", e.getKey(),
                                        (double) e.getValue() / total * processDelta / 1e9 / phaseSecs)));
                        System.out.printf("process CPU while consuming, by OS thread name (cores):%s%n", byTask);
                    }
                    System.out.printf("load average (1 min) at the end: %.2f on %d cores%n",
                            java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
                            Runtime.getRuntime().availableProcessors());
                    System.out.printf("rows stored=%d (%.5f rows/event), events in rollup=%d (all runs)%n", rows, (double) rows / n, stored);
                    // ConsumerPerformance again, after the job, under the same conditions (ClickHouse's merges
                    // settled): its rate moves ±20 % between runs here, so the ratio is reported against both
                    // and against the faster of the two
                    awaitMerges(ch, "the job's");
                    // a short run ends before ClickHouse has merged what it wrote, so the end-to-end rate does not pay
                    // for those merges; a job that runs for hours does. All of this process' CPU from the job's start to
                    // its merges settled (the broker's too, which ConsumerPerformance is not charged for), packed onto
                    // the machine's cores, bounds the rate the job could sustain. Only with the embedded ClickHouse,
                    // whose threads are this process' (with CLICKHOUSE_URL its merges are elsewhere and not counted)
                    long jobCpu = os.getProcessCpuTime() - processCpu0;
                    int cores = Runtime.getRuntime().availableProcessors();
                    double sustainable = n / (jobCpu / 1e9 / cores);
                    System.out.printf("all process CPU from the job's start to its merges settled: %.0f ns/event; on %d cores at most %.0f events/s%n",
                            (double) jobCpu / n, cores, sustainable);
                    long cpuAfter0 = mx.getCurrentThreadCpuTime();
                    String perfAfter = consumerPerformance(kafka.bootstrapServers(), topic, n, "bench-raw-consumer-after" + (rep == 1 ? "" : rep));
                    long perfAfterCpu = mx.getCurrentThreadCpuTime() - cpuAfter0;
                    System.out.println("ConsumerPerformance after the job: " + perfAfter);
                    System.out.printf("ConsumerPerformance after the job, consumer thread CPU: %.0f ns/event%n", (double) perfAfterCpu / n);
                    double cpAfter = fetchRate(perfAfter);
                    ratios.add(n / totalSecs / Math.max(cpBefore, cpAfter));
                    sustainedRatios.add(Math.min(n / totalSecs, sustainable) / Math.max(cpBefore, cpAfter));
                    cpBefore = cpAfter;
                    agg.aggregator.deleteJob(job, "bench");
                    if (rep == repeats && Boolean.getBoolean("bench.recovery")) {
                        measureRecovery(agg, job, topic, consumers, ch);
                    }
                }
                if (repeats > 1) {
                    System.out.printf("repeats: %d; end to end / the faster neighbouring ConsumerPerformance fetch.nMsg.sec: %s; median %.3f%n", repeats,
                            format(ratios), median(ratios));
                }
                // the same, each rate capped at what its CPU (merges included) allows on this machine's cores
                System.out.printf("sustainable: min(end to end, CPU bound) / the faster neighbouring ConsumerPerformance fetch.nMsg.sec: %s; median %.3f%n",
                        format(sustainedRatios), median(sustainedRatios));
            } finally {
                agg.close();
                if (embedded != null) {
                    embedded.close();
                }
            }
        } finally {
            // the broker (stopped by now) leaves ~1.4 GB of topics a run; BENCH_KEEP=1 keeps them. The
            // ClickHouse directory (1-2 GB with client ids) stays until this process exits, when bench.sh deletes it.
            if (!"1".equals(System.getenv("BENCH_KEEP"))) {
                org.apache.kafka.common.utils.Utils.delete(dir.resolve("kafka").toFile());
            }
        }
        System.exit(0);
    }

    /**
     * The job again under the same name (its consumer group, committed offsets and flush log): every
     * partition recovers at its end, rebuilding its retry store from the stored marks and the marked
     * records re-read from Kafka (the last dedup window of each partition). Prints how long that took.
     * Counts recoveries, so a group formed twice (a partition recovered by two members in turn) would
     * end the wait early; the printed ids show it (fewer than partitions x the window).
     */
    static void measureRecovery(AggregatorMain.Running agg, String job, String topic, int consumers, ClickHouse ch) throws Exception {
        int partitions = ch.queryLong("SELECT uniqExact(partition) FROM vigil_flush_log WHERE job = '" + job + "'").intValue();
        long t0 = System.nanoTime();
        agg.aggregator.putJob(spec(job, topic, consumers), "bench");
        // the job's earlier version was deleted: the new one starts once that one has stopped (Aggregator.stopAsync)
        JobWorker w;
        while ((w = agg.aggregator.workers().get(job)) == null || w.partitionsRecovered() < partitions) {
            if (System.nanoTime() - t0 > TimeUnit.MINUTES.toNanos(5)) {
                throw new IllegalStateException("recovery of " + job + " not done after 5 minutes: " + (w == null ? "not started" : w.status()));
            }
            Thread.sleep(5);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("recovery: job %s again, %d partitions recovered with %d client ids re-read from Kafka in %.2f s (from the job's start, "
                + "group join included)%n", job, w.partitionsRecovered(), w.idsRecovered(), secs);
        agg.aggregator.deleteJob(job, "bench");
    }

    /** The bench's events job (normalized: the defaults filled in). */
    static JobSpec spec(String name, String topic, int consumers) {
        return new JobSpec(name, topic, "events", null, 10, "30d", null, FLUSH_INTERVAL, MAX_RECORDS_PER_FLUSH, consumers).normalized();
    }

    /** A warm-up job: the measured job's rollups with the warm-up's flush settings (see {@link #WARM_FLUSH_INTERVAL}). */
    static JobSpec warmSpec(String name, String topic, int consumers) {
        return new JobSpec(name, topic, "events", null, 10, "30d", null, WARM_FLUSH_INTERVAL, WARM_MAX_RECORDS_PER_FLUSH, consumers).normalized();
    }

    static double median(List<Double> xs) {
        List<Double> sorted = xs.stream().sorted().toList();
        return sorted.size() % 2 == 1 ? sorted.get(sorted.size() / 2) : (sorted.get(sorted.size() / 2 - 1) + sorted.get(sorted.size() / 2)) / 2;
    }

    static List<String> format(List<Double> xs) {
        return xs.stream().map(r -> String.format(java.util.Locale.ROOT, "%.3f", r)).toList();
    }

    /**
     * CPU clock ticks (user + system) of every thread of this process, summed by its OS name (/proc/self/task/N/stat)
     * with digits removed; empty where /proc is missing. Only the shares are used, so the tick rate does not matter.
     */
    static Map<String, Long> ticksByTaskName() {
        Map<String, Long> out = new java.util.TreeMap<>();
        java.io.File[] tasks = new java.io.File("/proc/self/task").listFiles();
        if (tasks == null) {
            return out;
        }
        for (java.io.File t : tasks) {
            try {
                String stat = java.nio.file.Files.readString(t.toPath().resolve("stat"));
                int close = stat.lastIndexOf(')');
                String name = stat.substring(stat.indexOf('(') + 1, close).replaceAll("[-#_]?\\d+", "").trim();
                String[] f = stat.substring(close + 2).split(" ");
                out.merge(name, Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum); // utime, stime
            } catch (java.io.IOException | RuntimeException gone) {
                // the thread ended between the listing and the read
            }
        }
        return out;
    }

    /** Waits (at most 60 s) until the embedded ClickHouse runs no background merge. */
    static void awaitMerges(ClickHouse ch, String whose) throws Exception {
        long t0 = System.nanoTime();
        Long merging;
        while ((merging = ch.queryLong("SELECT count() FROM system.merges")) != null && merging > 0
                && System.nanoTime() - t0 < 60_000_000_000L) {
            Thread.sleep(100);
        }
        System.out.printf("%s background merges settled in %.1f s (merges running: %d)%n", whose, (System.nanoTime() - t0) / 1e9, merging);
        // no merge running is not all merged: how many parts the merge selector left for later
        StringBuilder parts = new StringBuilder();
        for (String t : List.of("vigil_rollup_10s", "vigil_rollup_1m", "vigil_rollup_1h")) {
            parts.append(' ').append(t).append('=').append(ch.queryLong("SELECT count() FROM system.parts WHERE active AND table = '" + t + "'"));
        }
        System.out.println("active parts after them:" + parts);
        // what ClickHouse wrote in the last two minutes, by table: parts of inserts (level 0) against parts of merges
        // (each merge rewrites its inputs' rows; outdated parts stay listed for old_parts_lifetime, 8 min)
        for (Map<String, Object> r : ch.query("SELECT table, level = 0 AS inserted, count() AS parts, sum(rows) AS rows, "
                + "sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = currentDatabase() "
                + "AND modification_time >= now() - 120 GROUP BY table, inserted ORDER BY table, inserted DESC")) {
            System.out.printf("  written in the last 2 min: %s %s: %s parts, %s rows, %.1f MB%n", r.get("table"),
                    ((Number) r.get("inserted")).intValue() == 1 ? "by inserts" : "by merges", r.get("parts"), r.get("rows"),
                    ((Number) r.get("bytes")).doubleValue() / 1e6);
        }
    }

    /** Runs an async-profiler command when the bench was started with ASPROF=1 (its jar on the class path), else nothing. */
    static void profiler(String command) {
        String lib = System.getProperty("bench.asprof.lib");
        if (lib == null) {
            return;
        }
        try {
            Class<?> c = Class.forName("one.profiler.AsyncProfiler");
            Object p = c.getMethod("getInstance", String.class).invoke(null, lib);
            c.getMethod("execute", String.class).invoke(p, command);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("async-profiler: " + command, e);
        }
    }

    /** CPU time of the live Java threads, summed by name with digits and a trailing member/lane index removed. */
    static Map<String, Long> cpuByThreadGroup(java.lang.management.ThreadMXBean mx) {
        Map<String, Long> out = new java.util.TreeMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            long c = mx.getThreadCpuTime(t.threadId());
            if (c > 0) {
                out.merge(t.getName().replaceAll("[-#]?\\d+", "").replaceAll("\\s+\\|.*", ""), c, Long::sum);
            }
        }
        return out;
    }

    /** The client id of the {@code i}-th event, in the shape {@link #IDS} names. */
    static String clientId(long i) {
        return switch (IDS) {
            case "short" -> "id-" + i;
            case "batch" -> {
                Random r = new Random(i / ID_BATCH); // one batch id per ID_BATCH events
                yield new java.util.UUID(r.nextLong(), r.nextLong()) + "#" + (i % ID_BATCH);
            }
            default -> throw new IllegalArgumentException("bench.ids must be short or batch: " + IDS);
        };
    }

    static long produce(String bootstrap, String topic, long n, int seriesCount, double idFraction, int spreadMs, String type) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "1");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(512 * 1024));
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(128L * 1024 * 1024));
        Random rnd = new Random(1);
        long now = System.currentTimeMillis();
        boolean ordered = TIMES.equals("ordered");
        boolean batchTenants = IDS.equals("batch") && idFraction > 0 && seriesCount >= 3;
        long span = n * 1000 / STREAM_RATE;
        byte[][] keys = new byte[seriesCount][];
        Event[] templates = new Event[seriesCount];
        for (int s = 0; s < seriesCount; s++) {
            SortedMap<String, String> dims = new TreeMap<>(Map.of("model", "m" + s % 50, "region", "r" + (s / 50) % 20));
            templates[s] = new Event("t" + s % 3, now, type, dims, new TreeMap<>(), null, new TreeMap<>(), null, now);
            keys[s] = templates[s].seriesKey().getBytes(StandardCharsets.UTF_8);
        }
        long bytes = 0;
        try (KafkaProducer<byte[], byte[]> prod = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (long i = 0; i < n; i++) {
                int s = rnd.nextInt(seriesCount);
                if (batchTenants) {
                    // a client's batch comes with one API key, so all its events have one tenant (series s has tenant
                    // s % 3): before 2026-11-28 a batch's events had all three, which a gateway never writes
                    int tenant = (int) (i / ID_BATCH % 3);
                    s = 3 * rnd.nextInt((seriesCount - tenant + 2) / 3) + tenant;
                }
                Event t = templates[s];
                SortedMap<String, Double> m = new TreeMap<>();
                m.put("latency_ms", Math.exp(3 + rnd.nextGaussian()));
                m.put("error", rnd.nextInt(50) == 0 ? 1.0 : 0.0);
                // ordered: the i-th event's place in the stream, from n / rate seconds ago to now; shuffled: now for all
                long place = ordered ? now - span + i * 1000 / STREAM_RATE : now;
                Event e = new Event(t.tenant(), place - rnd.nextInt(spreadMs), t.type(), t.dims(), m, null, t.experiments(),
                        rnd.nextDouble() < idFraction ? clientId(i) : null, now);
                byte[] v = RecordCodec.encode(e);
                bytes += v.length;
                prod.send(new ProducerRecord<>(topic, keys[s], v));
            }
            prod.flush();
        }
        return bytes;
    }

    /**
     * ConsumerPerformance's fetch.nMsg.sec from its output (a header row, then the values; each time holds a space):
     * records per second from after it joined its group, like the job's rate, which counts from its first record.
     */
    static double fetchRate(String perf) {
        String[] values = perf.substring(perf.indexOf("fetch.nMsg.sec ") + "fetch.nMsg.sec ".length()).split(",\\s*");
        return Double.parseDouble(values[9].trim());
    }

    static String consumerPerformance(String bootstrap, String topic, long n, String group) throws Exception {
        PrintStream orig = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            org.apache.kafka.tools.ConsumerPerformance.main(new String[] {"--bootstrap-server", bootstrap, "--topic", topic,
                    "--num-records", String.valueOf(n), "--group", group, "--timeout", "60000"});
        } finally {
            System.setOut(orig);
        }
        return buf.toString(StandardCharsets.UTF_8).trim().replace('\n', ' ');
    }
}
