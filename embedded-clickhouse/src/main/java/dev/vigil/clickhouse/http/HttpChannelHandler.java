package dev.vigil.clickhouse.http;

import dev.vigil.clickhouse.engine.ChdbException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.net.InetSocketAddress;
import java.util.Arrays;

/**
 * Per-connection handler: collects one request's body (up to the configured maximum; an oversized body
 * is read and discarded so the client can read the error), then hands the request to a worker thread.
 * Reading pauses while a request is in flight and resumes when its response is done.
 */
final class HttpChannelHandler extends ChannelInboundHandlerAdapter {
    /** A complete request, ready for the service. */
    record Exchange(HttpRequest request, byte[] body, int bodyLength, boolean bodyTooLarge, long declaredLength,
                    ResponseChannel response, String remote, BodyStream stream) {
    }

    interface Dispatcher {
        long maxBodyBytes();

        /** Whether this request's body should be streamed to the worker as it arrives (an INSERT's data). */
        boolean streamBody(HttpRequest request);

        /** Runs the exchange on a worker; must end with the response finished. */
        void dispatch(Exchange exchange);
    }

    private final Dispatcher dispatcher;
    private HttpRequest request;
    private byte[] body;
    private int length;
    private long declared;
    private boolean tooLarge;
    private ResponseChannel current;
    /** The body of the request in progress, when it is streamed rather than collected. */
    private BodyStream stream;
    private long streamed;

    HttpChannelHandler(Dispatcher dispatcher) {
        this.dispatcher = dispatcher;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof HttpRequest req) {
                request = req;
                length = 0;
                tooLarge = false;
                declared = HttpUtil.getContentLength(req, -1L);
                long max = dispatcher.maxBodyBytes();
                stream = null;
                if (declared > max) {
                    tooLarge = true;
                    body = null;
                } else if (declared != 0 && dispatcher.streamBody(req)) {
                    // Dispatched now; the body follows through the stream while the engine consumes it.
                    body = null;
                    stream = new BodyStream(ctx.channel());
                    streamed = 0;
                    ResponseChannel rc = newResponse(ctx, req, false);
                    dispatcher.dispatch(new Exchange(req, null, 0, false, declared, rc, remote(ctx), stream));
                } else {
                    body = new byte[(int) Math.min(declared >= 0 ? declared : 64 * 1024, max)];
                }
            }
            if (msg instanceof HttpContent content && request != null && stream != null) {
                ByteBuf buf = content.content();
                int n = buf.readableBytes();
                if (n > 0) {
                    streamed += n;
                    if (streamed > dispatcher.maxBodyBytes()) {
                        stream.fail(ChdbException.of(ChdbException.QUERY_IS_TOO_LARGE_CODE, "QUERY_IS_TOO_LARGE",
                                "Request body exceeds the embedded server's limit of " + dispatcher.maxBodyBytes()
                                        + " bytes (" + dev.vigil.clickhouse.ServerConfig.MAX_BODY + ")"));
                    } else {
                        byte[] chunk = new byte[n];
                        buf.readBytes(chunk);
                        stream.offer(chunk);
                    }
                }
                if (msg instanceof LastHttpContent) {
                    request = null;
                    stream.end();
                    stream = null;
                    // Pause until the response is done (as for a collected body); if it already is
                    // (an early error), keep reading: the next request may follow.
                    ctx.channel().config().setAutoRead(current == null);
                }
            } else if (msg instanceof HttpContent content && request != null) {
                ByteBuf buf = content.content();
                int n = buf.readableBytes();
                if (!tooLarge && n > 0) {
                    long max = dispatcher.maxBodyBytes();
                    if ((long) length + n > max) {
                        tooLarge = true;
                        body = null;
                        declared = Math.max(declared, (long) length + n);
                    } else {
                        if (length + n > body.length) {
                            long cap = Math.min(max, Math.max((long) body.length * 2, (long) length + n));
                            body = Arrays.copyOf(body, (int) cap);
                        }
                        buf.readBytes(body, length, n);
                        length += n;
                    }
                } else if (tooLarge) {
                    declared = Math.max(declared, 0) + (declared < 0 ? n : 0);
                }
                if (msg instanceof LastHttpContent) {
                    HttpRequest req = request;
                    request = null;
                    ctx.channel().config().setAutoRead(false);
                    ResponseChannel rc = newResponse(ctx, req, tooLarge);
                    byte[] b = body;
                    body = null;
                    dispatcher.dispatch(new Exchange(req, b, length, tooLarge, declared, rc, remote(ctx), null));
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private ResponseChannel newResponse(ChannelHandlerContext ctx, HttpRequest req, boolean tooLarge) {
        ResponseChannel rc = new ResponseChannel(ctx.channel(), HttpUtil.isKeepAlive(req) && !tooLarge, () -> {
            current = null;
            // A streamed body may still be arriving after an early response: keep reading it (and
            // dropping it) in that case as well, so the connection stays usable.
            if (ctx.channel().isActive()) {
                ctx.channel().config().setAutoRead(true);
                ctx.read();
            }
        });
        current = rc;
        return rc;
    }

    private static String remote(ChannelHandlerContext ctx) {
        return ctx.channel().remoteAddress() instanceof InetSocketAddress a
                ? a.getAddress().getHostAddress() : String.valueOf(ctx.channel().remoteAddress());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        ResponseChannel rc = current;
        if (rc != null) {
            rc.writabilityChanged();
        }
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        failStream();
        ResponseChannel rc = current;
        if (rc != null) {
            rc.inactive();
        }
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failStream();
        ResponseChannel rc = current;
        if (rc != null) {
            rc.inactive();
        }
        ctx.close();
    }

    private void failStream() {
        if (stream != null) {
            stream.fail(ChdbException.of(ChdbException.NETWORK_ERROR, "NETWORK_ERROR",
                    "The client closed the connection before the end of the request body"));
            stream = null;
        }
    }
}
