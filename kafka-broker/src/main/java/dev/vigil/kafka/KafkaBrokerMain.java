package dev.vigil.kafka;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link KafkaBroker} as its own JVM for the local stack.
 *
 * <p>Environment: {@code VIGIL_KAFKA_DATA_DIR} (required), {@code VIGIL_KAFKA_PORT} (default 9092),
 * {@code VIGIL_KAFKA_CONTROLLER_PORT} (default 9093). SIGTERM shuts the broker down cleanly.
 */
public final class KafkaBrokerMain {
    private static final Logger log = LoggerFactory.getLogger(KafkaBrokerMain.class);

    public static void main(String[] args) throws InterruptedException {
        Path dataDir = Path.of(required("VIGIL_KAFKA_DATA_DIR"));
        int port = port("VIGIL_KAFKA_PORT", 9092);
        int controllerPort = port("VIGIL_KAFKA_CONTROLLER_PORT", 9093);
        KafkaBroker broker;
        try {
            broker = KafkaBroker.start(dataDir, port, controllerPort, Map.of());
        } catch (RuntimeException e) {
            log.error("kafka broker failed to start: {}", e.getMessage(), e);
            System.exit(1);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("kafka broker shutting down on signal");
            broker.close();
            stopped.countDown();
        }, "kafka-shutdown"));
        System.out.println("READY kafka " + broker.bootstrapServers());
        stopped.await();
    }

    private static String required(String key) {
        String v = System.getenv(key);
        if (v == null || v.isBlank()) {
            System.err.println("config error: " + key + " is required (a directory path)");
            System.exit(2);
        }
        return v;
    }

    private static int port(String key, int dflt) {
        String v = System.getenv(key);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            int p = Integer.parseInt(v.trim());
            if (p < 1 || p > 65535) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            System.err.println("config error: " + key + "='" + v + "' is not a port; accepted values: 1..65535");
            System.exit(2);
            return -1;
        }
    }
}
