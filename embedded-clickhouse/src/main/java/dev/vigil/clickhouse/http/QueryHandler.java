package dev.vigil.clickhouse.http;

import dev.vigil.clickhouse.ServerConfig;
import dev.vigil.clickhouse.engine.ChdbConnection;
import dev.vigil.clickhouse.engine.ChdbException;
import dev.vigil.clickhouse.engine.ConnectionPool;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import net.jpountz.lz4.LZ4FrameInputStream;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.InflaterInputStream;

/**
 * ClickHouse's HTTP query interface ({@code /}) on top of chDB: authentication, sessions, URL settings
 * and query parameters, compression, INSERT data through the engine's streaming insert, streamed
 * results, and errors in ClickHouse's text, codes and HTTP statuses.
 */
final class QueryHandler {
    private static final Logger log = LoggerFactory.getLogger(QueryHandler.class);

    /** HTTP parameters that are not engine settings. */
    private static final Set<String> NOT_SETTINGS = Set.of("query", "database", "default_format", "user", "password",
            "quota_key", "query_id", "session_id", "session_timeout", "session_check", "compress", "decompress",
            "buffer_size", "wait_end_of_query", "role", "stacktrace", "with_stacktrace", "client_protocol_version",
            "enable_http_compression", "send_progress_in_http_headers", "add_http_cors_header", "readonly",
            "cancel_http_readonly_queries_on_client_close", "output_format_enable_streaming");
    private static final Set<String> WRITE_KEYWORDS = Set.of("INSERT", "CREATE", "DROP", "ALTER", "TRUNCATE",
            "RENAME", "OPTIMIZE", "DELETE", "UPDATE", "ATTACH", "DETACH", "SYSTEM", "GRANT", "REVOKE", "KILL",
            "EXCHANGE", "UNDROP", "BACKUP", "RESTORE", "MOVE", "REPLACE", "UPSERT");

    private final ServerConfig config;
    private final ConnectionPool pool;
    private final ConnectionPool readonlyPool;
    private final Sessions sessions;
    private final String timezone;
    private final MeterRegistry metrics;
    private final Map<String, ServerConfig.User> users = new LinkedHashMap<>();
    private final SecureRandom random = new SecureRandom();
    private final Counter insertedRows;
    private final Counter clientDisconnects;
    /** Query duration timers by kind and outcome, looked up once (registering per request costs). */
    private final java.util.concurrent.ConcurrentHashMap<String, Timer> timers = new java.util.concurrent.ConcurrentHashMap<>();

    QueryHandler(ServerConfig config, ConnectionPool pool, ConnectionPool readonlyPool, Sessions sessions,
                 String timezone, MeterRegistry metrics) {
        this.config = config;
        this.pool = pool;
        this.readonlyPool = readonlyPool;
        this.sessions = sessions;
        this.timezone = timezone;
        this.metrics = metrics;
        for (ServerConfig.User u : config.users()) {
            users.put(u.name(), u);
        }
        insertedRows = Counter.builder("vigil_clickhouse_inserted_rows").description("rows written by INSERTs")
                .register(metrics);
        clientDisconnects = Counter.builder("vigil_clickhouse_client_disconnects")
                .description("responses abandoned because the client went away").register(metrics);
    }

    /** How long a streamed INSERT body may stall before the request fails (ClickHouse's http_receive_timeout). */
    private static final long RECEIVE_TIMEOUT_MS = 30_000;
    /** A streamed body is handed to the engine in pieces of at least this much (unless it ends first). */
    private static final int STREAM_APPEND_MIN = 256 * 1024;

    /**
     * Whether the request's body is an INSERT's data that can go to the engine as it arrives: a POST to
     * {@code /} with the INSERT (ending in {@code FORMAT x} or {@code VALUES}) in {@code query}, a plain
     * body (no Content-Encoding, no {@code decompress=1}) and no session. Everything else is collected first.
     */
    boolean streamBody(HttpRequest req) {
        if (!HttpMethod.POST.equals(req.method())) {
            return false;
        }
        String enc = req.headers().get(HttpHeaderNames.CONTENT_ENCODING);
        if (enc != null && !enc.isBlank() && !enc.trim().equalsIgnoreCase("identity")) {
            return false;
        }
        QueryStringDecoder qs = new QueryStringDecoder(req.uri());
        if (!qs.path().equals("/") && !qs.path().isEmpty()) {
            return false;
        }
        String query = last(qs, "query");
        if (query == null || query.isEmpty() || "1".equals(last(qs, "decompress"))) {
            return false;
        }
        String session = last(qs, "session_id");
        if (session != null && !session.isEmpty()) {
            return false;
        }
        byte[] qb = query.getBytes(StandardCharsets.UTF_8);
        SqlStatement st = SqlStatement.parse(qb, 0, qb.length);
        return st.hasInlineData() && !st.multiStatement && st.format != null && st.dataStart >= qb.length;
    }

