package dev.vigil.clickhouse.http;

import dev.vigil.clickhouse.engine.ChdbConnection;
import dev.vigil.clickhouse.engine.ChdbEngine;
import dev.vigil.clickhouse.engine.ChdbException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * HTTP sessions ({@code session_id}): each holds its own chDB connection, so its settings, current
 * database and temporary tables persist across its requests and never reach another session or the
 * pool. One request at a time per session (another waits up to {@link #LOCK_WAIT_MS}, then gets
 * SESSION_IS_LOCKED, as on a server); expired
 * sessions are closed by {@link #reap()}.
 */
final class Sessions {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class);

    static final class Session {
        final String id;
        final String user;
        final ChdbConnection conn;
        final ReentrantLock lock = new ReentrantLock();
        volatile long expiresAtNanos;
        Duration timeout;
        boolean closed;

        Session(String id, String user, ChdbConnection conn, Duration timeout) {
            this.id = id;
            this.user = user;
            this.conn = conn;
            this.timeout = timeout;
            touch();
        }

        void touch() {
            expiresAtNanos = System.nanoTime() + timeout.toNanos();
        }
    }

    private final ChdbEngine engine;
    private final int max;
    /** How long a request waits for its session to be released by the one before it. */
    static final long LOCK_WAIT_MS = 1000;
    private final Map<String, Session> sessions = new HashMap<>();

    Sessions(ChdbEngine engine, int max) {
        this.engine = engine;
        this.max = max;
    }

    synchronized int count() {
        return sessions.size();
    }

    /** Finds or creates the session and locks it for this request; {@link #release} unlocks. */
    Session acquire(String id, String user, boolean readonly, Duration timeout, boolean check) {
        Session s;
        synchronized (this) {
            s = sessions.get(id);
            if (s != null && !s.user.equals(user)) {
                throw ChdbException.of(ChdbException.SESSION_NOT_FOUND, "SESSION_NOT_FOUND",
                        "Session " + id + " not found");
            }
            if (s == null) {
                if (check) {
                    throw ChdbException.of(ChdbException.SESSION_NOT_FOUND, "SESSION_NOT_FOUND",
                            "Session " + id + " not found");
                }
                if (sessions.size() >= max) {
                    throw ChdbException.of(ChdbException.TOO_MANY_SIMULTANEOUS_QUERIES, "TOO_MANY_SIMULTANEOUS_QUERIES",
                            "Too many sessions: " + max + " are open");
                }
                ChdbConnection c = engine.connect();
                if (readonly) {
                    try {
                        c.query("SET readonly = 2", "TSV");
                    } catch (RuntimeException e) {
                        engine.disconnect(c);
                        throw e;
                    }
                }
                s = new Session(id, user, c, timeout);
                sessions.put(id, s);
                log.info("event=session_opened session_id={} user={} timeout_s={}", id, user, timeout.toSeconds());
            }
        }
        boolean locked;
        try {
            // The previous request of a sequential client still holds the session for a moment after
            // its last response byte (it restores the session's database and settings): wait for that
            // instead of failing its next request; a truly concurrent client still gets SESSION_IS_LOCKED.
            locked = s.lock.tryLock(LOCK_WAIT_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            locked = false;
        }
        if (!locked) {
            throw ChdbException.of(ChdbException.SESSION_IS_LOCKED, "SESSION_IS_LOCKED",
                    "Session " + id + " is locked by a concurrent client");
        }
        if (s.closed) {
            s.lock.unlock();
            throw ChdbException.of(ChdbException.SESSION_NOT_FOUND, "SESSION_NOT_FOUND", "Session " + id + " not found");
        }
        s.timeout = timeout;
        s.touch();
        return s;
    }

    void release(Session s) {
        s.touch();
        boolean drop = s.conn.isBroken();
        s.lock.unlock();
        if (drop) {
            close(s, "broken");
        }
    }

    /** Closes expired, idle sessions. */
    void reap() {
        List<Session> expired = new ArrayList<>();
        long now = System.nanoTime();
        synchronized (this) {
            for (Session s : sessions.values()) {
                if (now - s.expiresAtNanos > 0 && !s.lock.isLocked()) {
                    expired.add(s);
                }
            }
        }
        for (Session s : expired) {
            close(s, "expired");
        }
    }

    private void close(Session s, String reason) {
        if (!s.lock.tryLock()) {
            return;
        }
        try {
            synchronized (this) {
                if (sessions.get(s.id) == s) {
                    sessions.remove(s.id);
                }
            }
            if (!s.closed) {
                s.closed = true;
                engine.disconnect(s.conn);
                log.info("event=session_closed session_id={} reason={}", s.id, reason);
            }
        } finally {
            s.lock.unlock();
        }
    }

    /** Closes every session, waiting up to {@code grace} for busy ones. */
    void closeAll(Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        List<Session> all;
        synchronized (this) {
            all = new ArrayList<>(sessions.values());
        }
        for (Session s : all) {
            try {
                long left = Math.max(0, deadline - System.nanoTime());
                if (s.lock.tryLock(left, java.util.concurrent.TimeUnit.NANOSECONDS)) {
                    s.lock.unlock();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            close(s, "shutdown");
        }
    }
}
