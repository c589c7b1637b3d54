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
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.ReadTimeoutHandler;

/**
 * A small Netty HTTP/1.1 server for the services' admin and JSON APIs: route by path prefix,
 * run handlers on a bounded worker pool (never on the event loop), keep-alive, read timeout.
 * The gateway's ingest path has its own pipeline; this one is for everything else.
 */
public final class SimpleHttpServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SimpleHttpServer.class);

    private record Mount(String prefix, boolean exact, Route route) {
    }

    private final List<Mount> mounts = new ArrayList<>();
    private final int maxBodyBytes;
    private final ExecutorService workers;
    private EventLoopGroup group;
    private Channel channel;

    public SimpleHttpServer(int maxBodyBytes, int workerThreads) {
        this.maxBodyBytes = maxBodyBytes;
        this.workers = new java.util.concurrent.ThreadPoolExecutor(workerThreads, workerThreads, 60, TimeUnit.SECONDS,
                new java.util.concurrent.ArrayBlockingQueue<>(1024), Thread.ofPlatform().name("http-worker-", 0).factory());
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
                        ch.pipeline()
                                .addLast(new ReadTimeoutHandler(60))
                                .addLast(new HttpServerCodec(8192, 16384, 65536))
                                .addLast(new HttpServerKeepAliveHandler())
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
                    try {
                        resp = m.route.handle(req, path);
                    } catch (Exception e) {
                        log.warn("request failed path={} error={}", path, e.toString());
                        resp = Responses.text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error: " + e.getMessage() + "\n");
                    } finally {
                        req.release();
                    }
                    FullHttpResponse r = resp;
                    ctx.executor().execute(() -> write(ctx, r, keepAlive));
                });
            } catch (RejectedExecutionException e) {
                req.release();
                FullHttpResponse busy = Responses.text(HttpResponseStatus.SERVICE_UNAVAILABLE, "server busy, retry later\n");
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
