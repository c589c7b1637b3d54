package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.model.Event;

/**
 * Crash safety: under load the aggregator runs as a child JVM that is SIGKILLed at random
 * moments, Kafka and ClickHouse are restarted once, clients retry already-acknowledged batches
 * (same event ids) throughout; at the end every event is counted exactly once. The test command
 * kills it 4 times; {@code -Dcrash.kills=N} (aggregator/crash-campaign.sh, 24 by default) as often as the issue's campaign asks.
 */
class ITAggregatorCrash {
    private static final Logger log = LoggerFactory.getLogger(ITAggregatorCrash.class);
    static final String PREFIX = "vigil.";

    record Sent(Event e, ProducerRecord<byte[], byte[]> rec) {
    }

    @Test
    void everyEventCountedExactlyOnceAcrossKillsAndRestarts() throws Exception {
        try (TestEnv env = new TestEnv("crash")) {
            env.createTopic(PREFIX + "events", 4);
            Random rnd = new Random(7);
            long now = System.currentTimeMillis();
            Map<String, Event> unique = new HashMap<>();   // event id -> event (ids are unique per event)
            List<Event> noId = new ArrayList<>();
            List<List<Sent>> batches = new ArrayList<>();
            AtomicBoolean producing = new AtomicBoolean(true);
            AtomicBoolean paused = new AtomicBoolean(false);
            AtomicReference<Throwable> producerError = new AtomicReference<>();
            long[] retried = {0};
            Thread producer = Thread.ofPlatform().name("test-producer").start(() -> {
                KafkaProducer<byte[], byte[]> p = env.producer();
                try {
                    int b = 0;
                    while (producing.get()) {
                        if (paused.get()) {
                            Thread.sleep(50);
                            continue;
                        }
                        List<Sent> batch = new ArrayList<>();
                        if (!batches.isEmpty() && rnd.nextInt(5) == 0) {
                            // a client retry of an acknowledged batch, among the last 2,000 (800,000 events): within the
                            // retry window (500,000 records a partition of 4) however long the campaign runs
                            int from = Math.max(0, batches.size() - 2_000);
                            batch = batches.get(from + rnd.nextInt(batches.size() - from));
                            retried[0] += batch.size();
                        } else {
                            for (int i = 0; i < 400; i++) {
                                boolean withId = i % 10 != 0;
                                // ids as the gateway derives them from a batch (kept per batch by the retry store),
                                // and every third batch a client's own ids of no particular form (kept whole)
                                String id = b % 3 == 2 ? "evt-" + b + "-" + i : "b" + b + "#" + i;
                                Event e = event(rnd, now, withId ? id : null);
                                batch.add(new Sent(e, EventGen.record(PREFIX + "events", e)));
                            }
                        }
                        try {
                            EventGen.sendAll(p, batch.stream().map(Sent::rec).toList());
                        } catch (Exception ex) {
                            // not acknowledged: a real client would retry the same batch; we do the same
                            log.info("produce failed, retrying batch: {}", ex.toString());
                            Thread.sleep(500);
                            p.close(Duration.ZERO);
                            p = env.producer();
                            EventGen.sendAll(p, batch.stream().map(Sent::rec).toList());
                        }
                        if (retried[0] == 0 || !batches.contains(batch)) {
                            for (Sent s : batch) {
                                if (s.e().eventId() == null) {
                                    noId.add(s.e());
                                } else {
                                    unique.put(s.e().eventId(), s.e());
                                }
                            }
                            batches.add(batch.stream().filter(s -> s.e().eventId() != null).toList());
                            b++;
                        }
                        Thread.sleep(60);
                    }
                } catch (Throwable t) {
                    producerError.set(t);
                } finally {
                    p.close(Duration.ofSeconds(5));
                }
            });

            Map<String, String> aggEnv = env.aggregatorEnv(PREFIX);
            aggEnv.put("VIGIL_AGGREGATOR_FLUSH_INTERVAL", "150ms");
            aggEnv.put("VIGIL_AGGREGATOR_MAX_RECORDS_PER_FLUSH", "3000");
            aggEnv.put("VIGIL_AGGREGATOR_DEFAULT_JOBS", "events,experiments");
            aggEnv.put("VIGIL_AGGREGATOR_EXPERIMENTS_FLUSH_INTERVAL", "150ms");
            aggEnv.put("VIGIL_KAFKA_CONSUMER_PROPERTIES", "session.timeout.ms=6000,heartbeat.interval.ms=1000");
            // two consumers per job: each restart rebalances the partitions over both members
            aggEnv.put("VIGIL_AGGREGATOR_DEFAULT_CONSUMERS", "2");
            int kills = Integer.getInteger("crash.kills", 4);
            for (int k = 0; k < kills; k++) {
                Process child = startChild(env, aggEnv, k);
                waitForLog(env.dir.resolve("aggregator-" + k + ".log"), "event=partition_recovered", Duration.ofSeconds(60));
                Thread.sleep(500 + rnd.nextInt(4000));
                log.info("SIGKILL aggregator child pid={} (kill {}/{})", child.pid(), k + 1, kills);
                child.destroyForcibly().waitFor();
                if (k == 1) {
                    paused.set(true);
                    Thread.sleep(300);
                    log.info("restarting Kafka and ClickHouse");
                    env.restartKafka();
                    env.restartClickHouse();
                    paused.set(false);
                }
            }
            producing.set(false);
            producer.join();
            assertThat(producerError.get()).isNull();

            long expectedEvents = unique.size() + noId.size();
            double expectedSum = 0;
            for (Event e : unique.values()) {
                expectedSum += e.measures().get("v");
            }
            for (Event e : noId) {
                expectedSum += e.measures().get("v");
            }
            log.info("produced unique={} without_id={} retried_records={}", unique.size(), noId.size(), retried[0]);
            assertThat(retried[0]).isGreaterThan(0);

            Process last = startChild(env, aggEnv, kills);
            try (ClickHouse ch = env.ch()) {
                Map<Integer, Long> ends = endOffsets(env, PREFIX + "events");
                TestEnv.await("all partitions flushed to their end", Duration.ofSeconds(150), () -> {
                    for (String job : List.of("events", "experiments")) {
                        for (Map.Entry<Integer, Long> e : ends.entrySet()) {
                            if (TestEnv.longQuery(ch, "SELECT max(end_offset) FROM vigil_flush_log WHERE job = '" + job + "' AND state = 'done' AND partition = "
                                    + e.getKey()) < e.getValue()) {
                                return false;
                            }
                        }
                    }
                    return true;
                });
                long got = TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''");
                long gotV = TestEnv.longQuery(ch, "SELECT toInt64(sum(sum)) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = 'v'");
                long got1h = TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_rollup_1h WHERE kind = 'event' AND measure = ''");
                long units = TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_experiment_units WHERE measure = ''");
                long expectedUnits = unique.values().stream().filter(e -> e.unitId() != null).count()
                        + noId.stream().filter(e -> e.unitId() != null).count();
                log.info("stored events={} expected={} sum={} expected_sum={} 1h={} units={}", got, expectedEvents, gotV, (long) expectedSum, got1h, units);
                assertThat(got).isEqualTo(expectedEvents);
                assertThat(gotV).isEqualTo((long) expectedSum);
                assertThat(got1h).isEqualTo(expectedEvents);
                assertThat(units).isEqualTo(expectedUnits);
                // the per-unit totals (a materialized view over the per-day rows) survive the replays exactly too
                assertThat(TestEnv.longQuery(ch, "SELECT sum(c) FROM vigil_experiment_unit_totals ARRAY JOIN stats.1 AS k, stats.2 AS c "
                        + "WHERE k IN (SELECT DISTINCT cityHash64(concat(toString(type), '|')) FROM vigil_experiment_units)"))
                        .isEqualTo(expectedUnits);
            } finally {
                last.destroyForcibly().waitFor();
            }
            int replays = 0;
            int recoveriesWithIds = 0; // the retry store rebuilt from the stored marks and the records re-read from Kafka
            java.util.Set<String> membersWithPartitions = new java.util.TreeSet<>();
            for (int k = 0; k <= kills; k++) {
                for (String line : java.nio.file.Files.readAllLines(env.dir.resolve("aggregator-" + k + ".log"))) {
                    if (line.contains("event=partition_recovered") && !line.contains("forced_boundaries=[]")) {
                        replays++;
                    }
                    if (line.contains("event=partition_recovered job=events") && !line.contains(" seen_ids=0 ")) {
                        recoveriesWithIds++;
                    }
                    java.util.regex.Matcher m = java.util.regex.Pattern.compile("event=partitions_assigned job=(\\w+) member=(\\d) partitions=\\[.+]")
                            .matcher(line);
                    if (m.find()) {
                        membersWithPartitions.add(m.group(1) + "/" + m.group(2));
                    }
                }
            }
            log.info("partitions recovered with an unfinished flush to replay: {}; events partitions recovered with client ids: {}",
                    replays, recoveriesWithIds);
            assertThat(recoveriesWithIds).isGreaterThan(0);
            // both consumers of both jobs read partitions at some point: the counts above covered the two-member path
            assertThat(membersWithPartitions).contains("events/0", "events/1", "experiments/0", "experiments/1");
        }
    }