    private static String last(QueryStringDecoder qs, String name) {
        List<String> v = qs.parameters().get(name);
        return v == null || v.isEmpty() ? null : v.getLast();
    }

    /** Per-request state. */
    private final class Req {
        final HttpChannelHandler.Exchange ex;
        final QueryStringDecoder qs;
        final Map<String, String> params = new LinkedHashMap<>();
        final String queryId;
        final long startNanos = System.nanoTime();
        boolean compress;
        String httpEncoding;
        String format = "TabSeparated";
        String user = "?";
        String kind = "query";
        final String tag;

        Req(HttpChannelHandler.Exchange ex) {
            this.ex = ex;
            this.qs = new QueryStringDecoder(ex.request().uri());
            for (var e : qs.parameters().entrySet()) {
                if (!e.getValue().isEmpty()) {
                    params.put(e.getKey(), e.getValue().getLast());
                }
            }
            String qid = params.get("query_id");
            if (qid == null || qid.isEmpty()) {
                qid = ex.request().headers().get("X-ClickHouse-Query-Id");
            }
            queryId = qid == null || qid.isEmpty() ? UUID.randomUUID().toString() : qid;
            compress = "1".equals(params.get("compress"));
            // One call into the (synchronized, comparatively slow) SecureRandom per request, not one per letter.
            byte[] rnd = new byte[16];
            random.nextBytes(rnd);
            char[] t = new char[16];
            for (int i = 0; i < 16; i++) {
                t[i] = (char) ('a' + Math.floorMod(rnd[i], 26));
            }
            tag = new String(t);
        }

        HttpHeaders baseHeaders() {
            HttpHeaders h = new DefaultHttpHeaders();
            h.set("X-ClickHouse-Server-Display-Name", config.displayName());
            h.set("X-ClickHouse-Query-Id", queryId);
            h.set("X-ClickHouse-Timezone", timezone);
            h.set("X-ClickHouse-Exception-Tag", tag);
            return h;
        }
    }

