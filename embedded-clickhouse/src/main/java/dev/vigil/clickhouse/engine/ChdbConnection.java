package dev.vigil.clickhouse.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One chDB connection (one ClickHouse session context: its own settings and current database).
 * Runs one statement at a time; callers hold it exclusively (the pool or a named session does that).
 */
public final class ChdbConnection implements AutoCloseable {
    private final ChdbLibrary lib;
    private final ChdbEngine engine;
    private final int id;
    private MemorySegment handlePtr; // chdb_connection* as returned by chdb_connect
    private MemorySegment handle; // *handlePtr
    private final ReentrantLock lock = new ReentrantLock();
    /** What this connection's current database is, as far as we set it. */
    String currentDatabase = "default";
    /** Settings changed on this connection relative to the engine defaults, by SET through us. */
    final Map<String, String> changedSettings = new HashMap<>();
    boolean broken;

    ChdbConnection(ChdbLibrary lib, ChdbEngine engine, int id, MemorySegment handlePtr) {
        this.lib = lib;
        this.engine = engine;
        this.id = id;
        this.handlePtr = handlePtr;
        this.handle = handlePtr.reinterpret(ValueLayout.ADDRESS.byteSize()).get(ValueLayout.ADDRESS, 0);
    }

    public int id() {
        return id;
    }

    public ChdbEngine engine() {
        return engine;
    }

    public boolean isOpen() {
        return handle != null;
    }

    public String currentDatabase() {
        return currentDatabase;
    }

    /** Makes {@code db} the current database (USE), skipping the call if it already is. */
    public void useDatabase(String db) {
        if (db.equals(currentDatabase)) {
            return;
        }
        query("USE `" + db.replace("\\", "\\\\").replace("`", "\\`") + "`", "TSV");
        currentDatabase = db;
    }

    /** Records that a USE statement run through {@link #query} changed the current database. */
    public void setCurrentDatabase(String db) {
        currentDatabase = db;
    }

    public void markBroken() {
        broken = true;
    }

    public boolean isBroken() {
        return broken;
    }

    /** Result of a statement run to completion. */
    public record Result(byte[] data, long rowsRead, long bytesRead, long rowsWritten, long bytesWritten,
                         double elapsedSeconds) {
    }

    private MemorySegment h() {
        if (handle == null) {
            throw new ChdbException(ChdbException.UNKNOWN_EXCEPTION,
                    "Code: 1002. DB::Exception: chDB connection " + id + " is closed. (UNKNOWN_EXCEPTION)");
        }
        return handle;
    }

