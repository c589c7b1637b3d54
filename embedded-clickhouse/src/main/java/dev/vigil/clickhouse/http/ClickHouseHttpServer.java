package dev.vigil.clickhouse.http;

import dev.vigil.clickhouse.ServerConfig;
import dev.vigil.clickhouse.engine.ChdbEngine;
import dev.vigil.clickhouse.engine.ConnectionPool;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The HTTP front: Netty accepts connections and reads requests; each complete request runs on a worker
 * thread (chDB calls block). Serves {@code /} (ClickHouse queries), {@code /ping},
 * {@code /replicas_status}, {@code /health/live}, {@code /health/ready} and {@code /metrics}.
 */
public final class ClickHouseHttpServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClickHouseHttpServer.class);

    private final ServerConfig config;
    private final ChdbEngine engine;
    private final PrometheusMeterRegistry registry;
    private final ConnectionPool pool;
    private final ConnectionPool readonlyPool;
    private final Sessions sessions;
    private final QueryHandler handler;
    private final ThreadPoolExecutor workers;
    private final ScheduledExecutorService reaper;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final java.util.concurrent.ConcurrentHashMap<String, io.micrometer.core.instrument.Counter> requestCounters =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final EventLoopGroup boss;
    private final EventLoopGroup io;
    private Channel serverChannel;
    private volatile boolean ready;
    private volatile boolean closing;

    public ClickHouseHttpServer(ServerConfig config, ChdbEngine engine, PrometheusMeterRegistry registry) {
        this.config = config;
        this.engine = engine;
        this.registry = registry;
        this.pool = new ConnectionPool(engine, "readwrite", config.poolSize(), null);
        this.readonlyPool = new ConnectionPool(engine, "readonly", config.readonlyPoolSize(), "SET readonly = 2");
        this.sessions = new Sessions(engine, config.maxSessions());
        String tz = new String(engine.adminQuery("SELECT timezone()", "TSVRaw").data(), StandardCharsets.UTF_8).trim();
        this.handler = new QueryHandler(config, pool, readonlyPool, sessions, tz, registry);
        int maxWorkers = config.poolSize() + config.readonlyPoolSize() + config.maxSessions() + 64;
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(0, maxWorkers, 60, TimeUnit.SECONDS, new SynchronousQueue<>(), r -> {
            Thread t = new Thread(r, "ch-worker-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.reaper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ch-session-reaper");
            t.setDaemon(true);
            return t;
        });
        this.boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        this.io = new MultiThreadIoEventLoopGroup(Math.max(2, Runtime.getRuntime().availableProcessors()),
                NioIoHandler.newFactory());
        Gauge.builder("vigil_clickhouse_pool_in_use", pool, ConnectionPool::inUse).tag("pool", "readwrite")
                .register(registry);
        Gauge.builder("vigil_clickhouse_pool_in_use", readonlyPool, ConnectionPool::inUse).tag("pool", "readonly")
                .register(registry);
        Gauge.builder("vigil_clickhouse_pool_size", pool, ConnectionPool::size).tag("pool", "readwrite")
                .register(registry);
        Gauge.builder("vigil_clickhouse_sessions", sessions, Sessions::count).register(registry);
        Gauge.builder("vigil_clickhouse_requests_in_flight", inFlight, AtomicInteger::get).register(registry);
    }

    /** Binds the port and starts serving. */
    public ClickHouseHttpServer start() throws InterruptedException {
        pool.prestart(Math.min(2, config.poolSize()));
        HttpChannelHandler.Dispatcher dispatcher = new HttpChannelHandler.Dispatcher() {
            @Override
            public long maxBodyBytes() {
                return config.maxBodyBytes();
            }

            @Override
            public boolean streamBody(io.netty.handler.codec.http.HttpRequest request) {
                return handler.streamBody(request);
            }

            @Override
            public void dispatch(HttpChannelHandler.Exchange ex) {
                ClickHouseHttpServer.this.dispatch(ex);
            }
        };
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, io)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1 << 20, 4 << 20))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(16 * 1024, 64 * 1024, 1 << 20));
                        ch.pipeline().addLast(new HttpServerExpectContinueHandler());
                        ch.pipeline().addLast(new HttpChannelHandler(dispatcher));
                    }
                });
        serverChannel = b.bind(config.host(), config.port()).sync().channel();
        reaper.scheduleWithFixedDelay(sessions::reap, 1, 1, TimeUnit.SECONDS);
        ready = true;
        log.info("event=server_started host={} port={} data_dir={} pool_size={} readonly_pool_size={} users={}",
                config.host(), port(), engine.dataDir(), config.poolSize(), config.readonlyPoolSize(), config.users());
        return this;
    }

    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    public boolean isReady() {
        return ready && !closing;
    }

    private void dispatch(HttpChannelHandler.Exchange ex) {
        inFlight.incrementAndGet();
        try {
            workers.execute(() -> {
                try {
                    route(ex);
                } catch (Throwable t) {
                    log.error("event=request_crashed error={}", t.toString(), t);
                    if (!ex.response().isStarted()) {
                        ex.response().sendFull(HttpResponseStatus.INTERNAL_SERVER_ERROR, new DefaultHttpHeaders(),
                                ("Code: 1001. DB::Exception: " + t + ". (STD_EXCEPTION)\n").getBytes(StandardCharsets.UTF_8),
                                true);
                    } else if (!ex.response().isDone()) {
                        ex.response().abort();
                    }
                } finally {
                    if (ex.stream() != null) {
                        ex.stream().discard();
                    }
                    inFlight.decrementAndGet();
                }
            });
        } catch (RejectedExecutionException e) {
            inFlight.decrementAndGet();
            if (ex.stream() != null) {
                ex.stream().discard();
            }
            HttpHeaders h = new DefaultHttpHeaders();
            h.set("X-ClickHouse-Exception-Code", "202");
            h.set(HttpHeaderNames.RETRY_AFTER, "1");
            ex.response().sendFull(HttpResponseStatus.SERVICE_UNAVAILABLE, h,
                    "Code: 202. DB::Exception: Too many simultaneous queries. (TOO_MANY_SIMULTANEOUS_QUERIES)\n"
                            .getBytes(StandardCharsets.UTF_8), true);
        }
    }

    private void route(HttpChannelHandler.Exchange ex) {
        String path = new QueryStringDecoder(ex.request().uri()).path();
        String status;
        switch (path) {
            case "/", "" -> {
                if (closing) {
                    HttpHeaders h = new DefaultHttpHeaders();
                    h.set("X-ClickHouse-Exception-Code", "202");
                    h.set(HttpHeaderNames.RETRY_AFTER, "1");
                    text(ex, HttpResponseStatus.SERVICE_UNAVAILABLE, h,
                            "Code: 202. DB::Exception: Server is shutting down. (TOO_MANY_SIMULTANEOUS_QUERIES)\n", true);
                    status = "503";
                } else {
                    handler.handle(ex);
                    status = "query";
                }
            }
            case "/ping", "/replicas_status" -> {
                text(ex, HttpResponseStatus.OK, new DefaultHttpHeaders(), "Ok.\n", false);
                status = "200";
            }
            case "/health/live" -> {
                text(ex, HttpResponseStatus.OK, new DefaultHttpHeaders(), "ok\n", false);
                status = "200";
            }
            case "/health/ready" -> {
                boolean ok = isReady();
                text(ex, ok ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, new DefaultHttpHeaders(),
                        ok ? "ready\n" : "not ready\n", false);
                status = ok ? "200" : "503";
            }
            case "/metrics" -> {
                HttpHeaders h = new DefaultHttpHeaders();
                h.set(HttpHeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                ex.response().sendFull(HttpResponseStatus.OK, h, registry.scrape().getBytes(StandardCharsets.UTF_8),
                        false);
                status = "200";
            }
            default -> {
                text(ex, HttpResponseStatus.NOT_FOUND, new DefaultHttpHeaders(), "There is no handle " + path
                        + "\n\nUse / or /ping for health checks.\nOr /replicas_status for more sophisticated health checks.\n",
                        false);
                status = "404";
            }
        }
        String mp = metricPath(path);
        requestCounters.computeIfAbsent(mp + ' ' + status,
                k -> registry.counter("vigil_clickhouse_http_requests", "path", mp, "result", status)).increment();
    }

    private static String metricPath(String p) {
        return switch (p) {
            case "/", "", "/ping", "/replicas_status", "/health/live", "/health/ready", "/metrics" -> p.isEmpty() ? "/" : p;
            default -> "other";
        };
    }

    private static void text(HttpChannelHandler.Exchange ex, HttpResponseStatus st, HttpHeaders h, String body,
                             boolean close) {
        h.set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=UTF-8");
        ex.response().sendFull(st, h, body.getBytes(StandardCharsets.UTF_8), close);
    }

    /**
     * Graceful stop: refuse new queries (503), stop accepting connections, let in-flight requests finish
     * (up to the shutdown grace), then close sessions and pooled connections. The engine itself is left to
     * its owner.
     */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        long t0 = System.nanoTime();
        Duration grace = config.shutdownGrace();
        log.info("event=server_stopping in_flight={} grace_ms={}", inFlight.get(), grace.toMillis());
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
        }
        long deadline = System.nanoTime() + grace.toNanos();
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int abandoned = inFlight.get();
        reaper.shutdownNow();
        Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
        sessions.closeAll(left);
        pool.close(left);
        readonlyPool.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        workers.shutdown();
        io.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        log.info("event=server_stopped took_ms={} abandoned_requests={}", (System.nanoTime() - t0) / 1_000_000,
                abandoned);
    }
}