    void handle(HttpChannelHandler.Exchange ex) {
        Req r = new Req(ex);
        ChdbException failure = null;
        long rows = 0;
        try {
            rows = run(r);
        } catch (ChdbException e) {
            failure = e;
        } catch (ResponseChannel.ClientGoneException e) {
            clientDisconnects.increment();
            log.info("event=client_disconnected query_id={} user={} bytes_sent={}", r.queryId, r.user,
                    ex.response().bytesSent());
            if (!ex.response().isDone()) {
                ex.response().abort();
            }
            return;
        } catch (RuntimeException | IOException e) {
            log.error("event=internal_error query_id={} error={}", r.queryId, e.toString(), e);
            failure = ChdbException.of(1001, "STD_EXCEPTION", "Internal error of the embedded server: " + e);
        }
        long elapsedMs = (System.nanoTime() - r.startNanos) / 1_000_000;
        if (failure != null) {
            sendError(r, failure);
            metrics.counter("vigil_clickhouse_errors", "code", String.valueOf(failure.code())).increment();
            log.info("event=query_failed query_id={} user={} kind={} code={} status={} elapsed_ms={} error=\"{}\"",
                    r.queryId, r.user, r.kind, failure.code(), status(failure.code()).code(), elapsedMs,
                    oneLine(failure.getMessage()));
        } else {
            log.info("event=query_done query_id={} user={} kind={} format={} rows={} bytes_sent={} elapsed_ms={}",
                    r.queryId, r.user, r.kind, r.format, rows, ex.response().bytesSent(), elapsedMs);
        }
        String outcome = failure == null ? "ok" : "error";
        timers.computeIfAbsent(r.kind + '/' + outcome, k -> Timer.builder("vigil_clickhouse_query_duration")
                        .tag("kind", r.kind).tag("outcome", outcome).register(metrics))
                .record(System.nanoTime() - r.startNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    private static String oneLine(String s) {
        String t = s.replace('\n', ' ').replace('"', '\'');
        return t.length() > 500 ? t.substring(0, 500) + "..." : t;
    }

    /** Runs the request; returns rows read or written. */
    private long run(Req r) throws IOException {
        HttpRequest req = r.ex.request();
        HttpMethod method = req.method();
        boolean get = method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD);
        if (!get && !method.equals(HttpMethod.POST)) {
            throw ChdbException.of(ChdbException.NOT_IMPLEMENTED, "NOT_IMPLEMENTED",
                    "HTTP method " + method + " is not supported; use GET for reading or POST");
        }
        ServerConfig.User user = authenticate(r);
        r.user = user.name();
        if (r.ex.bodyTooLarge()) {
            throw ChdbException.of(ChdbException.QUERY_IS_TOO_LARGE_CODE, "QUERY_IS_TOO_LARGE",
                    "Request body of " + (r.ex.declaredLength() > 0 ? r.ex.declaredLength() + " bytes" : "unknown size")
                            + " exceeds the embedded server's limit of " + config.maxBodyBytes()
                            + " bytes (" + ServerConfig.MAX_BODY + ")");
        }
        String query = r.params.get("query");
        byte[] body = r.ex.body() == null ? new byte[0] : r.ex.body();
        int bodyLen = get ? 0 : r.ex.bodyLength();
        if (bodyLen > 0) {
            byte[] decoded = decodeBody(r, body, bodyLen);
            if (decoded != body) {
                body = decoded;
                bodyLen = decoded.length;
            }
        }
        if (get && (query == null || query.isEmpty())) {
            r.kind = "ping";
            sendText(r, HttpResponseStatus.OK, "Ok.\n");
            return 0;
        }
        // The text the statement is parsed from, and (for an INSERT) its data.
        byte[] text;
        int textLen;
        byte[] extraData = null;
        int extraLen = 0;
        if (query != null && !query.isEmpty()) {
            byte[] qb = query.getBytes(StandardCharsets.UTF_8);
            SqlStatement qst = SqlStatement.parse(qb, 0, qb.length);
            if (bodyLen == 0 || qst.hasInlineData()) {
                text = qb;
                textLen = qb.length;
                extraData = body;
                extraLen = bodyLen;
            } else {
                text = new byte[qb.length + 1 + bodyLen];
                System.arraycopy(qb, 0, text, 0, qb.length);
                text[qb.length] = '\n';
                System.arraycopy(body, 0, text, qb.length + 1, bodyLen);
                textLen = text.length;
            }
        } else {
            text = body;
            textLen = bodyLen;
        }
        SqlStatement st = SqlStatement.parse(text, 0, textLen);
        if (st.kind == SqlStatement.Kind.EMPTY) {
            throw ChdbException.of(ChdbException.SYNTAX_ERROR, "SYNTAX_ERROR", "Empty query");
        }
        if (st.multiStatement) {
            throw ChdbException.of(ChdbException.SYNTAX_ERROR, "SYNTAX_ERROR", "Multi-statements are not allowed");
        }
        r.kind = st.kind.name().toLowerCase(Locale.ROOT);
        boolean readonlyRequest = user.readonly() || get
                || (r.params.containsKey("readonly") && !"0".equals(r.params.get("readonly")));
        if (readonlyRequest && (st.kind == SqlStatement.Kind.INSERT || WRITE_KEYWORDS.contains(st.keyword))) {
            String why = get && !user.readonly()
                    ? "Cannot execute query in readonly mode. For queries over HTTP, method GET implies readonly. "
                    + "You should use method POST for modifying queries"
                    : user.name() + ": Cannot execute query in readonly mode";
            throw ChdbException.of(ChdbException.READONLY, "READONLY", why);
        }
        String defaultFormat = r.params.get("default_format");
        if (defaultFormat == null || defaultFormat.isEmpty()) {
            defaultFormat = req.headers().get("X-ClickHouse-Format");
        }
        if (defaultFormat == null || defaultFormat.isEmpty()) {
            defaultFormat = "TabSeparated";
        }
        r.format = st.kind != SqlStatement.Kind.INSERT && st.format != null ? st.format : defaultFormat;

        Map<String, String> settings = new LinkedHashMap<>();
        Map<String, String> queryParams = new LinkedHashMap<>();
        for (var e : r.params.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("param_")) {
                queryParams.put(k.substring(6), e.getValue());
            } else if (!NOT_SETTINGS.contains(k) && !k.startsWith("http_")) {
                if (!k.matches("[A-Za-z_][A-Za-z0-9_.]*")) {
                    throw ChdbException.of(ChdbException.UNKNOWN_SETTING, "UNKNOWN_SETTING",
                            "Setting " + k + " is neither a builtin setting nor started with the prefix 'custom_'");
                }
                settings.put(k, e.getValue());
            }
        }
        String database = r.params.get("database");
        if (database == null || database.isEmpty()) {
            database = req.headers().get("X-ClickHouse-Database");
        }
        boolean waitEnd = "1".equals(r.params.get("wait_end_of_query"));

        String sessionId = r.params.get("session_id");
        if (sessionId != null && !sessionId.isEmpty()) {
            Duration timeout = sessionTimeout(r.params.get("session_timeout"));
            Sessions.Session s = sessions.acquire(sessionId, user.name(), user.readonly(), timeout,
                    "1".equals(r.params.get("session_check")));
            try {
                String home = s.conn.currentDatabase();
                try {
                    if (database != null && !database.isEmpty()) {
                        s.conn.useDatabase(database);
                    }
                    long n = execute(r, s.conn, st, text, textLen, extraData, extraLen, settings, queryParams, waitEnd,
                            true);
                    if (st.kind == SqlStatement.Kind.USE && st.useDatabase != null) {
                        s.conn.setCurrentDatabase(st.useDatabase);
                        home = st.useDatabase;
                    }
                    return n;
                } finally {
                    try {
                        s.conn.useDatabase(home);
                    } catch (RuntimeException e) {
                        s.conn.markBroken();
                    }
                }
            } finally {
                sessions.release(s);
            }
        }
        if (st.kind == SqlStatement.Kind.SET || st.kind == SqlStatement.Kind.USE) {
            // Without a session a server applies SET/USE to this one query's context, which then ends:
            // nothing to run, and nothing may reach a pooled connection.
            sendEmpty(r, 0, 0);
            return 0;
        }
        ConnectionPool p = readonlyRequest ? readonlyPool : pool;
        ChdbConnection c = p.acquire(config.queueTimeout());
        try {
            c.useDatabase(database == null || database.isEmpty() ? "default" : database);
            return execute(r, c, st, text, textLen, extraData, extraLen, settings, queryParams, waitEnd, false);
        } finally {
            p.release(c);
        }
    }

