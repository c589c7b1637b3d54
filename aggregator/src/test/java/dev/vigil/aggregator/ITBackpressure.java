package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import dev.vigil.common.model.Event;

/**
 * Records that each roll up to many rows (8 experiments and a unit of their own, with a 64 KiB flush): a poll of them cuts
 * a flush every few records. The job's flush queue must stay within its bounds while it reads them; it used to be
 * checked only between polls, so one poll queued every flush it cut (here ~30, each holding its rows until written; with
 * 32 experiments and the gateway's 64 measures an event holds a megabyte of rows, and a poll of 2,000 gigabytes).
 */
class ITBackpressure {
    private static final String PREFIX = "bp.";
    private static final int EXPERIMENTS = 8;

    @Test
    void aPollOfHeavyRecordsStaysWithinTheFlushQueueBounds() throws Exception {
        try (TestEnv env = new TestEnv("backpressure")) {
            env.createTopic(PREFIX + "events", 1);
            env.createTopic(PREFIX + "samples", 1);
            long now = System.currentTimeMillis();
            List<ProducerRecord<byte[], byte[]>> recs = new ArrayList<>();
            int events = 200;
            for (int i = 0; i < events; i++) {
                TreeMap<String, String> exps = new TreeMap<>();
                for (int x = 0; x < EXPERIMENTS; x++) {
                    exps.put("exp-" + x, x % 2 == 0 ? "control" : "treatment");
                }
                recs.add(EventGen.record(PREFIX + "events", new Event("t1", now - 1_000, "purchase", new TreeMap<>(Map.of("region", "eu")),
                        new TreeMap<>(Map.of("amount", 1.0 + i % 7)), "user-" + i, exps, null, now)));
            }
            try (KafkaProducer<byte[], byte[]> p = env.producer()) {
                EventGen.sendAll(p, recs);
            }
            Map<String, String> aggEnv = env.aggregatorEnv(PREFIX);
            aggEnv.put("VIGIL_AGGREGATOR_DEFAULT_JOBS", "experiments");
            aggEnv.put("VIGIL_AGGREGATOR_MAX_BYTES_PER_FLUSH", "64KiB");
            aggEnv.put("VIGIL_AGGREGATOR_MAX_QUEUED_BYTES", "64KiB");
            aggEnv.put("VIGIL_AGGREGATOR_QUEUE_CAPACITY", "1");
            try (AggregatorMain.Running agg = env.startAggregator(aggEnv); ClickHouse ch = env.ch()) {
                AtomicInteger most = new AtomicInteger();
                String stored = "SELECT count() FROM vigil_exposures FINAL WHERE tenant = 't1'";
                long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
                while (System.nanoTime() < deadline) {
                    JobWorker w = agg.aggregator.workers().get("experiments");
                    if (w != null) {
                        most.accumulateAndGet(((Number) w.status().get("queued_flushes")).intValue(), Math::max);
                        if (((Number) w.status().get("records_consumed")).longValue() >= events && TestEnv.longQuery(ch, stored) >= EXPERIMENTS * (long) events) {
                            break;
                        }
                    }
                    Thread.sleep(2);
                }
                assertThat(TestEnv.longQuery(ch, stored)).as("every unit's exposures stored").isEqualTo(EXPERIMENTS * (long) events);
                assertThat(TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_experiment_units WHERE tenant = 't1' AND measure = 'amount'"))
                        .as("every value counted once").isEqualTo(EXPERIMENTS * (long) events);
                // capacity 1, plus the one cut that found the queue full (one partition)
                assertThat(most.get()).as("most flushes queued at once").isBetween(1, 2);
            }
        }
    }
}
