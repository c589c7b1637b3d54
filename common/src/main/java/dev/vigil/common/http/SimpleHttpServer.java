package dev.vigil.common.http;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContentCompressor;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.timeout.ReadTimeoutHandler;

/**
 * A small Netty HTTP/1.1 server for the services' admin and JSON APIs: route by path prefix,
 * run handlers on a bounded worker pool (never on the event loop), keep-alive, read timeout.
 * {@link Options} covers what the query API needs on top (no read timeout while a long query
 * runs, gzip, the request's connection handed to its handler). The gateway's ingest path has
 * its own pipeline; this one is for everything else.
 */
public final class SimpleHttpServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SimpleHttpServer.class);

    /** Called on the worker thread around each request's handler (e.g. to expose its connection). */
    public interface RequestHook {
        void before(Channel connection);

        void after();
    }

    /** The answer the server gives by itself: no route, a malformed request, a full queue, a handler that failed. */
    @FunctionalInterface
    public interface ErrorBody {
        FullHttpResponse of(HttpResponseStatus status, String message);

        /** {@code {"error": message}}: the admin APIs' error shape. */
        ErrorBody JSON = (status, message) -> Responses.json(status, java.util.Map.of("error", message));
    }

    /**
     * How a server is set up.
     *
     * @param maxBodyBytes        largest request body (413 beyond it)
     * @param workerThreads       threads running the handlers
     * @param queueSize           requests waiting for a worker before the server answers 503
     * @param workerName          prefix of the worker threads' names
     * @param maxInitialLineBytes longest request line (URLs carry PromQL queries)
     * @param readTimeoutSeconds  closes a connection idle this long; 0 for none
     * @param gzip                compresses answers of 4 KiB and more for clients that accept it
     * @param hook                runs around each handler; null for none
     * @param errors              the body of the answers the server gives by itself (404, 400, 414, 431, 500, 503)
     */
    public record Options(int maxBodyBytes, int workerThreads, int queueSize, String workerName, int maxInitialLineBytes,
                          int readTimeoutSeconds, boolean gzip, RequestHook hook, ErrorBody errors) {
        /** The admin APIs' defaults: 1,024 queued requests, 8 KiB request lines, 60 s read timeout, no gzip, JSON errors. */
        public static Options of(int maxBodyBytes, int workerThreads) {
            return new Options(maxBodyBytes, workerThreads, 1024, "http-worker-", 8192, 60, false, null, ErrorBody.JSON);
        }
    }

    /** Largest request header block (431 beyond it). */
    static final int MAX_HEADER_BYTES = 16384;

    private record Mount(String prefix, boolean exact, Route route) {
    }

    private final List<Mount> mounts = new ArrayList<>();
    private final Options options;
    private final ExecutorService workers;
    private EventLoopGroup group;
    private Channel channel;

    public SimpleHttpServer(int maxBodyBytes, int workerThreads) {
        this(Options.of(maxBodyBytes, workerThreads));
    }

    public SimpleHttpServer(Options options) {
        this.options = options;
        this.workers = new java.util.concurrent.ThreadPoolExecutor(options.workerThreads(), options.workerThreads(), 60, TimeUnit.SECONDS,
                new java.util.concurrent.ArrayBlockingQueue<>(options.queueSize()), Thread.ofPlatform().name(options.workerName(), 0).factory());
    }

    /** Routes requests whose path equals {@code path}. */
    public SimpleHttpServer route(String path, Route route) {
        mounts.add(new Mount(path, true, route));
        return this;
    }

    /** Routes requests whose path starts with {@code prefix}. */
    public SimpleHttpServer prefix(String prefix, Route route) {
        mounts.add(new Mount(prefix, false, route));
        return this;
    }

    public SimpleHttpServer start(String host, int port) throws InterruptedException {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ChannelPipeline p = ch.pipeline();
                        if (options.readTimeoutSeconds() > 0) {
                            p.addLast(new ReadTimeoutHandler(options.readTimeoutSeconds()));
                        }
                        p.addLast(new HttpServerCodec(options.maxInitialLineBytes(), MAX_HEADER_BYTES, 65536))
                                .addLast(new HttpServerKeepAliveHandler());
                        if (options.gzip()) {
                            p.addLast(new HttpContentCompressor(6, 15, 8, 4096));
                        }
                        p.addLast(new HttpObjectAggregator(options.maxBodyBytes()))
                                .addLast(new Dispatcher());
                    }
                });
        channel = b.bind(host, port).sync().channel();
        return this;
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
        workers.shutdown();
        try {
            workers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private Mount find(String path) {
        Mount best = null;
        for (Mount m : mounts) {
            boolean match = m.exact ? path.equals(m.prefix) : path.startsWith(m.prefix);
            if (match && (best == null || m.prefix.length() > best.prefix.length())) {
                best = m;
            }
        }
        return best;
    }

    private final class Dispatcher extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            if (req.decoderResult().isFailure()) {
                // Netty hands on what it could not decode as a request for "/bad-request": answer what was wrong, and
                // close (the connection's framing cannot be trusted after it)
                write(ctx, malformed(req.decoderResult().cause()), false);
                return;
            }
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            String path;
            try {
                QueryStringDecoder uri = new QueryStringDecoder(req.uri());
                path = uri.path();
                uri.parameters(); // decodes every parameter now: a bad escape is the client's error, not the handler's
            } catch (IllegalArgumentException e) {
                write(ctx, options.errors().of(HttpResponseStatus.BAD_REQUEST, "malformed URL: " + e.getMessage()), keepAlive);
                return;
            }
            Mount m = find(path);
            if (m == null) {
                write(ctx, options.errors().of(HttpResponseStatus.NOT_FOUND, "no route for " + path), keepAlive);
                return;
            }
            req.retain();
            try {
                workers.execute(() -> {
                    FullHttpResponse resp;
                    RequestHook hook = options.hook();
                    if (hook != null) {
                        hook.before(ctx.channel());
                    }
                    try {
                        resp = m.route.handle(req, path);
                    } catch (Exception e) {
                        log.warn("request failed path={} error={}", path, e.toString());
                        resp = options.errors().of(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error: " + e.getMessage());
                    } finally {
                        if (hook != null) {
                            hook.after();
                        }
                        req.release();
                    }
                    FullHttpResponse r = resp;
                    if (!ctx.channel().isActive()) { // the client went away while its request ran
                        r.release();
                        return;
                    }
                    ctx.executor().execute(() -> write(ctx, r, keepAlive));
                });
            } catch (RejectedExecutionException e) {
                req.release();
                FullHttpResponse busy = options.errors().of(HttpResponseStatus.SERVICE_UNAVAILABLE, "server busy, retry later");
                busy.headers().set("Retry-After", "1");
                write(ctx, busy, keepAlive);
            }
        }

        private FullHttpResponse malformed(Throwable cause) {
            if (cause instanceof TooLongHttpLineException) {
                return options.errors().of(HttpResponseStatus.REQUEST_URI_TOO_LONG,
                        "request line (or a chunk-size line) longer than " + options.maxInitialLineBytes()
                                + " bytes (send a long query as a form-encoded POST body)");
            }
            if (cause instanceof TooLongHttpHeaderException) {
                return options.errors().of(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request headers longer than " + MAX_HEADER_BYTES + " bytes");
            }
            if (cause instanceof TooLongFrameException) {
                return options.errors().of(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request body larger than " + options.maxBodyBytes() + " bytes");
            }
            return options.errors().of(HttpResponseStatus.BAD_REQUEST, "malformed HTTP request: "
                    + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage()));
        }

        private void write(ChannelHandlerContext ctx, FullHttpResponse resp, boolean keepAlive) {
            HttpUtil.setKeepAlive(resp, keepAlive);
            var f = ctx.writeAndFlush(resp);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("connection error remote={} error={}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }
}
