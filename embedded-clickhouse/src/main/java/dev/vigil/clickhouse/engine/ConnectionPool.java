package dev.vigil.clickhouse.engine;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A bounded pool of chDB connections. Connections are opened lazily up to {@code max}; a borrower
 * waits up to the queue timeout for one. Connections come back in their baseline state (the
 * request layer restores settings before release); a broken one is closed and replaced on demand.
 */
public final class ConnectionPool implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConnectionPool.class);

    private final ChdbEngine engine;
    private final String name;
    private final int max;
    private final String initSql;
    private final ArrayDeque<ChdbConnection> idle = new ArrayDeque<>();
    private final List<ChdbConnection> all = new ArrayList<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition available = lock.newCondition();
    private int opening;
    private boolean closed;

    /**
     * @param initSql statement run once on each new connection (e.g. {@code SET readonly = 2}), or null
     */
    public ConnectionPool(ChdbEngine engine, String name, int max, String initSql) {
        this.engine = engine;
        this.name = name;
        this.max = max;
        this.initSql = initSql;
    }

    public String name() {
        return name;
    }

    public int max() {
        return max;
    }

    public int size() {
        lock.lock();
        try {
            return all.size();
        } finally {
            lock.unlock();
        }
    }

    public int inUse() {
        lock.lock();
        try {
            return all.size() - idle.size();
        } finally {
            lock.unlock();
        }
    }

    /** Opens {@code n} connections now, so the first requests do not pay for it. */
    public void prestart(int n) {
        List<ChdbConnection> opened = new ArrayList<>();
        for (int i = 0; i < Math.min(n, max); i++) {
            opened.add(acquire(Duration.ZERO));
        }
        opened.forEach(this::release);
    }

    /** Borrows a connection, waiting up to {@code timeout}; throws TOO_MANY_SIMULTANEOUS_QUERIES after. */
    public ChdbConnection acquire(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (true) {
                if (closed) {
                    throw ChdbException.of(ChdbException.TOO_MANY_SIMULTANEOUS_QUERIES, "TOO_MANY_SIMULTANEOUS_QUERIES",
                            "Server is shutting down");
                }
                ChdbConnection c = idle.pollFirst();
                if (c != null) {
                    return c;
                }
                if (all.size() + opening < max) {
                    opening++;
                    break;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw ChdbException.of(ChdbException.TOO_MANY_SIMULTANEOUS_QUERIES, "TOO_MANY_SIMULTANEOUS_QUERIES",
                            "Too many simultaneous queries: all " + max + " " + name + " connections stayed busy for "
                                    + timeout.toMillis() + " ms");
                }
                try {
                    available.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw ChdbException.of(ChdbException.QUERY_WAS_CANCELLED, "QUERY_WAS_CANCELLED",
                            "Interrupted while waiting for a connection");
                }
            }
        } finally {
            lock.unlock();
        }
        ChdbConnection c = null;
        try {
            c = engine.connect();
            if (initSql != null) {
                c.query(initSql, "TSV");
            }
            log.info("event=chdb_connection_opened pool={} id={}", name, c.id());
        } catch (RuntimeException e) {
            if (c != null) {
                engine.disconnect(c);
            }
            lock.lock();
            try {
                opening--;
                available.signal();
            } finally {
                lock.unlock();
            }
            throw e;
        }
        lock.lock();
        try {
            opening--;
            all.add(c);
        } finally {
            lock.unlock();
        }
        return c;
    }

    /** Returns a connection; a broken one is closed. */
    public void release(ChdbConnection c) {
        boolean drop = c.isBroken();
        lock.lock();
        try {
            if (drop || closed) {
                all.remove(c);
            } else {
                idle.addFirst(c);
            }
            available.signal();
        } finally {
            lock.unlock();
        }
        if (drop || closed) {
            if (drop) {
                log.warn("event=chdb_connection_dropped pool={} id={} reason=broken", name, c.id());
            }
            engine.disconnect(c);
        }
    }

    /**
     * Stops lending, waits up to {@code grace} for borrowed connections to come back, then closes every
     * connection this pool opened.
     */
    public void close(Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        List<ChdbConnection> toClose;
        lock.lock();
        try {
            closed = true;
            available.signalAll();
            while (idle.size() < all.size()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    log.warn("event=pool_close_timeout pool={} still_borrowed={}", name, all.size() - idle.size());
                    break;
                }
                try {
                    available.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            toClose = new ArrayList<>(idle);
            all.removeAll(toClose);
            idle.clear();
        } finally {
            lock.unlock();
        }
        for (ChdbConnection c : toClose) {
            engine.disconnect(c);
        }
    }

    @Override
    public void close() {
        close(Duration.ZERO);
    }
}
