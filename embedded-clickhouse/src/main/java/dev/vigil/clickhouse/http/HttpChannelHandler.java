package dev.vigil.clickhouse.http;

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
                    ResponseChannel response, String remote) {
    }

    interface Dispatcher {
        long maxBodyBytes();

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
                if (declared > max) {
                    tooLarge = true;
                    body = null;
                } else {
                    body = new byte[(int) Math.min(declared >= 0 ? declared : 64 * 1024, max)];
                }
            }
            if (msg instanceof HttpContent content && request != null) {
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
                    ResponseChannel rc = new ResponseChannel(ctx.channel(), HttpUtil.isKeepAlive(req) && !tooLarge,
                            () -> {
                                current = null;
                                if (ctx.channel().isActive()) {
                                    ctx.channel().config().setAutoRead(true);
                                    ctx.read();
                                }
                            });
                    current = rc;
                    String remote = ctx.channel().remoteAddress() instanceof InetSocketAddress a
                            ? a.getAddress().getHostAddress() : String.valueOf(ctx.channel().remoteAddress());
                    byte[] b = body;
                    body = null;
                    dispatcher.dispatch(new Exchange(req, b, length, tooLarge, declared, rc, remote));
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
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
        ResponseChannel rc = current;
        if (rc != null) {
            rc.inactive();
        }
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ResponseChannel rc = current;
        if (rc != null) {
            rc.inactive();
        }
        ctx.close();
    }
}
