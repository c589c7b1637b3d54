package dev.vigil.gateway;

import java.io.File;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.auth.ApiKeys;
import dev.vigil.common.config.Config;
import dev.vigil.common.config.ConfigException;
import dev.vigil.common.service.Health;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * The gateway's HTTP/1.1 front: a Netty pipeline with its own request assembly so that size
 * limits, the global in-flight byte budget and authentication are enforced while the body
 * arrives (not after buffering it), responses stay in request order under pipelining, and
 * slow clients are cut off. Complete requests go to a bounded worker pool; nothing that can
 * block (a Kafka send) ever runs on an event-loop thread.
 */
public final class IngestServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(IngestServer.class);

    private final ApiKeys apiKeys;
    private final GatewayConfig.Limits limits;
    private final GatewayMetrics metrics;
    private final InflightBudget budget;
    private final RequestProcessor processor;
    private final Health health;
    private final Map<String, Endpoint> endpoints;
    private final ThreadPoolExecutor workers;
    private final long readTimeoutMillis;
    private final int idleSeconds;
    private final int maxInitialLine;
    private final int maxHeader;
    private final SslContext ssl;
    private final AtomicInteger activeRequests = new AtomicInteger();
    private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private volatile boolean draining;
    private EventLoopGroup group;
    private Channel serverChannel;

    public IngestServer(Config c, ApiKeys apiKeys, GatewayMetrics metrics, InflightBudget budget, RequestProcessor processor,
                        Health health, Map<String, Endpoint> endpoints) {
        this.apiKeys = apiKeys;
        this.limits = GatewayConfig.Limits.of(c);
        this.metrics = metrics;
        this.budget = budget;
        this.processor = processor;
        this.health = health;
        this.endpoints = endpoints;
        int n = c.get(GatewayConfig.WORKER_THREADS);
        this.workers = new ThreadPoolExecutor(n, n, 60, TimeUnit.SECONDS, new ArrayBlockingQueue<>(c.get(GatewayConfig.WORKER_QUEUE)),
                Thread.ofPlatform().name("gateway-worker-", 0).factory(), new ThreadPoolExecutor.AbortPolicy());
        this.readTimeoutMillis = c.get(GatewayConfig.READ_TIMEOUT).toMillis();
        this.idleSeconds = (int) Math.max(1, c.get(GatewayConfig.IDLE_TIMEOUT).toSeconds());
        this.maxInitialLine = c.get(GatewayConfig.MAX_INITIAL_LINE);
        this.maxHeader = c.get(GatewayConfig.MAX_HEADER_SIZE);
        this.ssl = sslContext(c.get(GatewayConfig.TLS_CERT), c.get(GatewayConfig.TLS_KEY));
        this.ioThreads = c.get(GatewayConfig.IO_THREADS);
    }

    private final int ioThreads;

    static SslContext sslContext(String cert, String key) {
        if (cert.isBlank() && key.isBlank()) {
            return null;
        }
        if (cert.isBlank() || key.isBlank()) {
            throw new ConfigException("config key gateway.tls.cert-file and gateway.tls.key-file must be set together");
        }
        try {
            return SslContextBuilder.forServer(new File(cert), new File(key)).build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new ConfigException("config key gateway.tls.cert-file/gateway.tls.key-file: cannot load TLS material: " + e.getMessage());
        }
    }

    public IngestServer start(String host, int port) throws InterruptedException {
        group = new MultiThreadIoEventLoopGroup(ioThreads, NioIoHandler.newFactory());
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        channels.add(ch);
                        Conn conn = new Conn();
                        if (ssl != null) {
                            ch.pipeline().addLast(ssl.newHandler(ch.alloc()));
                        }
                        ch.pipeline()
                                .addLast(new IdleStateHandler(0, 0, idleSeconds))
                                .addLast(new FirstByteWatcher(conn))
                                .addLast(new StrictRequestDecoder(new HttpDecoderConfig()
                                        .setMaxInitialLineLength(maxInitialLine)
                                        .setMaxHeaderSize(maxHeader)
                                        .setMaxChunkSize(65536)))
                                .addLast(new HttpResponseEncoder())
                                .addLast(new Handler(conn));
                    }
                });
        serverChannel = b.bind(host, port).sync().channel();
        log.info("ingest server listening address={} tls={}", address(), ssl != null);
        return this;
    }

    public String address() {
        InetSocketAddress a = (InetSocketAddress) serverChannel.localAddress();
        return (ssl != null ? "https://" : "http://") + a.getHostString() + ":" + a.getPort();
    }

    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    public int activeRequests() {
        return activeRequests.get();
    }

    /** Stops accepting, lets in-flight requests finish (up to {@code graceMillis}), then closes everything. */
    public void shutdown(long graceMillis) {
        draining = true;
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
        }
        long deadline = System.currentTimeMillis() + graceMillis;
        while (activeRequests.get() > 0 && System.currentTimeMillis() < deadline) {
            sleep(20);
        }
        if (activeRequests.get() > 0) {
            log.warn("ingest server shutdown grace expired active_requests={}", activeRequests.get());
        }
        channels.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        workers.shutdown();
        try {
            workers.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Override
    public void close() {
        shutdown(0);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A request decoder that refuses (instead of silently repairing) Content-Length together with Transfer-Encoding. */
    static final class StrictRequestDecoder extends HttpRequestDecoder {
        StrictRequestDecoder(HttpDecoderConfig cfg) {
            super(cfg);
        }

        @Override
        protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
            throw new ConflictingLengthException();
        }
    }

    static final class ConflictingLengthException extends RuntimeException {
        ConflictingLengthException() {
            super("both Content-Length and Transfer-Encoding given", null, false, false);
        }
    }

    /** Per-connection state shared by the handlers of one channel (all on its event loop). */
    private static final class Conn {
        ScheduledFuture<?> deadline;
        boolean requestOpen;
    }

    /** Starts the read deadline at the first byte of a request (before the decoder: headers count too). */
    private final class FirstByteWatcher extends ChannelInboundHandlerAdapter {
        private final Conn conn;

        FirstByteWatcher(Conn conn) {
            this.conn = conn;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (conn.deadline == null) {
                conn.deadline = ctx.executor().schedule(() -> {
                    conn.deadline = null;
                    Handler h = ctx.pipeline().get(Handler.class);
                    if (h != null) {
                        h.readTimeout(ctx.pipeline().context(h));
                    }
                }, readTimeoutMillis, TimeUnit.MILLISECONDS);
            }
            ctx.fireChannelRead(msg);
        }
    }

    /** One queued unit of work of a connection, answered strictly in arrival order. */
    private static final class Pending {
        final boolean keepAlive;
        final String endpoint;
        final String tenant;
        FullHttpResponse ready;      // a precomputed answer (errors, admin)
        IngestRequest request;       // or an ingest request for a worker
        long held;                   // budget bytes to release when answered
        boolean closeAfter;
        String admin;

        Pending(boolean keepAlive, String endpoint, String tenant) {
            this.keepAlive = keepAlive;
            this.endpoint = endpoint;
            this.tenant = tenant;
        }
    }

    private final class Handler extends ChannelDuplexHandler {
        private final Conn conn;
        private final ArrayDeque<Pending> queue = new ArrayDeque<>();
        private boolean busy;
        private boolean closed;
        // The request being received.
        private Pending cur;
        private HttpRequest curReq;
        private CompositeByteBuf body;
        private long held;
        private boolean discard;
        private long startNanos;

        Handler(Conn conn) {
            this.conn = conn;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest req) {
                    onHead(ctx, req);
                }
                if (msg instanceof HttpContent content) {
                    onContent(ctx, content);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void onHead(ChannelHandlerContext ctx, HttpRequest req) {
            startNanos = System.nanoTime();
            conn.requestOpen = true;
            curReq = req;
            discard = false;
            held = 0;
            if (req.decoderResult().isFailure()) {
                Throwable cause = req.decoderResult().cause();
                int status;
                String code;
                if (cause instanceof TooLongHttpLineException) {
                    status = 414;
                    code = "uri_too_long";
                } else if (cause instanceof TooLongHttpHeaderException) {
                    status = 431;
                    code = "headers_too_large";
                } else if (cause instanceof ConflictingLengthException) {
                    status = 400;
                    code = "conflicting_length";
                } else if (cause instanceof TooLongFrameException) {
                    status = 400;
                    code = "bad_request";
                } else {
                    status = 400;
                    code = "malformed_http";
                }
                String message = cause instanceof ConflictingLengthException
                        ? "request has both Content-Length and Transfer-Encoding; refused (request smuggling risk)"
                        : "malformed HTTP request: " + cause.getMessage();
                reject(ctx, "http", "unknown", new RequestException(status, code, message), null, true);
                return;
            }
            boolean keepAlive = HttpUtil.isKeepAlive(req) && !draining;
            String uri = req.uri();
            int q = uri.indexOf('?');
            String path = q < 0 ? uri : uri.substring(0, q);
            Endpoint ep = endpoints.get(path);
            if (ep == null) {
                if (req.method().equals(HttpMethod.GET) || req.method().equals(HttpMethod.HEAD)) {
                    String admin = adminRoute(path);
                    if (admin != null) {
                        cur = new Pending(keepAlive, "admin", "-");
                        cur.admin = admin;
                        discard = true;
                        return;
                    }
                }
                reject(ctx, "http", "unknown", new RequestException(404, "not_found", "no route for " + path), null, false);
                return;
            }
            if (!req.method().equals(HttpMethod.POST)) {
                reject(ctx, ep.name(), "unknown", new RequestException(405, "method_not_allowed", ep.name() + " accepts POST only"),
                        ep, false);
                return;
            }
            String tenant = apiKeys.tenantOfAuthorization(req.headers().get(HttpHeaderNames.AUTHORIZATION)).orElse(null);
            if (tenant == null) {
                boolean given = req.headers().contains(HttpHeaderNames.AUTHORIZATION);
                RequestException e = new RequestException(401, given ? "invalid_api_key" : "missing_api_key",
                        given ? "API key not recognised" : "missing Authorization: Bearer <api key>");
                reject(ctx, ep.name(), "unknown", e, ep, false);
                return;
            }
            long declared = HttpUtil.getContentLength(req, -1L);
            if (declared > limits.maxBody()) {
                reject(ctx, ep.name(), tenant, RequestException.tooLarge("body_too_large",
                        "body of " + declared + " bytes exceeds " + limits.maxBody()), ep, true);
                return;
            }
            if (!HttpUtil.isContentLengthSet(req) && !HttpUtil.isTransferEncodingChunked(req)) {
                declared = 0;
            }
            if (declared > 0 && !budget.tryAcquire(declared)) {
                reject(ctx, ep.name(), tenant, RequestException.overloaded("overloaded",
                        "gateway in-flight byte budget exhausted; retry later", 1), ep, false);
                return;
            }
            held = Math.max(0, declared);
            cur = new Pending(keepAlive, ep.name(), tenant);
            cur.request = null;
            body = ctx.alloc().compositeBuffer(1024);
            if (HttpUtil.is100ContinueExpected(req)) {
                ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
            }
            curEndpoint = ep;
        }

        private Endpoint curEndpoint;

        private void onContent(ChannelHandlerContext ctx, HttpContent content) {
            if (cur == null) {
                return;
            }
            if (content.decoderResult().isFailure()) {
                Pending p = cur;
                abortBody();
                reject(ctx, p.endpoint, p.tenant, new RequestException(400, "malformed_http",
                        "malformed HTTP body framing: " + content.decoderResult().cause().getMessage()), null, true);
                return;
            }
            if (!discard && body != null) {
                ByteBuf chunk = content.content();
                int n = chunk.readableBytes();
                if (n > 0) {
                    long size = body.readableBytes() + (long) n;
                    if (size > limits.maxBody()) {
                        Pending p = cur;
                        abortBody();
                        reject(ctx, p.endpoint, p.tenant, RequestException.tooLarge("body_too_large",
                                "body exceeds " + limits.maxBody() + " bytes"), curEndpoint, true);
                        return;
                    }
                    if (size > held) {
                        long extra = size - held;
                        if (!budget.tryAcquire(extra)) {
                            Pending p = cur;
                            abortBody();
                            reject(ctx, p.endpoint, p.tenant, RequestException.overloaded("overloaded",
                                    "gateway in-flight byte budget exhausted; retry later", 1), curEndpoint, true);
                            return;
                        }
                        held += extra;
                    }
                    body.addComponent(true, chunk.retain());
                }
            }
            if (content instanceof LastHttpContent) {
                Pending p = cur;
                cur = null;
                conn.requestOpen = false;
                if (conn.deadline != null) {
                    conn.deadline.cancel(false);
                    conn.deadline = null;
                }
                if (p.ready == null && p.admin == null) {
                    metrics.bytesReceived(p.endpoint, p.tenant, body.readableBytes());
                    p.request = new IngestRequest(curEndpoint, p.tenant, curReq.headers(), body, startNanos);
                    p.held = held;
                    body = null;
                    held = 0;
                }
                enqueue(ctx, p);
            }
        }

        private void abortBody() {
            if (body != null) {
                body.release();
                body = null;
            }
            budget.release(held);
            held = 0;
            cur = null;
        }

        /** Queues an error answer; the rest of the body is discarded (or the connection closed after it). */
        private void reject(ChannelHandlerContext ctx, String endpoint, String tenant, RequestException e, Endpoint ep, boolean close) {
            metrics.requestRejected(tenant, e.code());
            boolean keepAlive = curReq != null && HttpUtil.isKeepAlive(curReq) && !close && !draining;
            Pending p = new Pending(keepAlive, endpoint, tenant);
            p.ready = ep != null ? ep.error(curReq.headers(), e) : HttpReplies.jsonError(e);
            p.closeAfter = close || !keepAlive;
            if (close) {
                // Do not read the rest: answer now (in order) and close.
                cur = null;
                conn.requestOpen = false;
                enqueue(ctx, p);
                ctx.channel().config().setAutoRead(false);
                return;
            }
            cur = p;
            discard = true;
        }

        private void enqueue(ChannelHandlerContext ctx, Pending p) {
            queue.add(p);
            if (busy) {
                // Stop reading while a request is being processed: pipelined requests wait in the socket.
                ctx.channel().config().setAutoRead(false);
            } else {
                next(ctx);
            }
        }

        private void next(ChannelHandlerContext ctx) {
            Pending p = queue.poll();
            if (p == null) {
                busy = false;
                if (!closed) {
                    ctx.channel().config().setAutoRead(true);
                    ctx.read();
                }
                return;
            }
            busy = true;
            if (p.ready != null) {
                respond(ctx, p, p.ready);
                return;
            }
            if (p.admin != null) {
                try {
                    workers.execute(() -> {
                        FullHttpResponse r = adminResponse(p);
                        ctx.executor().execute(() -> respond(ctx, p, r));
                    });
                } catch (RejectedExecutionException e) {
                    respond(ctx, p, HttpReplies.text(503, "busy\n"));
                }
                return;
            }
            activeRequests.incrementAndGet();
            IngestRequest req = p.request;
            try {
                workers.execute(() -> processor.process(req, ctx.executor(), resp -> {
                    if (ctx.executor().inEventLoop()) {
                        finishIngest(ctx, p, resp);
                    } else {
                        ctx.executor().execute(() -> finishIngest(ctx, p, resp));
                    }
                }));
            } catch (RejectedExecutionException e) {
                RequestException ex = RequestException.overloaded("overloaded", "all gateway workers busy; retry later", 1);
                metrics.requestRejected(p.tenant, ex.code());
                finishIngest(ctx, p, req.endpoint().error(req.headers(), ex));
            }
        }

        private void finishIngest(ChannelHandlerContext ctx, Pending p, FullHttpResponse resp) {
            activeRequests.decrementAndGet();
            metrics.latency(p.endpoint, System.nanoTime() - p.request.startNanos());
            p.request.body().release();
            budget.release(p.held);
            p.held = 0;
            respond(ctx, p, resp);
        }

        private void respond(ChannelHandlerContext ctx, Pending p, FullHttpResponse resp) {
            metrics.request(p.endpoint, p.tenant, resp.status().code());
            if (closed) {
                resp.release();
                next(ctx);
                return;
            }
            boolean close = p.closeAfter || !p.keepAlive || draining;
            if (close) {
                resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            } else if (curReq != null && curReq.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
            var f = ctx.writeAndFlush(resp);
            if (close) {
                closed = true;
                f.addListener(ChannelFutureListener.CLOSE);
                // Answer (release) whatever else is queued without writing.
                Pending q;
                while ((q = queue.poll()) != null) {
                    if (q.ready != null) {
                        q.ready.release();
                    } else if (q.request != null) {
                        q.request.body().release();
                        budget.release(q.held);
                    }
                }
                busy = false;
                return;
            }
            next(ctx);
        }

        void readTimeout(ChannelHandlerContext ctx) {
            if (closed) {
                return;
            }
            log.info("request read timeout remote={} after_ms={}", ctx.channel().remoteAddress(), readTimeoutMillis);
            metrics.requestRejected(cur != null ? cur.tenant : "unknown", "read_timeout");
            if (body != null) {
                abortBody();
            }
            cur = null;
            conn.requestOpen = false;
            if (busy) {
                ctx.close();
                return;
            }
            Pending p = new Pending(false, "http", "unknown");
            p.closeAfter = true;
            enqueue(ctx, withReady(p, HttpReplies.jsonError(new RequestException(408, "request_timeout",
                    "request not received completely within " + readTimeoutMillis + " ms"))));
        }

        private Pending withReady(Pending p, FullHttpResponse r) {
            p.ready = r;
            return p;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent && !busy && cur == null && queue.isEmpty()) {
                ctx.close();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closed = true;
            if (body != null) {
                abortBody();
            }
            if (conn.deadline != null) {
                conn.deadline.cancel(false);
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("connection error remote={} error={}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    private static String adminRoute(String path) {
        return switch (path) {
            case "/metrics", "/health/live", "/health/ready" -> path;
            default -> null;
        };
    }

    private FullHttpResponse adminResponse(Pending p) {
        switch (p.admin) {
            case "/metrics" -> {
                return HttpReplies.bytes(200, "text/plain; version=0.0.4; charset=utf-8",
                        metrics.registry().scrape().getBytes(StandardCharsets.UTF_8));
            }
            case "/health/live" -> {
                return HttpReplies.json(200, Map.of("status", "live", "service", GatewayMain.SERVICE));
            }
            default -> {
                Map<String, Health.Check> checks = health.evaluate();
                boolean ok = checks.values().stream().allMatch(Health.Check::ok);
                Map<String, Object> b = new LinkedHashMap<>();
                b.put("status", ok ? "ready" : "not ready");
                b.put("service", GatewayMain.SERVICE);
                b.put("checks", checks);
                return HttpReplies.json(ok ? 200 : 503, b);
            }
        }
    }
}