    private Duration sessionTimeout(String v) {
        if (v == null || v.isEmpty()) {
            return config.defaultSessionTimeout();
        }
        long s;
        try {
            s = Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw ChdbException.of(ChdbException.INVALID_SESSION_TIMEOUT, "INVALID_SESSION_TIMEOUT",
                    "Invalid session timeout: '" + v + "'");
        }
        if (s <= 0 || s > config.maxSessionTimeout().toSeconds()) {
            throw ChdbException.of(ChdbException.INVALID_SESSION_TIMEOUT, "INVALID_SESSION_TIMEOUT",
                    "Session timeout '" + v + "' is larger than max_session_timeout: "
                            + config.maxSessionTimeout().toSeconds()
                            + ". Maximum session timeout could be modified in configuration file");
        }
        return Duration.ofSeconds(s);
    }

    /** Applies URL settings, runs the statement, restores the settings. */
    private long execute(Req r, ChdbConnection c, SqlStatement st, byte[] text, int textLen, byte[] extra,
                         int extraLen, Map<String, String> settings, Map<String, String> params, boolean waitEnd,
                         boolean session) throws IOException {
        Map<String, String> restore = null;
        if (!settings.isEmpty()) {
            restore = applySettings(c, settings, session);
        }
        try {
            if (st.kind == SqlStatement.Kind.INSERT && st.hasInlineData()) {
                r.kind = "insert";
                return insert(r, c, st, text, textLen, extra, extraLen, params);
            }
            byte[] sql = java.util.Arrays.copyOfRange(text, st.start, textLen);
            if (st.streamable()) {
                return select(r, c, sql, params, waitEnd);
            }
            r.kind = st.kind == SqlStatement.Kind.OTHER ? st.keyword.toLowerCase(Locale.ROOT) : r.kind;
            ChdbConnection.Result res = c.query(sql, r.format, params);
            sendResult(r, res.data(), res.rowsRead(), res.bytesRead(), res.rowsWritten(), res.bytesWritten());
            if (res.rowsWritten() > 0) {
                insertedRows.increment(res.rowsWritten());
            }
            return Math.max(res.rowsRead(), res.rowsWritten());
        } finally {
            if (restore != null) {
                restoreSettings(c, restore);
            }
        }
    }

    /** SET the request's settings; returns how to restore them afterwards. */
    private Map<String, String> applySettings(ChdbConnection c, Map<String, String> settings, boolean session) {
        Map<String, String> restore = new LinkedHashMap<>();
        if (session) {
            // A session may have its own values (SET earlier in it): restore exactly those.
            StringBuilder q = new StringBuilder("SELECT name, value, changed FROM system.settings WHERE name IN (");
            int i = 0;
            for (String k : settings.keySet()) {
                q.append(i++ > 0 ? ", " : "").append(quote(k));
            }
            q.append(")");
            String rows = new String(c.query(q.toString(), "TSVRaw").data(), StandardCharsets.UTF_8);
            for (String line : rows.split("\n")) {
                String[] f = line.split("\t", -1);
                if (f.length == 3) {
                    restore.put(f[0], f[2].equals("1") ? f[1] : null);
                }
            }
        }
        StringBuilder set = new StringBuilder("SET ");
        int i = 0;
        for (var e : settings.entrySet()) {
            set.append(i++ > 0 ? ", " : "").append(e.getKey()).append(" = ").append(quote(e.getValue()));
            restore.putIfAbsent(e.getKey(), null);
        }
        try {
            c.query(set.toString(), "TSV");
        } catch (ChdbException e) {
            // Part of the SET may have applied before the failing setting.
            restoreSettings(c, restore);
            throw e;
        }
        return restore;
    }

    private void restoreSettings(ChdbConnection c, Map<String, String> restore) {
        StringBuilder set = new StringBuilder("SET ");
        int i = 0;
        for (var e : restore.entrySet()) {
            set.append(i++ > 0 ? ", " : "").append(e.getKey()).append(" = ")
                    .append(e.getValue() == null ? "DEFAULT" : quote(e.getValue()));
        }
        try {
            c.query(set.toString(), "TSV");
        } catch (RuntimeException e) {
            // Unknown names never applied; restore the rest one by one, and retire the connection if that fails.
            for (var en : restore.entrySet()) {
                try {
                    c.query("SET " + en.getKey() + " = " + (en.getValue() == null ? "DEFAULT" : quote(en.getValue())),
                            "TSV");
                } catch (ChdbException ex) {
                    if (ex.code() != ChdbException.UNKNOWN_SETTING) {
                        c.markBroken();
                    }
                } catch (RuntimeException ex) {
                    c.markBroken();
                }
            }
        }
    }

