package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * A partition far behind its end offset is flushed at the catch-up interval instead of its job's: with a
 * 1 ms flush interval a job without catch-up cuts a flush at almost every poll, while with catch-up only the
 * record count cuts them until the partition is close to its end. Real Kafka and ClickHouse; the events are
 * counted exactly once either way.
 */
class ITAggregatorCatchUp {
    private static final String PREFIX = "cu.";
    private static final String TOPIC = PREFIX + "backlog";
    private static final int EVENTS = 300_000;
    private static final int PER_FLUSH = 40_000;
    private static final int CATCH_UP_LAG = 100_000;

    @Test
    void aPartitionThatIsBehindIsFlushedByCountNotByItsInterval() throws Exception {
        try (TestEnv env = new TestEnv("catchup")) {
            produce(env, TOPIC, EVENTS, 7);

            List<long[]> withCatchUp = runJob(env, "behind", CATCH_UP_LAG);
            // while at least CATCH_UP_LAG records were left (and the catch-up interval is 10 minutes), only the count cut
            List<long[]> whileBehind = withCatchUp.stream().filter(f -> f[1] <= EVENTS - CATCH_UP_LAG).toList();
            assertThat(whileBehind).as("flushes while behind").hasSizeGreaterThanOrEqualTo((EVENTS - CATCH_UP_LAG) / PER_FLUSH);
            for (long[] f : whileBehind) {
                assertThat(f[1] - f[0]).as("records of the flush [%d, %d) cut while behind", f[0], f[1]).isEqualTo(PER_FLUSH);
            }

            // the same job without catch-up: its 1 ms interval cuts flushes long before the count (what the test would
            // see if the catch-up did not work)
            List<long[]> without = runJob(env, "control", 0);
            long cutByTime = without.stream().filter(f -> f[1] <= EVENTS - CATCH_UP_LAG && f[1] - f[0] < PER_FLUSH).count();
            assertThat(cutByTime).as("flushes cut by the 1 ms interval without catch-up").isGreaterThan(0);
            assertThat(without.size()).isGreaterThan(withCatchUp.size());

            try (ClickHouse ch = env.ch()) {
                assertThat(TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''"))
                        .as("events stored by the two jobs, each once").isEqualTo(2L * EVENTS);
            }
        }
    }

    /**
     * A partition whose last records are flushed by count while it is catching up has an empty buffer afterwards; it
     * must still be reported caught up once it is at its end (the state is re-checked with the lag, every 2 s), not
     * keep the catch-up state of its last check for as long as nothing new arrives. 20,000 records read 2,000 a poll
     * with a catch-up lag of 1,000: the last check with records in the buffer sees 2,000 left (still catching up), then
     * the last poll's records reach the 10,000-record count and cut the flush.
     */
    @Test
    void aPartitionWhoseLastFlushIsCutByCountIsReportedCaughtUp() throws Exception {
        String topic = PREFIX + "exact";
        int events = 20_000;
        try (TestEnv env = new TestEnv("catchupcount")) {
            produce(env, topic, events, 11);
            Map<String, String> e = env.aggregatorEnv(PREFIX);
            e.put("VIGIL_AGGREGATOR_DEFAULT_JOBS", "");
            e.put("VIGIL_AGGREGATOR_CATCH_UP_LAG", "1000");
            e.put("VIGIL_AGGREGATOR_CATCH_UP_FLUSH_INTERVAL", "10m");
            AggregatorMain.Running agg = env.startAggregator(e);
            try (ClickHouse ch = env.ch()) {
                // the job's own interval (5 min) never elapses either: only the count cuts
                agg.aggregator.putJob(new JobSpec("exact", topic, "events", List.of("series"), 10, "30d", null, "5m", events / 2, null), "test");
                TestEnv.await("both flushes stored", Duration.ofSeconds(120), () -> TestEnv.longQuery(ch,
                        "SELECT max(end_offset) FROM vigil_flush_log WHERE job = 'exact' AND state = 'done'") >= events);
                assertThat(TestEnv.longQuery(ch, "SELECT count(DISTINCT start_offset) FROM vigil_flush_log WHERE job = 'exact' AND state = 'done'"))
                        .as("flushes cut by count").isEqualTo(2L);
                JobWorker w = agg.aggregator.workers().get("exact");
                TestEnv.await("the partition reported caught up, lag 0", Duration.ofSeconds(15),
                        () -> ((java.util.Collection<?>) w.status().get("catching_up_partitions")).isEmpty()
                                && Long.valueOf(0).equals(((Map<?, ?>) w.status().get("lag_by_partition")).get("0")));
            } finally {
                agg.close();
            }
        }
    }

    /** A one-partition topic holding {@code events} events without client ids. */
    private static void produce(TestEnv env, String topic, int events, long seed) throws Exception {
        env.createTopic(topic, 1);
        List<ProducerRecord<byte[], byte[]>> recs = new ArrayList<>(events);
        Random rnd = new Random(seed);
        long now = System.currentTimeMillis();
        for (int i = 0; i < events; i++) {
            recs.add(EventGen.record(topic, EventGen.event(rnd, i, now, false, "")));
        }
        try (KafkaProducer<byte[], byte[]> p = env.producer()) {
            EventGen.sendAll(p, recs);
        }
    }

    /** Runs a job over the whole topic in its own aggregator; returns its done flushes as [start, end) offsets. */
    private static List<long[]> runJob(TestEnv env, String job, long catchUpLag) throws Exception {
        Map<String, String> e = env.aggregatorEnv(PREFIX);
        e.put("VIGIL_AGGREGATOR_DEFAULT_JOBS", "");
        e.put("VIGIL_AGGREGATOR_CATCH_UP_LAG", String.valueOf(catchUpLag));
        e.put("VIGIL_AGGREGATOR_CATCH_UP_FLUSH_INTERVAL", "10m");
        AggregatorMain.Running agg = env.startAggregator(e);
        try (ClickHouse ch = env.ch()) {
            agg.aggregator.putJob(new JobSpec(job, TOPIC, "events", List.of("series"), 10, "30d", null, "1ms", PER_FLUSH, null), "test");
            TestEnv.await(job + " stored to the end", Duration.ofSeconds(120), () -> TestEnv.longQuery(ch,
                    "SELECT max(end_offset) FROM vigil_flush_log WHERE job = '" + job + "' AND state = 'done'") >= EVENTS);
            JobWorker w = agg.aggregator.workers().get(job);
            assertThat((java.util.Collection<?>) w.status().get("catching_up_partitions")).as("caught up at the end").isEmpty();
            List<long[]> flushes = new ArrayList<>();
            for (Map<String, Object> r : ch.query("SELECT DISTINCT start_offset, end_offset FROM vigil_flush_log WHERE job = '" + job
                    + "' AND state = 'done' ORDER BY start_offset")) {
                flushes.add(new long[] {((Number) r.get("start_offset")).longValue(), ((Number) r.get("end_offset")).longValue()});
            }
            agg.aggregator.deleteJob(job, "test");
            return flushes;
        } finally {
            agg.close();
        }
    }
}
