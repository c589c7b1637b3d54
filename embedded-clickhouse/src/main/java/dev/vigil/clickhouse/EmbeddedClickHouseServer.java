package dev.vigil.clickhouse;

import dev.vigil.clickhouse.engine.ChdbLibrary;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CountDownLatch;

/**
 * The embedded ClickHouse server as its own process. Configuration comes from VIGIL_CLICKHOUSE_*
 * environment variables (see {@link ServerConfig}); SIGTERM/SIGINT stop it gracefully: new queries get
 * 503, in-flight ones finish, then every chDB connection is closed.
 */
public final class EmbeddedClickHouseServer {
    static {
        // Own logging config without shipping a logback.xml that would clash in other modules' tests.
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", "vigil-embedded-clickhouse-logback.xml");
        }
    }

    private static final Logger log = LoggerFactory.getLogger(EmbeddedClickHouseServer.class);

    private EmbeddedClickHouseServer() {
    }

    public static void main(String[] args) throws InterruptedException {
        ServerConfig config;
        try {
            config = ServerConfig.fromEnv(System.getenv());
            ChdbLibrary.locate();
        } catch (RuntimeException e) {
            System.err.println("vigil-embedded-clickhouse: " + e.getMessage());
            log.error("event=startup_failed error=\"{}\"", e.getMessage().replace('\n', ' '));
            System.exit(2);
            return;
        }
        EmbeddedClickHouse ch;
        try {
            ch = EmbeddedClickHouse.start(config);
        } catch (Exception e) {
            // Exception, not RuntimeException: Netty's bind().sync() rethrows a BindException
            // unchecked-ly, and without exiting here the engine's threads kept the process alive.
            System.err.println("vigil-embedded-clickhouse: failed to start: " + e.getMessage());
            log.error("event=startup_failed error=\"{}\"", String.valueOf(e.getMessage()).replace('\n', ' '), e);
            System.exit(1);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("event=shutdown_signal");
            try {
                ch.close();
            } finally {
                stopped.countDown();
            }
        }, "embedded-clickhouse-shutdown"));
        log.info("event=ready http_url={} jdbc_url={}", ch.httpUrl(), ch.jdbcUrl());
        stopped.await();
    }
}
