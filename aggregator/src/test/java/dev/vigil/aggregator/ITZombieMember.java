package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * A member cut off from Kafka but not from ClickHouse (docs/exactly-once.md, "Zombie writer"): instance A reads the
 * partition through a proxy, the proxy is cut, the group expels A and instance B takes the partition and stores its
 * records from the flush log's last done row. A still holds those records in its buffer and cuts a flush of them by
 * time while cut off (its flush interval, 20 s here, is longer than the session timeout and the rebalance); without the guard it wrote that flush's intent after B had recovered and both stored the
 * records. With it, A holds the flush until it hears from its group again, learns it lost the partition and gives the
 * flush up. Every event is counted once.
 */
class ITZombieMember {
    private static final String PREFIX = "zm.";
    private static final String TOPIC = PREFIX + "events";
    private static final String JOB = "zombie";

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void aMemberCutOffFromKafkaDoesNotStoreWhatItsSuccessorStores() throws Exception {
        try (TestEnv env = new TestEnv("zombie")) {
            // a second listener, advertised at the proxy's port, so that a client bootstrapped there stays behind the proxy
            int proxiedPort = freePort();
            int proxyPort = freePort();
            env.restartKafka(Map.of(
                    "listeners", "PLAINTEXT://127.0.0.1:" + env.kafkaPort() + ",CONTROLLER://127.0.0.1:" + env.kafkaControllerPort()
                            + ",PROXIED://127.0.0.1:" + proxiedPort,
                    "advertised.listeners", "PLAINTEXT://127.0.0.1:" + env.kafkaPort() + ",PROXIED://127.0.0.1:" + proxyPort,
                    "listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,PROXIED:PLAINTEXT"));
            env.createTopic(TOPIC, 1);
            try (TcpProxy proxy = new TcpProxy(proxyPort, proxiedPort); ClickHouse ch = env.ch()) {
                Map<String, String> envA = env.instanceEnv(PREFIX, "a");
                envA.put("VIGIL_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:" + proxyPort);
                AggregatorMain.Running a = env.startAggregator(envA);
                AggregatorMain.Running b = null;
                try {
                    // flushes every 20 s: A's timer cuts its flush after B has taken the partition over (session timeout
                    // 10 s, then a rebalance); the experiments job's 10 s and a catching-up partition's 10 s come close
                    a.aggregator.putJob(new JobSpec(JOB, TOPIC, "events", List.of("series"), 10, "30d", null, "20s", null, 1), "test");
                    TestEnv.await("A owns the partition", Duration.ofSeconds(60), () -> {
                        JobWorker w = a.aggregator.workers().get(JOB);
                        return w != null && w.partitionsRecovered() == 1;
                    });
                    AggregatorMain.Running started = env.startAggregator(env.instanceEnv(PREFIX, "b"));
                    b = started;
                    TestEnv.await("B in the job", Duration.ofSeconds(60), () -> started.aggregator.workers().get(JOB) != null);
                    Thread.sleep(4_000); // B's join rebalance settled (one partition: A keeps it)

                    int n = 2_000;
                    env.produceEvents(TOPIC, 0, n, false);
                    JobWorker wa = a.aggregator.workers().get(JOB);
                    TestEnv.await("A read the events", Duration.ofSeconds(30), () -> wa.recordsConsumed() >= n);
                    proxy.cut();
                    // more events, which only B reads: B's first flush then covers other offsets than A's, under other
                    // tokens, so ClickHouse would not drop A's copy of the first ones
                    int more = 500;
                    env.produceEvents(TOPIC, n, more, false);
                    int total = n + more;

                    String stored = "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''";
                    TestEnv.await("B stored the events", Duration.ofSeconds(90), () -> TestEnv.longQuery(ch, stored) >= total);
                    // by now A's timer has cut its flush of the same records (20 s after it read them), while cut off
                    proxy.heal();
                    TestEnv.await("A learnt it lost the partition", Duration.ofSeconds(60),
                            () -> counter(a, "vigil_aggregator_partitions_lost_total") >= 1);
                    Thread.sleep(2_000); // anything A would still write
                    assertThat(TestEnv.longQuery(ch, stored)).as("every event once").isEqualTo(total);
                    assertThat(counter(a, "vigil_aggregator_flushes_abandoned_total")).as("A's flush given up").isEqualTo(1);
                } finally {
                    proxy.heal();
                    if (b != null) {
                        b.close();
                    }
                    a.close();
                }
            }
        }
    }

    private static double counter(AggregatorMain.Running r, String name) {
        for (String line : r.registry.scrape().split("\n")) {
            if (line.startsWith(name + "{") && line.contains("job=\"" + JOB + "\"")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }


}