    static Event event(Random rnd, long now, String id) {
        SortedMap<String, String> dims = new TreeMap<>(Map.of("model", "m" + rnd.nextInt(3)));
        SortedMap<String, Double> measures = new TreeMap<>(Map.of("v", (double) rnd.nextInt(100)));
        SortedMap<String, String> exps = new TreeMap<>();
        String unit = null;
        if (rnd.nextInt(4) == 0) {
            unit = "u" + rnd.nextInt(100);
            exps.put("exp-1", rnd.nextBoolean() ? "a" : "b");
        }
        return new Event("t" + rnd.nextInt(2), now - rnd.nextInt(600_000), "inference", dims, measures, unit, exps, id, now);
    }

    static Process startChild(TestEnv env, Map<String, String> aggEnv, int n) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // the child's temporary files in the test's directory: lz4-java extracts its native library to a temporary
        // file that only a JVM's normal exit deletes, and these children are SIGKILLed
        Path tmp = Files.createDirectories(env.dir.resolve("tmp"));
        // the JVM options ./vigil starts the aggregator with (compact object headers included)
        List<String> cmd = List.of(java, "-Xmx512m", "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-XX:+UseCompactObjectHeaders",
                "-Djava.io.tmpdir=" + tmp, "-cp", System.getProperty("java.class.path"), AggregatorMain.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(aggEnv);
        File out = env.dir.resolve("aggregator-" + n + ".log").toFile();
        pb.redirectErrorStream(true).redirectOutput(out);
        Process p = pb.start();
        log.info("started aggregator child pid={} log={}", p.pid(), out);
        return p;
    }

    static void waitForLog(Path file, String text, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (java.nio.file.Files.exists(file) && java.nio.file.Files.readString(file).contains(text)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + text + "' in " + file + " after " + timeout);
    }

    static Map<Integer, Long> endOffsets(TestEnv env, String topic) {
        java.util.Properties props = new java.util.Properties();
        props.put("bootstrap.servers", env.bootstrap());
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            Map<Integer, Long> out = new TreeMap<>();
            c.endOffsets(tps).forEach((tp, off) -> out.put(tp.partition(), off));
            return out;
        }
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
