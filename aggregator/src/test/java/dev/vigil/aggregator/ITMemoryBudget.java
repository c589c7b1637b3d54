package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import dev.vigil.common.model.Event;

/**
 * The memory budget through the real pipeline: an instance whose partitions' retry stores and series caches leave
 * less of aggregator.memory-budget than aggregator.max-bytes-per-flush per partition cuts its flushes smaller (counted),
 * publishes its estimate, and still stores every event once.
 */
class ITMemoryBudget {
    private static final String PREFIX = "mem.";

    @Test
    void partitionsShareWhatTheBudgetLeavesAndEveryEventIsStoredOnce() throws Exception {
        try (TestEnv env = new TestEnv("memory")) {
            env.createTopic(PREFIX + "events", 4);
            env.createTopic(PREFIX + "samples", 1);
            long now = System.currentTimeMillis();
            // a series per event (a pod each), every event with a client id: ~10,000 rows a partition, whose buffers pass the
            // 1 MiB floor, and a series cache entry per event (the assertions below bound what was published)
            int events = 40_000;
            List<ProducerRecord<byte[], byte[]>> recs = new ArrayList<>();
            for (int i = 0; i < events; i++) {
                recs.add(EventGen.record(PREFIX + "events", new Event("t" + i % 4, now - 5_000, "inference",
                        new TreeMap<>(Map.of("pod", "p" + i)), new TreeMap<>(Map.of("latency_ms", 1.0 + i % 100)), null, new TreeMap<>(),
                        "evt-" + i, now)));
            }
            try (KafkaProducer<byte[], byte[]> p = env.producer()) {
                EventGen.sendAll(p, recs);
            }
            Map<String, String> aggEnv = env.aggregatorEnv(PREFIX);
            aggEnv.put("VIGIL_AGGREGATOR_DEFAULT_JOBS", "events");
            aggEnv.put("VIGIL_AGGREGATOR_LIMITS_MAX_SERIES_PER_METRIC", "1000000");
            aggEnv.put("VIGIL_AGGREGATOR_FLUSH_INTERVAL", "5s");
            // far less than the series caches alone: every partition gets the floor, 1 MiB, instead of the 16 MiB configured
            aggEnv.put("VIGIL_AGGREGATOR_MEMORY_BUDGET", "4MiB");
            try (AggregatorMain.Running agg = env.startAggregator(aggEnv); ClickHouse ch = env.ch()) {
                String stored = "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''";
                TestEnv.await("every event stored", Duration.ofSeconds(90), () -> TestEnv.longQuery(ch, stored) >= events);
                assertThat(TestEnv.longQuery(ch, stored)).as("nothing dropped, nothing twice").isEqualTo(events);
                double memoryCuts = agg.registry.get("vigil_aggregator_flushes_cut_for_memory").tag("job", "events").counter().count();
                assertThat(memoryCuts).as("flushes cut at the budget's share, before max-bytes-per-flush").isPositive();
                assertThat(agg.registry.get("vigil_aggregator_memory_budget_bytes").gauge().value()).isEqualTo(4.0 * (1 << 20));
                double caches = agg.registry.get("vigil_aggregator_memory_estimated_bytes").tag("job", "events").tag("part", "series_caches")
                        .gauge().value();
                double stores = agg.registry.get("vigil_aggregator_memory_estimated_bytes").tag("job", "events").tag("part", "retry_stores")
                        .gauge().value();
                assertThat(caches).as("series caches: ~1 KB a series").isGreaterThan(events * 200.0);
                assertThat(stores).as("retry stores of 4 partitions with 10,000 ids each").isGreaterThan(4 * 10_000 * 32.0);
                // and a retry of an event already stored is still recognised
                try (KafkaProducer<byte[], byte[]> p = env.producer()) {
                    EventGen.sendAll(p, recs.subList(0, 1_000));
                }
                Map<Integer, Long> ends = ITAggregatorCrash.endOffsets(env, PREFIX + "events");
                TestEnv.await("every partition stored to its end, retries included", Duration.ofSeconds(60), () -> {
                    for (Map.Entry<Integer, Long> e : ends.entrySet()) {
                        if (TestEnv.longQuery(ch, "SELECT max(end_offset) FROM vigil_flush_log WHERE job = 'events' AND state = 'done'"
                                + " AND partition = " + e.getKey()) < e.getValue()) {
                            return false;
                        }
                    }
                    return true;
                });
                assertThat(TestEnv.longQuery(ch, stored)).as("retries dropped").isEqualTo(events);
            }
        }
    }
}
