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
 * flush up. Every event is counted once. The second case: A expelled while its intent insert is under way.
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

    /**
     * Restarts the broker with a second listener, advertised at a proxy's port, so that a client bootstrapped there stays
     * behind the proxy; returns the proxy (in front of that listener).
     */
    private static TcpProxy kafkaBehindProxy(TestEnv env) throws Exception {
        int[] ports = dev.vigil.kafka.KafkaBroker.freePorts(2); // distinct: both chosen while open
        int proxiedPort = ports[0];
        int proxyPort = ports[1];
        env.restartKafka(Map.of(
                "listeners", "PLAINTEXT://127.0.0.1:" + env.kafkaPort() + ",CONTROLLER://127.0.0.1:" + env.kafkaControllerPort()
                        + ",PROXIED://127.0.0.1:" + proxiedPort,
                "advertised.listeners", "PLAINTEXT://127.0.0.1:" + env.kafkaPort() + ",PROXIED://127.0.0.1:" + proxyPort,
                "listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,PROXIED:PLAINTEXT"));
        env.createTopic(TOPIC, 1);
        return new TcpProxy(proxyPort, proxiedPort);
    }

    @Test
    void aMemberCutOffFromKafkaDoesNotStoreWhatItsSuccessorStores() throws Exception {
        try (TestEnv env = new TestEnv("zombie")) {
            try (TcpProxy proxy = kafkaBehindProxy(env); ClickHouse ch = env.ch()) {
                int proxyPort = proxy.port();
                Map<String, String> envA = env.instanceEnv(PREFIX, "a");
                envA.put("VIGIL_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:" + proxyPort);
                AggregatorMain.Running a = startOwner(env, envA);
                AggregatorMain.Running b = null;
                try {
                    b = startSecond(env);

                    int n = 2_000;
                    produceReadByA(env, a, n);
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

    /**
     * The member is expelled while its flush's intent insert is under way (a ClickHouse slow to take it): the group gives
     * the partition to B, which recovers before the intent row lands, so it does not know A's range and stores the
     * records under its own flushes. A's intent insert then succeeds; A checks its group contact again before storing
     * anything, holds the flush and gives it up once it learns it lost the partition. Without that second check A
     * stored the 2,000 records again (4,500 for 2,500).
     */
    @Test
    void aMemberExpelledDuringItsIntentInsertDoesNotStoreItsFlush() throws Exception {
        try (TestEnv env = new TestEnv("zombieintent")) {
            try (TcpProxy kafka = kafkaBehindProxy(env); TcpProxy clickhouse = new TcpProxy(freePort(), env.clickHousePort());
                    ClickHouse ch = env.ch()) {
                Map<String, String> envA = env.instanceEnv(PREFIX, "a");
                envA.put("VIGIL_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:" + kafka.port());
                envA.put("VIGIL_CLICKHOUSE_URL", "jdbc:clickhouse:http://127.0.0.1:" + clickhouse.port() + "/" + env.database);
                AggregatorMain.Running a = startOwner(env, envA);
                AggregatorMain.Running b = null;
                try {
                    b = startSecond(env);

                    int n = 2_000;
                    produceReadByA(env, a, n);
                    // A's ClickHouse takes no request from now on; A's timer cuts its flush (20 s) while A is in the group
                    clickhouse.stall();
                    TestEnv.await("A's intent insert under way", Duration.ofSeconds(40), () -> clickhouse.held().contains("vigil_flush_log"));
                    kafka.cut(); // and A is expelled while it waits
                    int more = 500;
                    env.produceEvents(TOPIC, n, more, false);
                    int total = n + more;
                    String stored = "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''";
                    TestEnv.await("B stored the events", Duration.ofSeconds(90), () -> TestEnv.longQuery(ch, stored) >= total);
                    clickhouse.release(); // A's intent lands now, after B's recovery, and is answered
                    Thread.sleep(3_000); // what A would store next
                    kafka.heal();
                    TestEnv.await("A learnt it lost the partition", Duration.ofSeconds(60),
                            () -> counter(a, "vigil_aggregator_partitions_lost_total") >= 1);
                    Thread.sleep(2_000);
                    assertThat(TestEnv.longQuery(ch, stored)).as("every event once").isEqualTo(total);
                    assertThat(counter(a, "vigil_aggregator_flushes_abandoned_total")).as("A's flush given up after its intent").isEqualTo(1);
                } finally {
                    kafka.heal();
                    clickhouse.release();
                    if (b != null) {
                        b.close();
                    }
                    a.close();
                }
            }
        }
    }

    /**
     * Instance A with the job, once it owns the partition. The job flushes every 20 s: A's timer cuts its flush after B
     * has taken the partition over (session timeout 10 s, then a rebalance); the experiments job's 10 s and a
     * catching-up partition's 10 s come close.
     */
    private static AggregatorMain.Running startOwner(TestEnv env, Map<String, String> envA) throws Exception {
        AggregatorMain.Running a = env.startAggregator(envA);
        try {
            a.aggregator.putJob(new JobSpec(JOB, TOPIC, "events", List.of("series"), 10, "30d", null, "20s", null, 1), "test");
            TestEnv.await("A owns the partition", Duration.ofSeconds(60), () -> {
                JobWorker w = a.aggregator.workers().get(JOB);
                return w != null && w.partitionsRecovered() == 1;
            });
            return a;
        } catch (Exception | AssertionError e) {
            a.close();
            throw e;
        }
    }

    /** Instance B in the job beside A, once its join has settled (one partition: A keeps it). */
    private static AggregatorMain.Running startSecond(TestEnv env) throws Exception {
        AggregatorMain.Running b = env.startAggregator(env.instanceEnv(PREFIX, "b"));
        try {
            TestEnv.await("B in the job", Duration.ofSeconds(60), () -> b.aggregator.workers().get(JOB) != null);
            Thread.sleep(4_000);
            return b;
        } catch (Exception | AssertionError e) {
            b.close();
            throw e;
        }
    }

    /** Events 0 to n - 1, once A has read them. */
    private static void produceReadByA(TestEnv env, AggregatorMain.Running a, int n) throws Exception {
        env.produceEvents(TOPIC, 0, n, false);
        JobWorker wa = a.aggregator.workers().get(JOB);
        TestEnv.await("A read the events", Duration.ofSeconds(30), () -> wa.recordsConsumed() >= n);
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