    /** Runs a statement and materialises its whole output. */
    public Result query(byte[] sql, String format, Map<String, String> params) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment q = arena.allocate(sql.length + 1L);
            MemorySegment.copy(sql, 0, q, ValueLayout.JAVA_BYTE, 0, sql.length);
            byte[] f = format.getBytes(StandardCharsets.UTF_8);
            MemorySegment fs = arena.allocateFrom(format);
            MemorySegment r;
            if (params == null || params.isEmpty()) {
                r = (MemorySegment) lib.queryN.invokeExact(h(), q, (long) sql.length, fs, (long) f.length);
            } else {
                Params p = new Params(arena, params);
                r = (MemorySegment) lib.queryWithParamsN.invokeExact(h(), q, (long) sql.length, fs, (long) f.length,
                        p.names, p.nameLens, p.values, p.valueLens, (long) p.count);
            }
            return consumeResult(r, true);
        } catch (ChdbException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("chdb_query failed", t);
        }
    }

    public Result query(String sql, String format) {
        return query(sql.getBytes(StandardCharsets.UTF_8), format, null);
    }

    /** Reads a result handle (throwing its error), then destroys it. */
    Result consumeResult(MemorySegment r, boolean withData) throws Throwable {
        if (r == null || r.equals(MemorySegment.NULL)) {
            throw new ChdbException(ChdbException.UNKNOWN_EXCEPTION,
                    "Code: 1002. DB::Exception: chDB returned no result. (UNKNOWN_EXCEPTION)");
        }
        try {
            MemorySegment err = (MemorySegment) lib.resultError.invokeExact(r);
            if (!err.equals(MemorySegment.NULL)) {
                throw ChdbException.fromEngine(ChdbLibrary.cString(err));
            }
            byte[] data = EMPTY;
            if (withData) {
                long len = (long) lib.resultLength.invokeExact(r);
                if (len > 0) {
                    MemorySegment buf = (MemorySegment) lib.resultBuffer.invokeExact(r);
                    data = buf.reinterpret(len).toArray(ValueLayout.JAVA_BYTE);
                }
            }
            return new Result(data,
                    (long) lib.resultRowsRead.invokeExact(r), (long) lib.resultBytesRead.invokeExact(r),
                    (long) lib.resultRowsWritten.invokeExact(r), (long) lib.resultBytesWritten.invokeExact(r),
                    (double) lib.resultElapsed.invokeExact(r));
        } finally {
            lib.destroyQueryResult.invokeExact(r);
        }
    }

    static final byte[] EMPTY = new byte[0];

    /** Starts a streaming query; the caller must close the returned stream. */
    public QueryStream streamQuery(byte[] sql, String format, Map<String, String> params) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment q = arena.allocate(sql.length + 1L);
            MemorySegment.copy(sql, 0, q, ValueLayout.JAVA_BYTE, 0, sql.length);
            byte[] f = format.getBytes(StandardCharsets.UTF_8);
            MemorySegment fs = arena.allocateFrom(format);
            MemorySegment r;
            if (params == null || params.isEmpty()) {
                r = (MemorySegment) lib.streamQueryN.invokeExact(h(), q, (long) sql.length, fs, (long) f.length);
            } else {
                Params p = new Params(arena, params);
                r = (MemorySegment) lib.streamQueryWithParamsN.invokeExact(h(), q, (long) sql.length, fs,
                        (long) f.length, p.names, p.nameLens, p.values, p.valueLens, (long) p.count);
            }
            if (r == null || r.equals(MemorySegment.NULL)) {
                throw new ChdbException(ChdbException.UNKNOWN_EXCEPTION,
                        "Code: 1002. DB::Exception: chDB returned no stream. (UNKNOWN_EXCEPTION)");
            }
            MemorySegment err = (MemorySegment) lib.resultError.invokeExact(r);
            if (!err.equals(MemorySegment.NULL)) {
                String text = ChdbLibrary.cString(err);
                lib.destroyQueryResult.invokeExact(r);
                throw ChdbException.fromEngine(text);
            }
            return new QueryStream(r);
        } catch (ChdbException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("chdb_stream_query failed", t);
        }
    }

    /** A streaming result: {@link #next()} returns chunks until null. */
    public final class QueryStream implements AutoCloseable {
        private MemorySegment stream;
        private boolean finished;
        private boolean failed;
        private long rowsRead;
        private long bytesRead;

        QueryStream(MemorySegment stream) {
            this.stream = stream;
        }

        /** The next chunk of output, or null at the end. Throws the engine's error if the query fails. */
        public byte[] next() {
            if (finished) {
                return null;
            }
            try {
                MemorySegment chunk = (MemorySegment) lib.streamFetchResult.invokeExact(h(), stream);
                if (chunk == null || chunk.equals(MemorySegment.NULL)) {
                    finished = true;
                    return null;
                }
                try {
                    MemorySegment err = (MemorySegment) lib.resultError.invokeExact(chunk);
                    if (!err.equals(MemorySegment.NULL)) {
                        finished = true;
                        failed = true;
                        throw ChdbException.fromEngine(ChdbLibrary.cString(err));
                    }
                    long len = (long) lib.resultLength.invokeExact(chunk);
                    rowsRead += (long) lib.resultRowsRead.invokeExact(chunk);
                    bytesRead += (long) lib.resultBytesRead.invokeExact(chunk);
                    if (len == 0) {
                        finished = true;
                        return null;
                    }
                    MemorySegment buf = (MemorySegment) lib.resultBuffer.invokeExact(chunk);
                    return buf.reinterpret(len).toArray(ValueLayout.JAVA_BYTE);
                } finally {
                    lib.destroyQueryResult.invokeExact(chunk);
                }
            } catch (ChdbException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("chdb_stream_fetch_result failed", t);
            }
        }

        public long rowsRead() {
            return rowsRead;
        }

        public long bytesRead() {
            return bytesRead;
        }

        /** Cancels the query if it has not finished, and frees the handle. */
        @Override
        public void close() {
            if (stream == null) {
                return;
            }
            boolean dirty = failed || !finished;
            try {
                if (!finished) {
                    lib.streamCancelQuery.invokeExact(h(), stream);
                }
                lib.destroyQueryResult.invokeExact(stream);
            } catch (Throwable t) {
                broken = true;
            } finally {
                stream = null;
            }
            if (dirty && !broken && !flushing) {
                flushing = true;
                try {
                    flushStaleOutput();
                } finally {
                    flushing = false;
                }
            }
        }
    }

    private boolean flushing;

    private static final byte[] CLEAN_SELECT_1 = {1, 1, '1', 5, 'U', 'I', 'n', 't', '8', 1};

    /**
     * chDB 26.7 quirk: after a streaming query fails or is cancelled, the next streaming query on the
     * connection starts with the failed query's format header. A throwaway query absorbs it; if the
     * connection still is not clean it is retired.
     */
    private void flushStaleOutput() {
        for (int attempt = 0; attempt < 2; attempt++) {
            try (QueryStream s = streamQueryRaw("SELECT 1".getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                byte[] ch;
                while ((ch = s.next()) != null) {
                    out.write(ch, 0, ch.length);
                }
                if (java.util.Arrays.equals(out.toByteArray(), CLEAN_SELECT_1)) {
                    return;
                }
            } catch (RuntimeException e) {
                break;
            }
        }
        broken = true;
    }

    private QueryStream streamQueryRaw(byte[] sql) {
        QueryStream s = streamQuery(sql, "RowBinaryWithNamesAndTypes", null);
        return s;
    }

    /** Starts a streaming INSERT ({@code INSERT INTO t (cols)} without FORMAT or data). */
    public InsertStream streamInsert(byte[] sql, String format, Map<String, String> params) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment q = arena.allocate(sql.length + 1L);
            MemorySegment.copy(sql, 0, q, ValueLayout.JAVA_BYTE, 0, sql.length);
            byte[] f = format.getBytes(StandardCharsets.UTF_8);
            MemorySegment fs = arena.allocateFrom(format);
            MemorySegment s;
            if (params == null || params.isEmpty()) {
                s = (MemorySegment) lib.streamInsertN.invokeExact(h(), q, (long) sql.length, fs, (long) f.length);
            } else {
                Params p = new Params(arena, params);
                s = (MemorySegment) lib.streamInsertWithParamsN.invokeExact(h(), q, (long) sql.length, fs,
                        (long) f.length, p.names, p.nameLens, p.values, p.valueLens, (long) p.count);
            }
            MemorySegment err = (MemorySegment) lib.streamInsertError.invokeExact(s);
            if (!err.equals(MemorySegment.NULL)) {
                String text = ChdbLibrary.cString(err);
                lib.destroyInsertStream.invokeExact(s);
                throw ChdbException.fromEngine(text);
            }
            return new InsertStream(s);
        } catch (ChdbException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("chdb_stream_insert failed", t);
        }
    }

    /** A streaming INSERT: append chunks, then {@link #done()}; close always. */
    public final class InsertStream implements AutoCloseable {
        private MemorySegment stream;
        private final Arena arena = Arena.ofConfined();
        private MemorySegment buffer = MemorySegment.NULL;
        private boolean done;
        private long bytesAppended;

        InsertStream(MemorySegment stream) {
            this.stream = stream;
        }

        private long fill;

        /** Appends bytes now (after anything {@link #write} buffered). */
        public void append(byte[] data, int off, int len) {
            write(data, off, len);
            flush();
        }

        /** Buffers bytes in native memory, handing on each full 1 MiB; {@link #flush} hands on the rest. */
        public void write(byte[] data, int off, int len) {
            while (len > 0) {
                if (buffer.byteSize() == 0) {
                    buffer = arena.allocate(1 << 20);
                }
                int n = (int) Math.min(len, buffer.byteSize() - fill);
                MemorySegment.copy(data, off, buffer, ValueLayout.JAVA_BYTE, fill, n);
                fill += n;
                off += n;
                len -= n;
                if (fill == buffer.byteSize()) {
                    flush();
                }
            }
        }

        /** Bytes written but not yet handed to the engine. */
        public long buffered() {
            return fill;
        }

        public void flush() {
            if (fill > 0) {
                long n = fill;
                fill = 0;
                append(buffer, n);
            }
        }

        public void append(MemorySegment data, long len) {
            try {
                int rc = (int) lib.streamAppend.invokeExact(stream, data, len);
                if (rc != 0) {
                    MemorySegment err = (MemorySegment) lib.streamInsertError.invokeExact(stream);
                    String text = ChdbLibrary.cString(err);
                    throw ChdbException.fromEngine(text == null ? "Streaming insert failed" : text);
                }
                bytesAppended += len;
            } catch (ChdbException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("chdb_stream_append failed", t);
            }
        }

        public long bytesAppended() {
            return bytesAppended;
        }

        /** Commits: returns rows/bytes written, or throws the engine's error. */
        public Result done() {
            flush();
            try {
                done = true;
                MemorySegment r = (MemorySegment) lib.streamDone.invokeExact(stream);
                return consumeResult(r, false);
            } catch (ChdbException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("chdb_stream_done failed", t);
            }
        }

        @Override
        public void close() {
            if (stream == null) {
                return;
            }
            try {
                if (!done) {
                    lib.streamCancelInsert.invokeExact(stream);
                }
                lib.destroyInsertStream.invokeExact(stream);
            } catch (Throwable t) {
                broken = true;
            } finally {
                stream = null;
                arena.close();
            }
        }
    }

    private static final class Params {
        final MemorySegment names;
        final MemorySegment nameLens;
        final MemorySegment values;
        final MemorySegment valueLens;
        final int count;

        Params(Arena arena, Map<String, String> params) {
            count = params.size();
            names = arena.allocate(ValueLayout.ADDRESS, count);
            values = arena.allocate(ValueLayout.ADDRESS, count);
            nameLens = arena.allocate(ValueLayout.JAVA_LONG, count);
            valueLens = arena.allocate(ValueLayout.JAVA_LONG, count);
            int i = 0;
            for (var e : params.entrySet()) {
                byte[] n = e.getKey().getBytes(StandardCharsets.UTF_8);
                byte[] v = e.getValue().getBytes(StandardCharsets.UTF_8);
                MemorySegment ns = arena.allocate(n.length + 1L);
                MemorySegment.copy(n, 0, ns, ValueLayout.JAVA_BYTE, 0, n.length);
                MemorySegment vs = arena.allocate(v.length + 1L);
                MemorySegment.copy(v, 0, vs, ValueLayout.JAVA_BYTE, 0, v.length);
                names.setAtIndex(ValueLayout.ADDRESS, i, ns);
                values.setAtIndex(ValueLayout.ADDRESS, i, vs);
                nameLens.setAtIndex(ValueLayout.JAVA_LONG, i, n.length);
                valueLens.setAtIndex(ValueLayout.JAVA_LONG, i, v.length);
                i++;
            }
        }
    }

    public void lock() {
        lock.lock();
    }

    public void unlock() {
        lock.unlock();
    }

    /** Closes the chDB connection. Idempotent. */
    @Override
    public synchronized void close() {
        if (handlePtr == null) {
            return;
        }
        try {
            lib.closeConn.invokeExact(handlePtr);
        } catch (Throwable t) {
            // nothing sensible to do; the engine is going away
        } finally {
            handlePtr = null;
            handle = null;
        }
    }
}
