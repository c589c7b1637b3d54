package dev.vigil.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;

/**
 * A real, single-node Apache Kafka broker in KRaft combined mode (broker and controller in
 * one), bound to loopback, keeping its log and metadata under one data directory.
 *
 * <p>Used two ways: in-process by integration tests, and as its own JVM by the local stack
 * ({@link KafkaBrokerMain}). The same data directory is reused across restarts: storage is
 * formatted only when it has never been formatted, so topics and records survive.
 */
public final class KafkaBroker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KafkaBroker.class);

    private final Path dataDir;
    private final int port;
    private final int controllerPort;
    private final KafkaRaftServer server;
    private volatile boolean closed;

    private KafkaBroker(Path dataDir, int port, int controllerPort, KafkaRaftServer server) {
        this.dataDir = dataDir;
        this.port = port;
        this.controllerPort = controllerPort;
        this.server = server;
    }

    /** Starts a broker on {@code port} (0 picks a free one) and waits until it answers Admin calls. */
    public static KafkaBroker start(Path dataDir, int port) {
        return start(dataDir, port, 0, Map.of());
    }

    public static KafkaBroker start(Path dataDir, int port, int controllerPort, Map<String, String> overrides) {
        try {
            Files.createDirectories(dataDir);
            int brokerPort = port;
            int ctlPort = controllerPort;
            if (port == 0 || controllerPort == 0) {
                // chosen together (three, so that two differ from a given port)
                java.util.Iterator<Integer> free = java.util.Arrays.stream(freePorts(3)).boxed()
                        .filter(p -> p != port && p != controllerPort).iterator();
                if (brokerPort == 0) {
                    brokerPort = free.next();
                }
                if (ctlPort == 0) {
                    ctlPort = free.next();
                }
            }
            Properties props = serverProperties(dataDir, brokerPort, ctlPort, overrides);
            Path propsFile = dataDir.resolve("server.properties");
            try (Writer w = Files.newBufferedWriter(propsFile)) {
                props.store(w, "written by Vigil's KafkaBroker on every start");
            }
            formatIfNeeded(dataDir, propsFile);
            long t0 = System.nanoTime();
            KafkaRaftServer server = new KafkaRaftServer(new KafkaConfig(props), Time.SYSTEM);
            server.startup();
            KafkaBroker broker = new KafkaBroker(dataDir, brokerPort, ctlPort, server);
            broker.awaitReady(Duration.ofSeconds(60));
            log.info("kafka broker ready bootstrap={} data_dir={} startup_ms={}",
                    broker.bootstrapServers(), dataDir, (System.nanoTime() - t0) / 1_000_000);
            return broker;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start Kafka broker in " + dataDir + ": " + e.getMessage(), e);
        }
    }

    static Properties serverProperties(Path dataDir, int port, int controllerPort, Map<String, String> overrides) {
        Properties p = new Properties();
        p.setProperty("process.roles", "broker,controller");
        p.setProperty("node.id", "1");
        p.setProperty("controller.quorum.bootstrap.servers", "127.0.0.1:" + controllerPort);
        p.setProperty("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.setProperty("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        p.setProperty("controller.listener.names", "CONTROLLER");
        p.setProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.setProperty("inter.broker.listener.name", "PLAINTEXT");
        p.setProperty("log.dirs", dataDir.resolve("logs").toString());
        p.setProperty("metadata.log.dir", dataDir.resolve("metadata").toString());
        p.setProperty("num.partitions", "4");
        p.setProperty("offsets.topic.replication.factor", "1");
        p.setProperty("offsets.topic.num.partitions", "8");
        p.setProperty("transaction.state.log.replication.factor", "1");
        p.setProperty("transaction.state.log.min.isr", "1");
        p.setProperty("share.coordinator.state.topic.replication.factor", "1");
        p.setProperty("share.coordinator.state.topic.min.isr", "1");
        p.setProperty("min.insync.replicas", "1");
        // Topics are created explicitly (Admin) with the configured partition count.
        p.setProperty("auto.create.topics.enable", "false");
        p.setProperty("group.initial.rebalance.delay.ms", "0");
        p.setProperty("log.retention.hours", "48");
        p.setProperty("log.segment.bytes", String.valueOf(256 * 1024 * 1024));
        p.setProperty("message.max.bytes", String.valueOf(16 * 1024 * 1024));
        p.setProperty("num.network.threads", "2");
        p.setProperty("num.io.threads", "4");
        // Records stamped more than 1 h ahead of the broker's clock are refused (Kafka's default since 4.0, pinned here):
        // the aggregator's client-id window follows the largest record timestamp, so one far-future record would
        // otherwise shorten it for every id already accepted (docs/exactly-once.md, "Where the argument stops").
        p.setProperty("log.message.timestamp.after.max.ms", "3600000");
        overrides.forEach(p::setProperty);
        return p;
    }

    /** Formats the storage once; an already formatted directory keeps its cluster id and data. */
    private static void formatIfNeeded(Path dataDir, Path propsFile) {
        if (Files.exists(dataDir.resolve("metadata").resolve("meta.properties"))) {
            return;
        }
        String clusterId = Uuid.randomUuid().toString();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int rc = StorageTool.execute(new String[] {
                "format", "-t", clusterId, "-c", propsFile.toString(), "--standalone", "--ignore-formatted"},
                new PrintStream(out, true, StandardCharsets.UTF_8));
        if (rc != 0) {
            throw new IllegalStateException("kafka storage format failed (" + rc + "): " + out.toString(StandardCharsets.UTF_8));
        }
        log.info("kafka storage formatted cluster_id={} data_dir={}", clusterId, dataDir);
    }

    private void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        RuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try (Admin admin = Admin.create(Map.of(
                    AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                    AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000,
                    AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000))) {
                admin.describeCluster().nodes().get();
                return;
            } catch (Exception e) {
                last = new IllegalStateException(e);
                sleep(200);
            }
        }
        throw new IllegalStateException("Kafka broker not ready after " + timeout, last);
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public int controllerPort() {
        return controllerPort;
    }

    public Path dataDir() {
        return dataDir;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        server.shutdown();
        server.awaitShutdown();
        log.info("kafka broker stopped data_dir={}", dataDir);
    }

    /**
     * {@code n} distinct free ports: their sockets are all open while they are chosen. Two such choices in a
     * row could return the same port (the first socket closed before the second bound), and the broker then refused
     * its listener and controller on one port (seen once in ITZombieMember).
     */
    public static int[] freePorts(int n) throws IOException {
        ServerSocket[] open = new ServerSocket[n];
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                open[i] = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                open[i].setReuseAddress(true);
                ports[i] = open[i].getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : open) {
                if (s != null) {
                    s.close();
                }
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
