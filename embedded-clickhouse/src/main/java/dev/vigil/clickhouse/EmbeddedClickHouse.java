package dev.vigil.clickhouse;

import dev.vigil.clickhouse.engine.ChdbEngine;
import dev.vigil.clickhouse.http.ClickHouseHttpServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The embedded ClickHouse server, in process: chDB behind ClickHouse's HTTP interface, for the JDBC
 * driver (or any HTTP client) to use exactly as it would use a real server.
 *
 * <pre>{@code
 * try (EmbeddedClickHouse ch = EmbeddedClickHouse.start(tempDir)) {
 *     DataSource ds = new com.clickhouse.jdbc.DataSourceImpl(ch.jdbcUrl(), new Properties());
 *     ...
 * }
 * }</pre>
 *
 * <p>chDB allows one data directory per process, and booting it is slow, so the engine stays up after
 * {@link #close()}: starting again on the same directory is fast, and starting on another directory
 * shuts the old engine down first (only when no server uses it). Tests in one JVM should share one
 * instance ({@link #shared()}) and isolate themselves with their own databases.
 */
public final class EmbeddedClickHouse implements AutoCloseable {
    private static EmbeddedClickHouse shared;

    private final ServerConfig config;
    private final ChdbEngine engine;
    private final ClickHouseHttpServer server;
    private final PrometheusMeterRegistry registry;
    private boolean closed;

    private EmbeddedClickHouse(ServerConfig config, ChdbEngine engine, ClickHouseHttpServer server,
                               PrometheusMeterRegistry registry) {
        this.config = config;
        this.engine = engine;
        this.server = server;
        this.registry = registry;
    }

    /** Starts a server on an ephemeral port of 127.0.0.1, storing data in {@code dataDir}. */
    public static EmbeddedClickHouse start(Path dataDir) {
        return start(ServerConfig.builder(dataDir).build());
    }

    /** Starts a server with the given configuration (port 0 = ephemeral). */
    public static EmbeddedClickHouse start(ServerConfig config) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        return start(config, registry);
    }

    /** Starts a server that records its metrics in {@code registry}. */
    public static EmbeddedClickHouse start(ServerConfig config, PrometheusMeterRegistry registry) {
        ChdbEngine engine = ChdbEngine.acquire(config.dataDir());
        try {
            ClickHouseHttpServer server = new ClickHouseHttpServer(config, engine, registry).start();
            return new EmbeddedClickHouse(config, engine, server, registry);
        } catch (InterruptedException e) {
            engine.release();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting", e);
        } catch (Exception e) {
            // Also checked exceptions that Netty rethrows without declaring them (BindException):
            // an unreleased engine makes the exit hook wait for a user that never comes.
            engine.release();
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /**
     * One server per JVM for tests, started on first use on a temporary directory and stopped at exit.
     * Closing it is a no-op. Give each test class its own database.
     */
    public static synchronized EmbeddedClickHouse shared() {
        if (shared == null) {
            try {
                deleteStaleTempDirs("vigil-clickhouse-*");
                Path dir = Files.createTempDirectory("vigil-clickhouse-");
                shared = start(dir);
                Runtime.getRuntime().addShutdownHook(new Thread(() -> shared.stop(), "embedded-clickhouse-stop"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return shared;
    }

    /**
     * {@link #deleteStaleDirs} in the JVM's temp directory with a 24 h age: for the tests and benches
     * that start engines (and brokers) in temp directories of their own and keep them afterwards for
     * post-mortems. Their directories would otherwise pile up (17 GB over a day of runs here).
     */
    public static int deleteStaleTempDirs(String glob) {
        return deleteStaleDirs(Path.of(System.getProperty("java.io.tmpdir")), glob, java.time.Duration.ofHours(24));
    }

    /**
     * Deletes the directories matching {@code glob} in {@code tmp} in which nothing was modified for
     * {@code age}: those earlier JVMs left, e.g. the {@link #shared()} servers' (the engine stays up
     * until its JVM exits, so a JVM cannot delete its own). A live engine writes into its tree
     * (merges, logs), so a directory in use is never that old. Best effort; a directory that cannot be
     * read or deleted is skipped.
     */
    static int deleteStaleDirs(Path tmp, String glob, java.time.Duration age) {
        long cutoff = System.currentTimeMillis() - age.toMillis();
        int deleted = 0;
        try (var dirs = Files.newDirectoryStream(tmp, glob)) {
            for (Path d : dirs) {
                try {
                    if (Files.isDirectory(d) && untouchedSince(d, cutoff)) {
                        try (var tree = Files.walk(d)) {
                            tree.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
                        }
                        deleted += Files.exists(d) ? 0 : 1;
                    }
                } catch (IOException | UncheckedIOException e) {
                    // in use or gone meanwhile: leave it
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // no readable temp directory: nothing to clean
        }
        return deleted;
    }

    private static boolean untouchedSince(Path root, long cutoffMillis) throws IOException {
        try (var tree = Files.walk(root)) {
            return tree.noneMatch(x -> {
                try {
                    return Files.getLastModifiedTime(x).toMillis() >= cutoffMillis;
                } catch (IOException e) {
                    return true; // unreadable: treat as in use
                }
            });
        }
    }

    public int port() {
        return server.port();
    }

    /** {@code http://host:port} */
    public String httpUrl() {
        return "http://" + config.host() + ":" + port();
    }

    /** {@code jdbc:clickhouse://host:port/default} */
    public String jdbcUrl() {
        return jdbcUrl("default");
    }

    /** {@code jdbc:clickhouse://host:port/<database>} */
    public String jdbcUrl(String database) {
        return "jdbc:clickhouse://" + config.host() + ":" + port() + "/" + database;
    }

    public Path dataDir() {
        return engine.dataDir();
    }

    public ServerConfig config() {
        return config;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public boolean isReady() {
        return server.isReady();
    }

    /** Stops the HTTP server gracefully; the engine stays booted for the next start (see class doc). */
    @Override
    public void close() {
        if (this == shared) {
            return;
        }
        stop();
    }

    private synchronized void stop() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            server.close();
        } finally {
            engine.release();
        }
    }

    /**
     * Shuts the chDB engine down (closing every connection) if no server uses it, so a following
     * {@link #start} boots it afresh from disk. Returns whether it did.
     */
    public static boolean shutdownEngine() {
        return ChdbEngine.shutdownIfUnused();
    }
}
