package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * Migration 9 moved the 1 m and 1 h rollups from ClickHouse's views into the aggregator. A flush that an
 * aggregator older than that logged (its intent row has {@code rolled_up = 0}) and left pending must be replayed
 * the way it wrote it: its 10 s rows with {@code rolled_up = 0} and no 1 m or 1 h blocks of its own. Otherwise,
 * when the old instance had stored its 10 s block before it stopped, the replay's 10 s block is dropped by its
 * token (so the views do not run again) while its own 1 m and 1 h blocks, unknown to the old instance, are
 * stored: those rows counted twice. Real Kafka and ClickHouse.
 */
class ITAggregatorUpgrade {
    private static final String PREFIX = "up.";
    private static final String TOPIC = PREFIX + "events";
    private static final String JOB = "upgraded";
    private static final int OLD = 20_000;
    private static final int NEW = 30_000;

    @Test
    void aFlushLeftPendingByAnOlderAggregatorIsReplayedItsWayAndCountedOnce() throws Exception {
        try (TestEnv env = new TestEnv("upgrade")) {
            env.createTopic(TOPIC, 1);
            produce(env, 0, OLD);
            Map<String, String> e = env.aggregatorEnv(PREFIX);
            e.put("VIGIL_AGGREGATOR_DEFAULT_JOBS", "");
            JobSpec spec = new JobSpec(JOB, TOPIC, "events", List.of("series"), 10, "30d", null, "300ms", 1_000_000, null);

            // 1. what an aggregator before migration 9 logs ahead of a flush's blocks: its intent, without rolled_up.
            // The job here replays that flush as the old one would have written it: 10 s rows for the views.
            AggregatorMain.Running agg = env.startAggregator(e); // applies the migrations
            try (ClickHouse ch = env.ch()) {
                ch.execute("INSERT INTO vigil_flush_log (job, topic, partition, start_offset, end_offset, state, watermark, records, "
                        + "max_event_ms, instance, created_at) VALUES ('" + JOB + "', '" + TOPIC + "', 0, 0, " + OLD + ", 'intent', 0, "
                        + OLD + ", 0, 'pre-migration-9', now64(3))");
                agg.aggregator.putJob(spec, "test");
                awaitDone(ch, OLD);
                assertThat(eventsIn(ch, "vigil_rollup_10s", "rolled_up = 0")).as("10 s events written the old way").isEqualTo(OLD);
                assertThat(eventsIn(ch, "vigil_rollup_1m", "1")).as("1 m events, from the views").isEqualTo(OLD);
                agg.aggregator.deleteJob(JOB, "test");
            } finally {
                agg.close();
            }

            // 2. as if the old instance had stopped after storing those blocks, before its done row and its commit
            try (ClickHouse ch = env.ch()) {
                ch.execute("ALTER TABLE vigil_flush_log DELETE WHERE job = '" + JOB + "' AND state = 'done' SETTINGS mutations_sync = 2");
                assertThat(TestEnv.longQuery(ch, "SELECT count() FROM vigil_flush_log WHERE job = '" + JOB + "' AND state = 'done'")).isZero();
            }
            try (Admin a = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, env.bootstrap()))) {
                a.deleteConsumerGroupOffsets("vigil-aggregator-" + JOB, Set.of(new TopicPartition(TOPIC, 0))).all().get();
            }

