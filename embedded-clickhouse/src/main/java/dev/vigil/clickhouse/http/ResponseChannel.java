package dev.vigil.clickhouse.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.io.IOException;
import java.io.OutputStream;

/**
 * Writes one HTTP response from a worker thread, with backpressure: {@link #write} blocks while the
 * socket's outbound buffer is full, and fails with {@link ClientGoneException} once the client has gone.
 */
public final class ResponseChannel {
    /** The client closed the connection. */
    public static final class ClientGoneException extends IOException {
        public ClientGoneException() {
            super("client closed the connection");
        }
    }

    private final Channel channel;
    private final boolean keepAlive;
    private final Runnable onDone;
    private final Object writability = new Object();
    private volatile boolean failed;
    private boolean started;
    private boolean done;
    private long bytesSent;

    ResponseChannel(Channel channel, boolean keepAlive, Runnable onDone) {
        this.channel = channel;
        this.keepAlive = keepAlive;
        this.onDone = onDone;
    }

    void writabilityChanged() {
        synchronized (writability) {
            writability.notifyAll();
        }
    }

    void inactive() {
        failed = true;
        writabilityChanged();
    }

    public boolean isStarted() {
        return started;
    }

    public boolean isDone() {
        return done;
    }

    public boolean clientGone() {
        return failed || !channel.isActive();
    }

    public long bytesSent() {
        return bytesSent;
    }

    /** Sends a complete response with a Content-Length, and finishes. */
    public void sendFull(HttpResponseStatus status, HttpHeaders headers, byte[] body, boolean closeAfter) {
        if (started) {
            throw new IllegalStateException("response already started");
        }
        started = true;
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.wrappedBuffer(body));
        r.headers().set(headers);
        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
        boolean close = closeAfter || !keepAlive;
        r.headers().set(HttpHeaderNames.CONNECTION, close ? HttpHeaderValues.CLOSE : HttpHeaderValues.KEEP_ALIVE);
        bytesSent += body.length;
        ChannelFuture f = channel.writeAndFlush(r);
        finish(f, close);
    }

    /** Starts a chunked response. */
    public void begin(HttpResponseStatus status, HttpHeaders headers) {
        if (started) {
            throw new IllegalStateException("response already started");
        }
        started = true;
        DefaultHttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
        r.headers().set(headers);
        r.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        r.headers().set(HttpHeaderNames.CONNECTION, keepAlive ? HttpHeaderValues.KEEP_ALIVE : HttpHeaderValues.CLOSE);
        channel.write(r).addListener(failureListener);
    }

    private final ChannelFutureListener failureListener = f -> {
        if (!f.isSuccess()) {
            failed = true;
            writabilityChanged();
            f.channel().close();
        }
    };

    /** Writes body bytes (copied), waiting while the client is slow. */
    public void write(byte[] b, int off, int len) throws ClientGoneException {
        if (len == 0) {
            return;
        }
        awaitWritable();
        byte[] copy = new byte[len];
        System.arraycopy(b, off, copy, 0, len);
        bytesSent += len;
        channel.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(copy))).addListener(failureListener);
    }

    private void awaitWritable() throws ClientGoneException {
        synchronized (writability) {
            while (!channel.isWritable() && channel.isActive() && !failed) {
                try {
                    writability.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new ClientGoneException();
                }
            }
        }
        if (failed || !channel.isActive()) {
            throw new ClientGoneException();
        }
    }

    /** Ends a chunked response normally. */
    public void end() {
        ChannelFuture f = channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        finish(f, !keepAlive);
    }

    /** Ends a chunked response abnormally: no last chunk, the connection is closed (as ClickHouse does). */
    public void abort() {
        channel.flush();
        ChannelFuture f = channel.newSucceededFuture();
        finish(f, true);
    }

    private void finish(ChannelFuture f, boolean close) {
        if (done) {
            return;
        }
        done = true;
        f.addListener((ChannelFutureListener) future -> {
            if (close || !future.isSuccess()) {
                future.channel().close();
            }
            onDone.run();
        });
    }

    /** An OutputStream view of the body (after {@link #begin}). */
    public OutputStream asStream() {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                ResponseChannel.this.write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                ResponseChannel.this.write(b, off, len);
            }
        };
    }
}