    static String quote(String v) {
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    private long insert(Req r, ChdbConnection c, SqlStatement st, byte[] text, int textLen, byte[] extra, int extraLen,
                        Map<String, String> params) throws IOException {
        int headEnd = st.insertHeadEnd;
        while (headEnd > st.start && Character.isWhitespace(text[headEnd - 1])) {
            headEnd--;
        }
        byte[] head = java.util.Arrays.copyOfRange(text, st.start, headEnd);
        int inlineStart = Math.min(st.dataStart, textLen);
        int inlineLen = textLen - inlineStart;
        ChdbConnection.Result res;
        try (ChdbConnection.InsertStream in = c.streamInsert(head, st.format, params)) {
            appendSlices(in, text, inlineStart, inlineLen);
            if (inlineLen > 0 && extraLen > 0) {
                in.append(new byte[] {'\n'}, 0, 1);
            }
            if (extra != null) {
                appendSlices(in, extra, 0, extraLen);
            }
            BodyStream bs = r.ex.stream();
            if (bs != null) {
                // The body as it arrives: gathered into pieces of a few hundred KiB, handed on as soon as
                // nothing more is waiting, so the engine parses while the client still sends.
                byte[] chunk;
                while ((chunk = take(bs)) != null) {
                    in.write(chunk, 0, chunk.length);
                    if (in.buffered() >= STREAM_APPEND_MIN && !bs.hasMore()) {
                        in.flush();
                    }
                }
            }
            res = in.done();
        } catch (ChdbException e) {
            if (e.code() != ChdbException.NO_DATA_TO_INSERT) {
                throw e;
            }
            // A server answers an INSERT without data with 200, and drivers send empty batches.
            res = new ChdbConnection.Result(new byte[0], 0, 0, 0, 0, 0);
        }
        insertedRows.increment(res.rowsWritten());
        sendEmpty(r, res.rowsWritten(), res.bytesWritten());
        return res.rowsWritten();
    }

    private static byte[] take(BodyStream bs) {
        try {
            return bs.take(RECEIVE_TIMEOUT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ChdbException.of(ChdbException.QUERY_WAS_CANCELLED, "QUERY_WAS_CANCELLED",
                    "Interrupted while receiving the request body");
        }
    }

    private static void appendSlices(ChdbConnection.InsertStream in, byte[] b, int off, int len) {
        final int slice = 1 << 20;
        while (len > 0) {
            int n = Math.min(slice, len);
            in.append(b, off, n);
            off += n;
            len -= n;
        }
    }

    private long select(Req r, ChdbConnection c, byte[] sql, Map<String, String> params, boolean waitEnd)
            throws IOException {
        r.kind = "select";
        OutputFormats.Join join = OutputFormats.join(r.format);
        if (join == OutputFormats.Join.WHOLE) {
            ChdbConnection.Result res = c.query(sql, r.format, params);
            sendResult(r, res.data(), res.rowsRead(), res.bytesRead(), 0, 0);
            return res.rowsRead();
        }
        ChdbConnection.QueryStream stream;
        try {
            stream = c.streamQuery(sql, r.format, params);
        } catch (ChdbException e) {
            if (e.code() == ChdbException.BAD_ARGUMENTS && e.getMessage().contains("Streaming query is not supported")) {
                // Refused before execution (e.g. a statement chDB does not stream): run it whole.
                ChdbConnection.Result res = c.query(sql, r.format, params);
                sendResult(r, res.data(), res.rowsRead(), res.bytesRead(), 0, 0);
                return res.rowsRead();
            }
            throw e;
        }
        long threshold = waitEnd ? config.maxBufferedResultBytes() : config.responseBufferBytes();
        Body body = new Body(r, threshold);
        OutputFormats.HeaderStripper strip = new OutputFormats.HeaderStripper(join);
        try (stream) {
            byte[] chunk;
            while (true) {
                try {
                    chunk = stream.next();
                } catch (ChdbException e) {
                    if (!body.committed()) {
                        throw e;
                    }
                    body.failMidStream(e);
                    log.info("event=query_failed_mid_stream query_id={} code={} bytes_sent={} error=\"{}\"", r.queryId,
                            e.code(), r.ex.response().bytesSent(), oneLine(e.getMessage()));
                    metrics.counter("vigil_clickhouse_errors", "code", String.valueOf(e.code())).increment();
                    return stream.rowsRead();
                }
                if (chunk == null) {
                    break;
                }
                body.write(strip.apply(chunk), stream.rowsRead(), stream.bytesRead());
            }
            body.finish(stream.rowsRead(), stream.bytesRead());
            return stream.rowsRead();
        }
    }

    // ---------------------------------------------------------------- responses

    private String summary(long readRows, long readBytes, long writtenRows, long writtenBytes, long resultRows,
                           long resultBytes, long elapsedNs) {
        return "{\"read_rows\":\"" + readRows + "\",\"read_bytes\":\"" + readBytes + "\",\"written_rows\":\""
                + writtenRows + "\",\"written_bytes\":\"" + writtenBytes + "\",\"total_rows_to_read\":\"0\","
                + "\"result_rows\":\"" + resultRows + "\",\"result_bytes\":\"" + resultBytes + "\",\"elapsed_ns\":\""
                + elapsedNs + "\"}";
    }

    private HttpHeaders okHeaders(Req r, long readRows, long readBytes, long writtenRows, long writtenBytes) {
        HttpHeaders h = r.baseHeaders();
        if (r.httpEncoding != null) {
            h.set(HttpHeaderNames.CONTENT_ENCODING, r.httpEncoding);
        }
        h.set("X-ClickHouse-Format", r.format);
        h.set(HttpHeaderNames.CONTENT_TYPE, OutputFormats.contentType(r.format));
        h.set("X-ClickHouse-Summary", summary(readRows, readBytes, writtenRows, writtenBytes,
                writtenRows > 0 ? writtenRows : readRows, writtenRows > 0 ? writtenBytes : readBytes,
                System.nanoTime() - r.startNanos));
        return h;
    }

    private void sendEmpty(Req r, long writtenRows, long writtenBytes) throws IOException {
        sendResult(r, new byte[0], 0, 0, writtenRows, writtenBytes);
    }

    private void sendResult(Req r, byte[] data, long readRows, long readBytes, long writtenRows, long writtenBytes)
            throws IOException {
        HttpHeaders h = okHeaders(r, readRows, readBytes, writtenRows, writtenBytes);
        byte[] out = encodeWhole(r, h, data);
        r.ex.response().sendFull(HttpResponseStatus.OK, h, out, false);
    }

    private void sendText(Req r, HttpResponseStatus status, String text) {
        HttpHeaders h = r.baseHeaders();
        h.set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=UTF-8");
        r.ex.response().sendFull(status, h, text.getBytes(StandardCharsets.UTF_8), false);
    }

    /** Encodes a whole body: ClickHouse block compression (compress=1), then HTTP Content-Encoding. */
    private byte[] encodeWhole(Req r, HttpHeaders h, byte[] data) throws IOException {
        if (!r.compress && r.httpEncoding == null) {
            return data;
        }
        ByteArrayOutputStream bos = new ByteArrayOutputStream(data.length / 2 + 64);
        try (OutputStream os = encoder(r, h, bos)) {
            os.write(data);
        }
        return bos.toByteArray();
    }

    /** The encoding chain in front of {@code sink}; sets Content-Encoding on {@code h}. */
    private OutputStream encoder(Req r, HttpHeaders h, OutputStream sink) throws IOException {
        OutputStream os = sink;
        if (r.httpEncoding != null) {
            h.set(HttpHeaderNames.CONTENT_ENCODING, r.httpEncoding);
            os = switch (r.httpEncoding) {
                case "gzip" -> new GZIPOutputStream(os, 64 * 1024, true);
                case "deflate" -> new DeflaterOutputStream(os, new java.util.zip.Deflater(), 64 * 1024, true);
                case "lz4" -> new LZ4FrameOutputStream(os);
                default -> os;
            };
        }
        if (r.compress) {
            os = new CompressedBlocks.Output(os, CompressedBlocks.BLOCK_SIZE);
        }
        return os;
    }

    /**
     * A result body that is held back until it exceeds a threshold (so errors before that still get a
     * proper status), then streamed chunked. An error after the status went out is written in-band as
     * ClickHouse does ({@code __exception__} block with the response's exception tag), and the connection
     * is closed without the final chunk.
     */
    private final class Body {
        private final Req r;
        private final long threshold;
        private final List<byte[]> pending = new ArrayList<>();
        private long pendingBytes;
        private OutputStream out;

        Body(Req r, long threshold) {
            this.r = r;
            this.threshold = threshold;
        }

        boolean committed() {
            return out != null;
        }

        void write(byte[] b, long rows, long bytes) throws IOException {
            if (b.length == 0) {
                return;
            }
            if (out == null) {
                pending.add(b);
                pendingBytes += b.length;
                if (pendingBytes > threshold) {
                    commit(rows, bytes);
                }
                return;
            }
            out.write(b);
            if (r.ex.response().clientGone()) {
                throw new ResponseChannel.ClientGoneException();
            }
        }

        private void commit(long rows, long bytes) throws IOException {
            HttpHeaders h = okHeaders(r, rows, bytes, 0, 0);
            r.ex.response().begin(HttpResponseStatus.OK, h);
            OutputStream sink = new java.io.BufferedOutputStream(r.ex.response().asStream(), 64 * 1024);
            out = encoder(r, h, sink);
            for (byte[] p : pending) {
                out.write(p);
            }
            pending.clear();
        }

        void finish(long rows, long bytes) throws IOException {
            if (out == null) {
                ByteArrayOutputStream all = new ByteArrayOutputStream((int) Math.min(pendingBytes, Integer.MAX_VALUE - 8));
                for (byte[] p : pending) {
                    all.write(p);
                }
                sendResult(r, all.toByteArray(), rows, bytes, 0, 0);
                return;
            }
            out.close();
            r.ex.response().end();
        }

        void failMidStream(ChdbException e) throws IOException {
            String msg = e.getMessage() + "\n";
            byte[] m = msg.getBytes(StandardCharsets.UTF_8);
            String block = "\r\n__exception__\r\n" + r.tag + "\r\n" + msg + m.length + " " + r.tag
                    + "\r\n__exception__\r\n";
            try {
                out.write(block.getBytes(StandardCharsets.UTF_8));
                out.close();
            } finally {
                r.ex.response().abort();
            }
        }
    }

    private void sendError(Req r, ChdbException e) {
        ResponseChannel rc = r.ex.response();
        if (rc.isStarted()) {
            if (!rc.isDone()) {
                rc.abort();
            }
            return;
        }
        HttpResponseStatus status = status(e.code());
        HttpHeaders h = r.baseHeaders();
        h.set("X-ClickHouse-Exception-Code", String.valueOf(e.code()));
        h.set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=UTF-8");
        byte[] text = (e.getMessage() + "\n").getBytes(StandardCharsets.UTF_8);
        boolean authError = status.code() == 401 || status.code() == 403;
        byte[] body = text;
        if (!authError) {
            try {
                body = encodeWhole(r, h, text);
            } catch (IOException io) {
                body = text;
            }
        }
        // After a body we did not read to the end (too large), the connection cannot be reused.
        rc.sendFull(status, h, body, r.ex.bodyTooLarge());
    }

    /** ClickHouse's mapping of error codes to HTTP statuses. */
    static HttpResponseStatus status(int code) {
        return switch (code) {
            case 194 -> HttpResponseStatus.UNAUTHORIZED; // REQUIRED_PASSWORD
            // UNKNOWN_USER, WRONG_PASSWORD, AUTHENTICATION_FAILED, SET_NON_GRANTED_ROLE
            case 192, 193, 516, 512 -> HttpResponseStatus.FORBIDDEN;
            // BAD_ARGUMENTS, CANNOT_COMPILE_REGEXP, CANNOT_PARSE_*, DUPLICATE_COLUMN, ILLEGAL_COLUMN,
            // UNKNOWN_ELEMENT_IN_AST, UNKNOWN_TYPE_OF_AST_NODE, THERE_IS_NO_COLUMN, TOO_DEEP_AST, TOO_BIG_AST,
            // UNEXPECTED_AST_STRUCTURE, SYNTAX_ERROR, INCORRECT_DATA, TYPE_MISMATCH, VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
            case 36, 427, 6, 25, 26, 38, 41, 72, 441, 675, 676, 27, 376, 15, 44, 37, 123, 8, 167, 168, 223, 62, 117,
                 53, 321 -> HttpResponseStatus.BAD_REQUEST;
            // UNKNOWN_TABLE, _FUNCTION, _IDENTIFIER, _TYPE, _STORAGE, _DATABASE, _SETTING, _DIRECTION_OF_SORTING,
            // _AGGREGATE_FUNCTION, _FORMAT, _DATABASE_ENGINE, _TYPE_OF_QUERY, _ROLE
            case 60, 46, 47, 50, 56, 81, 115, 152, 63, 73, 336, 78, 511 -> HttpResponseStatus.NOT_FOUND;
            case 229 -> HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE; // QUERY_IS_TOO_LARGE
            case 48 -> HttpResponseStatus.NOT_IMPLEMENTED;
            // SOCKET_TIMEOUT, CANNOT_OPEN_FILE, CANNOT_SCHEDULE_TASK, and (embedded) TOO_MANY_SIMULTANEOUS_QUERIES
            case 209, 76, 439, 202 -> HttpResponseStatus.SERVICE_UNAVAILABLE;
            case 381 -> HttpResponseStatus.LENGTH_REQUIRED;
            case 159 -> HttpResponseStatus.REQUEST_TIMEOUT; // TIMEOUT_EXCEEDED
            default -> HttpResponseStatus.INTERNAL_SERVER_ERROR;
        };
    }

    // ---------------------------------------------------------------- auth and body decoding

    private ServerConfig.User authenticate(Req r) {
        HttpHeaders hs = r.ex.request().headers();
        String user = hs.get("X-ClickHouse-User");
        String password = hs.get("X-ClickHouse-Key");
        String auth = hs.get(HttpHeaderNames.AUTHORIZATION);
        boolean paramAuth = r.params.containsKey("user") || r.params.containsKey("password");
        if (user != null || password != null) {
            if (auth != null || paramAuth) {
                throw ChdbException.of(ChdbException.AUTHENTICATION_FAILED, "AUTHENTICATION_FAILED",
                        "Invalid authentication: it is not allowed to use X-ClickHouse HTTP headers and other "
                                + "authentication methods simultaneously");
            }
        } else if (auth != null) {
            if (paramAuth) {
                throw ChdbException.of(ChdbException.AUTHENTICATION_FAILED, "AUTHENTICATION_FAILED",
                        "Invalid authentication: it is not allowed to use Authorization HTTP header and "
                                + "authentication via parameters simultaneously");
            }
            int sp = auth.indexOf(' ');
            String scheme = sp < 0 ? auth : auth.substring(0, sp);
            if (!scheme.equalsIgnoreCase("Basic")) {
                throw ChdbException.of(ChdbException.AUTHENTICATION_FAILED, "AUTHENTICATION_FAILED",
                        "Invalid authentication: '" + scheme + "' HTTP Authorization scheme is not supported");
            }
            String decoded;
            try {
                decoded = new String(Base64.getDecoder().decode(auth.substring(sp + 1).trim()), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw ChdbException.of(ChdbException.AUTHENTICATION_FAILED, "AUTHENTICATION_FAILED",
                        "Invalid authentication: malformed Basic credentials");
            }
            int colon = decoded.indexOf(':');
            user = colon < 0 ? decoded : decoded.substring(0, colon);
            password = colon < 0 ? "" : decoded.substring(colon + 1);
        } else {
            user = r.params.get("user");
            password = r.params.get("password");
        }
        if (user == null || user.isEmpty()) {
            user = "default";
        }
        if (password == null) {
            password = "";
        }
        ServerConfig.User u = users.get(user);
        if (u == null || !MessageDigest.isEqual(u.password().getBytes(StandardCharsets.UTF_8),
                password.getBytes(StandardCharsets.UTF_8))) {
            r.user = user;
            throw ChdbException.of(ChdbException.AUTHENTICATION_FAILED, "AUTHENTICATION_FAILED",
                    user + ": Authentication failed: password is incorrect, or there is no user with such name");
        }
        // Response compression negotiated via HTTP (enable_http_compression=1 + Accept-Encoding).
        if ("1".equals(r.params.get("enable_http_compression"))) {
            String accept = hs.get(HttpHeaderNames.ACCEPT_ENCODING, "").toLowerCase(Locale.ROOT);
            if (accept.contains("gzip")) {
                r.httpEncoding = "gzip";
            } else if (accept.contains("deflate")) {
                r.httpEncoding = "deflate";
            } else if (accept.contains("lz4")) {
                r.httpEncoding = "lz4";
            }
        }
        return u;
    }

    private byte[] decodeBody(Req r, byte[] body, int len) {
        byte[] out = body;
        int outLen = len;
        String enc = r.ex.request().headers().get(HttpHeaderNames.CONTENT_ENCODING);
        if (enc != null && !enc.isBlank() && !enc.equalsIgnoreCase("identity")) {
            String e = enc.trim().toLowerCase(Locale.ROOT);
            try (InputStream in = switch (e) {
                case "gzip", "x-gzip" -> new GZIPInputStream(new ByteArrayInputStream(body, 0, len), 64 * 1024);
                case "deflate" -> new InflaterInputStream(new ByteArrayInputStream(body, 0, len));
                case "lz4" -> new LZ4FrameInputStream(new ByteArrayInputStream(body, 0, len));
                default -> throw ChdbException.of(ChdbException.UNKNOWN_COMPRESSION_METHOD,
                        "UNKNOWN_COMPRESSION_METHOD", "Unknown HTTP Content-Encoding '" + enc
                                + "'; the embedded server supports gzip, deflate and lz4");
            }) {
                ByteArrayOutputStream bos = new ByteArrayOutputStream(len * 4);
                byte[] buf = new byte[64 * 1024];
                int n;
                while ((n = in.read(buf)) > 0) {
                    bos.write(buf, 0, n);
                    if (bos.size() > config.maxBodyBytes()) {
                        throw ChdbException.of(ChdbException.QUERY_IS_TOO_LARGE_CODE, "QUERY_IS_TOO_LARGE",
                                "Decompressed request body exceeds the embedded server's limit of "
                                        + config.maxBodyBytes() + " bytes");
                    }
                }
                out = bos.toByteArray();
                outLen = out.length;
            } catch (IOException ex) {
                throw ChdbException.of(ChdbException.CANNOT_DECOMPRESS, "CANNOT_DECOMPRESS",
                        "Cannot decompress request body with Content-Encoding " + enc + ": " + ex.getMessage());
            }
        }
        if ("1".equals(r.params.get("decompress"))) {
            out = CompressedBlocks.decode(out, 0, outLen);
        } else if (out != body && outLen != out.length) {
            out = java.util.Arrays.copyOf(out, outLen);
        }
        return out;
    }
}