            // 3. the upgraded job recovers the pending flush, replays it (its 10 s block is a duplicate, so the views
            // do not run) and rolls up what follows itself
            produce(env, OLD, NEW);
            agg = env.startAggregator(e);
            try (ClickHouse ch = env.ch()) {
                agg.aggregator.putJob(spec, "test");
                awaitDone(ch, OLD + NEW);
                assertThat(eventsIn(ch, "vigil_rollup_10s", "1")).as("10 s events").isEqualTo(OLD + NEW);
                assertThat(eventsIn(ch, "vigil_rollup_10s", "rolled_up = 0")).as("10 s events written the old way").isEqualTo(OLD);
                assertThat(eventsIn(ch, "vigil_rollup_10s", "rolled_up = 1")).as("10 s events rolled up by the aggregator").isEqualTo(NEW);
                for (String t : List.of("vigil_rollup_1m", "vigil_rollup_1h")) {
                    assertThat(eventsIn(ch, t, "1")).as("%s events, each once", t).isEqualTo(OLD + NEW);
                }
                assertThat(ITAggregatorExactness.coarseRowsThatDiffer(ch, "vigil_rollup_1m", "toStartOfMinute(bucket)")).isZero();
                assertThat(ITAggregatorExactness.coarseRowsThatDiffer(ch, "vigil_rollup_1h", "toStartOfHour(bucket)")).isZero();
            } finally {
                agg.close();
            }
        }
    }

    /**
     * Client ids that an aggregator before migration 8 accepted are known to recovery only from the two older tables,
     * which kept each accepted id's offset, time and hash. The id hash has changed since (SeriesIds.idHash), so recovery
     * re-reads those records from Kafka by their offsets, as it does for the marked ones. The stored hashes are zeros
     * here: a recovery that used them would let every client retry below count again.
     */
    @Test
    void idsAcceptedBeforeTheMarksAreRecoveredFromTheirRecords() throws Exception {
        String topic = PREFIX + "ids";
        String job = "oldids";
        int old = 2_000;
        try (TestEnv env = new TestEnv("upgradeids")) {
            env.createTopic(topic, 1);
            Random rnd = new Random(3);
            long now = System.currentTimeMillis();
            List<ProducerRecord<byte[], byte[]>> accepted = new ArrayList<>(old);
            List<ProducerRecord<byte[], byte[]>> later = new ArrayList<>(2 * old);
            for (int i = 0; i < old; i++) {
                accepted.add(EventGen.record(topic, EventGen.event(rnd, i, now, true, "b-1#")));
            }
            later.addAll(accepted); // client retries of every accepted event
            for (int i = 0; i < old; i++) {
                later.add(EventGen.record(topic, EventGen.event(rnd, i, now, true, "b-2#")));
            }
            try (KafkaProducer<byte[], byte[]> p = env.producer()) {
                EventGen.sendAll(p, accepted);
            }
            Map<String, String> e = env.aggregatorEnv(PREFIX);
            e.put("VIGIL_AGGREGATOR_DEFAULT_JOBS", "");
            AggregatorMain.Running agg = env.startAggregator(e); // applies the migrations
            try (ClickHouse ch = env.ch()) {
                // what an aggregator before migration 8 stored for its flush [0, old): the flush log's rows, and each accepted
                // id's offset and time (with a hash) in the table of migration 7 (first half) and of migration 4 (second half)
                for (String state : List.of("intent", "done")) {
                    ch.execute("INSERT INTO vigil_flush_log (job, topic, partition, start_offset, end_offset, state, watermark, records, max_event_ms, "
                            + "instance, created_at) VALUES ('" + job + "', '" + topic + "', 0, 0, " + old + ", '" + state + "', " + now + ", " + old
                            + ", " + now + ", 'pre-migration-8', now64(3))");
                }
                ch.execute("INSERT INTO vigil_seen_id_blocks (job, topic, partition, start_offset, end_offset, max_ts, offsets, ts, id_hi, id_lo) "
                        + "SELECT '" + job + "', '" + topic + "', 0, 0, " + old / 2 + ", fromUnixTimestamp64Milli(toInt64(" + now + ")), "
                        + "groupArray(toInt64(number)), groupArray(toInt64(" + now + ")), groupArray(toUInt64(0)), groupArray(toUInt64(0)) "
                        + "FROM numbers(" + old / 2 + ")");
                ch.execute("INSERT INTO vigil_seen_ids (job, topic, partition, offset, ts, id_hi, id_lo) SELECT '" + job + "', '" + topic
                        + "', 0, toInt64(number), fromUnixTimestamp64Milli(toInt64(" + now + ")), 0, 0 FROM numbers(" + old / 2 + ", " + old / 2 + ")");
                try (KafkaProducer<byte[], byte[]> p = env.producer()) {
                    EventGen.sendAll(p, later);
                }
                agg.aggregator.putJob(new JobSpec(job, topic, "events", List.of("series"), 10, "30d", null, "300ms", null, null), "test");
                TestEnv.await("flushes stored up to offset " + 3 * old, Duration.ofSeconds(120), () -> TestEnv.longQuery(ch,
                        "SELECT max(end_offset) FROM vigil_flush_log WHERE job = '" + job + "' AND state = 'done'") >= 3L * old);
                assertThat(agg.aggregator.workers().get(job).idsRecovered()).as("ids recovered from the older tables' offsets").isEqualTo(old);
                assertThat(TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''"))
                        .as("events stored: the new ones; the retries dropped").isEqualTo(old);
            } finally {
                agg.close();
            }
        }
    }

    private static void produce(TestEnv env, int from, int n) throws Exception {
        Random rnd = new Random(from);
        long now = System.currentTimeMillis();
        List<ProducerRecord<byte[], byte[]>> recs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            recs.add(EventGen.record(TOPIC, EventGen.event(rnd, from + i, now, false, "")));
        }
        try (KafkaProducer<byte[], byte[]> p = env.producer()) {
            EventGen.sendAll(p, recs);
        }
    }

    private static void awaitDone(ClickHouse ch, long end) throws InterruptedException {
        TestEnv.await("flushes stored up to offset " + end, Duration.ofSeconds(120), () -> TestEnv.longQuery(ch,
                "SELECT max(end_offset) FROM vigil_flush_log WHERE job = '" + JOB + "' AND state = 'done'") >= end);
    }

    private static long eventsIn(ClickHouse ch, String table, String where) {
        return TestEnv.longQuery(ch, "SELECT sum(count) FROM " + table + " WHERE kind = 'event' AND measure = '' AND " + where);
    }
}
