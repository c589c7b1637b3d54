package dev.vigil.common.service;

import java.util.concurrent.CountDownLatch;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.config.Config;
import dev.vigil.common.config.ConfigDef;
import dev.vigil.common.config.ConfigException;

/**
 * The main-method skeleton of every Vigil service: load and validate config (exit 2 with the
 * offending key on error), start, print {@code READY <service> <address>} for the local stack,
 * and on SIGTERM/SIGINT stop gracefully (the service finishes in-flight work in {@code close}).
 */
public final class ServiceRunner {
    private static final Logger log = LoggerFactory.getLogger(ServiceRunner.class);

    /** A started service. */
    public interface Running extends AutoCloseable {
        /** Where it listens, for the startup line. */
        String address();

        @Override
        void close();
    }

    /** Builds and starts the service from its validated config. */
    @FunctionalInterface
    public interface Starter {
        Running start(Config config) throws Exception;
    }

    private ServiceRunner() {
    }

    public static void run(String service, ConfigDef def, Starter starter) {
        Config config;
        try {
            config = Config.load(def);
        } catch (ConfigException e) {
            log.error("{} config invalid: {}", service, e.getMessage());
            System.err.println(service + ": " + e.getMessage());
            System.exit(2);
            return;
        }
        log.info("{} starting config: {}", service, config.describe());
        Running running;
        try {
            running = starter.start(config);
        } catch (ConfigException e) {
            log.error("{} config invalid: {}", service, e.getMessage());
            System.err.println(service + ": " + e.getMessage());
            System.exit(2);
            return;
        } catch (Exception e) {
            log.error("{} failed to start: {}", service, e.toString(), e);
            System.exit(1);
            return;
        }
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("{} stopping on signal", service);
            long t0 = System.nanoTime();
            try {
                running.close();
            } catch (RuntimeException e) {
                log.warn("{} error while stopping: {}", service, e.toString());
            }
            log.info("{} stopped shutdown_ms={}", service, (System.nanoTime() - t0) / 1_000_000);
            done.countDown();
        }, service + "-shutdown"));
        log.info("{} ready address={}", service, running.address());
        System.out.println("READY " + service + " " + running.address());
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
