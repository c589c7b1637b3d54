package dev.vigil.clickhouse.engine;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The chDB engine of this process, booted on one data path. chDB allows one path per process: all
 * connections share it. The engine is booted once and kept (a "keeper" connection holds it open) so
 * servers can start and stop repeatedly in one JVM; it is shut down when another path is asked for
 * while nothing uses it, by {@link #shutdownIfUnused()}, or at JVM exit (a shutdown hook closes every
 * connection, without which libchdb.so crashes on exit).
 */
public final class ChdbEngine {
    private static final Logger log = LoggerFactory.getLogger(ChdbEngine.class);
    private static ChdbEngine current;
    private static boolean hookInstalled;

    private final ChdbLibrary lib;
    private final Path dataDir;
    private final List<ChdbConnection> connections = new ArrayList<>();
    private final AtomicInteger ids = new AtomicInteger();
    private ChdbConnection keeper;
    private int users;
    private boolean closed;

    private ChdbEngine(ChdbLibrary lib, Path dataDir) {
        this.lib = lib;
        this.dataDir = dataDir;
    }

    /**
     * Acquires the engine on {@code dataDir} (creating the directory), booting it if needed. Each call
     * must be balanced by {@link #release()}.
     */
    public static synchronized ChdbEngine acquire(Path dataDir) {
        Path dir = dataDir.toAbsolutePath().normalize();
        if (current != null && !current.dataDir.equals(dir)) {
            if (current.users > 0) {
                throw new IllegalStateException("chDB is already open on " + current.dataDir
                        + " in this JVM and in use; chDB supports one data path per process (asked for " + dir + ")");
            }
            current.shutdown();
            current = null;
        }
        if (current == null) {
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new IllegalStateException("cannot create data directory " + dir + ": " + e.getMessage(), e);
            }
            ChdbLibrary lib = ChdbLibrary.get();
            ChdbEngine engine = new ChdbEngine(lib, dir);
            long t0 = System.nanoTime();
            engine.keeper = engine.connect();
            log.info("event=chdb_engine_started path={} chdb_version={} lib={} took_ms={}", dir, lib.version(),
                    lib.path(), (System.nanoTime() - t0) / 1_000_000);
            if (!hookInstalled) {
                hookInstalled = true;
                Runtime.getRuntime().addShutdownHook(new Thread(ChdbEngine::shutdownAtExit, "chdb-shutdown"));
            }
            current = engine;
        }
        current.users++;
        return current;
    }

    /** Releases one {@link #acquire} (the engine stays booted for the next user). */
    public void release() {
        synchronized (ChdbEngine.class) {
            if (users > 0) {
                users--;
            }
            ChdbEngine.class.notifyAll();
        }
    }

    /** Shuts the engine down if nobody holds it (e.g. to prove data survives a real engine restart). */
    public static synchronized boolean shutdownIfUnused() {
        if (current != null && current.users == 0) {
            current.shutdown();
            current = null;
            return true;
        }
        return false;
    }

    /** The engine currently booted in this JVM, if any. */
    public static synchronized ChdbEngine current() {
        return current;
    }

    private static void shutdownAtExit() {
        ChdbEngine e;
        synchronized (ChdbEngine.class) {
            // Servers stop in their own shutdown hooks (finishing in-flight queries); closing connections
            // under a running query crashes the engine, so wait for them to let go first.
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(
                    Long.getLong("vigil.chdb.exitWaitSeconds", 60));
            while (current != null && current.users > 0 && System.nanoTime() < deadline) {
                try {
                    ChdbEngine.class.wait(50);
                } catch (InterruptedException ie) {
                    break;
                }
            }
            e = current;
            current = null;
        }
        if (e != null) {
            e.shutdown();
        }
    }

    public Path dataDir() {
        return dataDir;
    }

    public ChdbLibrary library() {
        return lib;
    }

    /** Opens a new connection on this engine's path. */
    public synchronized ChdbConnection connect() {
        if (closed) {
            throw new IllegalStateException("chDB engine on " + dataDir + " is shut down");
        }
        try (Arena arena = Arena.ofConfined()) {
            String[] args = {"clickhouse", "--path=" + dataDir};
            MemorySegment argv = arena.allocate(ValueLayout.ADDRESS, args.length + 1);
            for (int i = 0; i < args.length; i++) {
                argv.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(args[i]));
            }
            argv.setAtIndex(ValueLayout.ADDRESS, args.length, MemorySegment.NULL);
            MemorySegment ptr = (MemorySegment) lib.connect.invokeExact(args.length, argv);
            if (ptr.equals(MemorySegment.NULL)) {
                throw new IllegalStateException("chdb_connect failed for path " + dataDir
                        + " (the reason is on stderr; \"Cannot lock file\" means another process uses this data directory)");
            }
            ChdbConnection c = new ChdbConnection(lib, this, ids.incrementAndGet(), ptr);
            connections.add(c);
            return c;
        } catch (IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("chdb_connect failed", t);
        }
    }

    /** Closes one connection (never the keeper). */
    public synchronized void disconnect(ChdbConnection c) {
        if (c == keeper) {
            return;
        }
        c.close();
        connections.remove(c);
    }

    /** Runs a statement on the keeper connection (for administration; serialised). */
    public ChdbConnection.Result adminQuery(String sql, String format) {
        ChdbConnection k = keeper;
        k.lock();
        try {
            return k.query(sql, format);
        } finally {
            k.unlock();
        }
    }

    /** Closes every connection, which shuts the engine down. */
    synchronized void shutdown() {
        if (closed) {
            return;
        }
        closed = true;
        for (ChdbConnection c : connections) {
            c.close();
        }
        log.info("event=chdb_engine_stopped path={} connections_closed={}", dataDir, connections.size());
        connections.clear();
    }
}
