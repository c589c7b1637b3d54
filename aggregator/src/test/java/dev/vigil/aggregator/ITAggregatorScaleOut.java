package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * Scaling out: a second aggregator instance joins a running job's consumer group (it finds the job in the stored
 * goal state). Only the partitions it is given move: the first instance flushes and gives up those and keeps reading
 * the others, without giving them up and recovering them (their retry stores re-read from Kafka) again. Every event,
 * most with a client id, is counted once. Real Kafka and ClickHouse, both instances in this JVM.
 */
class ITAggregatorScaleOut {
    private static final String PREFIX = "so.";
    private static final String TOPIC = PREFIX + "events";
    private static final String JOB = "scale";
    private static final int PARTITIONS = 4;

    @Test
    void aJoiningInstanceTakesOnlyThePartitionsThatMove() throws Exception {
        try (TestEnv env = new TestEnv("scaleout")) {
            env.createTopic(TOPIC, PARTITIONS);
            int first = 20_000;
            int second = 20_000;
            env.produceEvents(TOPIC, 0, first, true);
            AggregatorMain.Running a = env.startAggregator(env.instanceEnv(PREFIX, "a"));
            AggregatorMain.Running b = null;
            try (ClickHouse ch = env.ch()) {
                // one consumer thread per instance: the group's members are the instances
                a.aggregator.putJob(new JobSpec(JOB, TOPIC, "events", List.of("series"), 10, "30d", null, "300ms", null, 1), "test");
                awaitStored(ch, first);
                JobWorker wa = a.aggregator.workers().get(JOB);
                assertThat(wa.partitionsRecovered()).as("partitions the first instance recovered when it started").isEqualTo(PARTITIONS);

                AggregatorMain.Running started = env.startAggregator(env.instanceEnv(PREFIX, "b"));
                b = started;
                TestEnv.await("the second instance reading partitions", Duration.ofSeconds(60), () -> {
                    JobWorker wb = started.aggregator.workers().get(JOB);
                    return wb != null && wb.partitionsRecovered() > 0;
                });
                env.produceEvents(TOPIC, first, second, true);
                awaitStored(ch, first + second);

                long moved = b.aggregator.workers().get(JOB).partitionsRecovered();
                assertThat(moved).as("partitions the second instance took").isBetween(1L, (long) PARTITIONS - 1);
                // with eager rebalancing (Kafka's default range assignor) the first instance gave up all four and
                // recovered the ones it was given back: 4 + (4 - moved)
                assertThat(wa.partitionsRecovered()).as("partitions the first instance recovered, in all").isEqualTo(PARTITIONS);
                assertThat(TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''"))
                        .as("events stored, each once").isEqualTo((long) first + second);
            } finally {
                if (b != null) {
                    b.close();
                }
                a.close();
            }
        }
    }



    /** Waits until the job's done flushes cover {@code records} records over all partitions. */
    private static void awaitStored(ClickHouse ch, long records) throws InterruptedException {
        TestEnv.await(records + " records stored", Duration.ofSeconds(120), () -> TestEnv.longQuery(ch,
                "SELECT sum(e) FROM (SELECT partition, max(end_offset) AS e FROM vigil_flush_log WHERE job = '" + JOB
                        + "' AND state = 'done' GROUP BY partition)") >= records);
    }
}
