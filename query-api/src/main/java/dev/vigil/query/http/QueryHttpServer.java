package dev.vigil.query.http;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.http.Responses;
import dev.vigil.common.http.Route;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
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

/**
 * The query API's HTTP server: like common's SimpleHttpServer (path/prefix routes on a bounded
 * worker pool, keep-alive) plus what queries need: the request's connection is visible to handlers
 * ({@link RequestScope}) so a query is canceled when its client goes away, no read timeout while a
 * long query runs, and gzip for large JSON answers.
 */
public final class QueryHttpServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QueryHttpServer.class);

    private record Mount(String prefix, boolean exact, Route route) {
    }

    private final List<Mount> mounts = new ArrayList<>();
    private final int maxBodyBytes;
    private final ExecutorService workers;
    private EventLoopGroup group;
    private Channel channel;

    public QueryHttpServer(int maxBodyBytes, int workerThreads, int queueSize) {
        this.maxBodyBytes = maxBodyBytes;
        this.workers = new ThreadPoolExecutor(workerThreads, workerThreads, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(queueSize), Thread.ofPlatform().name("query-worker-", 0).factory());
    }

    public QueryHttpServer route(String path, Route route) {
        mounts.add(new Mount(path, true, route));
        return this;
    }

    public QueryHttpServer prefix(String prefix, Route route) {
        mounts.add(new Mount(prefix, false, route));
        return this;
    }

    public QueryHttpServer start(String host, int port) throws InterruptedException {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline()
                                .addLast(new HttpServerCodec(16384, 16384, 65536))
                                .addLast(new HttpServerKeepAliveHandler())
                                .addLast(new HttpContentCompressor(6, 15, 8, 4096))
                                .addLast(new HttpObjectAggregator(maxBodyBytes))
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
            String path = new QueryStringDecoder(req.uri()).path();
            Mount m = find(path);
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (m == null) {
                write(ctx, Responses.text(HttpResponseStatus.NOT_FOUND, "no route for " + path + "\n"), keepAlive);
                return;
            }
            req.retain();
            try {
                workers.execute(() -> {
                    FullHttpResponse resp;
                    RequestScope.set(ctx.channel());
                    try {
                        resp = m.route.handle(req, path);
                    } catch (Exception e) {
                        log.warn("request failed path={} error={}", path, e.toString());
                        resp = Responses.text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error: " + e.getMessage() + "\n");
                    } finally {
                        RequestScope.clear();
                        req.release();
                    }
                    FullHttpResponse r = resp;
                    if (!ctx.channel().isActive()) {
                        r.release();
                        return;
                    }
                    ctx.executor().execute(() -> write(ctx, r, keepAlive));
                });
            } catch (RejectedExecutionException e) {
                req.release();
                FullHttpResponse busy = Responses.json(HttpResponseStatus.SERVICE_UNAVAILABLE,
                        java.util.Map.of("status", "error", "errorType", "unavailable", "error", "server busy, retry later"));
                busy.headers().set("Retry-After", "1");
                write(ctx, busy, keepAlive);
            }
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
