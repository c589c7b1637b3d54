package dev.vigil.clickhouse.http;

import dev.vigil.clickhouse.engine.ChdbException;
import io.netty.channel.Channel;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An INSERT's request body handed from the event loop to the worker as it arrives, so the engine parses
 * and writes while the client is still sending (instead of after the whole body was received).
 * Backpressure: the event loop stops reading from the socket while more than {@link #HIGH_WATER} bytes
 * wait in the queue, and the worker resumes it once it has taken them.
 */
final class BodyStream {
    static final long HIGH_WATER = 8L << 20;
    private static final byte[] END = new byte[0];
    private static final byte[] FAILED = new byte[0];

    private final Channel channel;
    private final LinkedBlockingQueue<byte[]> queue = new LinkedBlockingQueue<>();
    private final AtomicLong queued = new AtomicLong();
    private volatile boolean discarding;
    private volatile ChdbException failure;
    /** Event-loop confined: the last content arrived (or the stream failed). */
    private boolean ended;
    /** Set by the event loop when it stops reading; read by the worker to know a resume is needed. */
    private volatile boolean paused;

    BodyStream(Channel channel) {
        this.channel = channel;
    }

    // ------------------------------------------------------------ event loop side

    /** Queues a copy of body bytes; pauses reading when the worker falls behind. */
    void offer(byte[] chunk) {
        if (discarding || ended) {
            return;
        }
        queue.add(chunk);
        if (queued.addAndGet(chunk.length) > HIGH_WATER && !paused) {
            paused = true;
            channel.config().setAutoRead(false);
            if (queued.get() <= HIGH_WATER / 4) {
                // The worker drained the queue meanwhile without seeing the pause: undo it here.
                paused = false;
                channel.config().setAutoRead(true);
            }
        }
    }

    /** The request's last content was read. */
    void end() {
        if (!ended) {
            ended = true;
            queue.add(END);
        }
    }

    /** The body cannot be completed (too large, client gone): the worker fails with {@code e}. */
    void fail(ChdbException e) {
        if (!ended) {
            ended = true;
            failure = e;
            queue.add(FAILED);
        }
    }

    boolean ended() {
        return ended;
    }

    // ------------------------------------------------------------ worker side

    /**
     * The next chunk of the body, or null at its end; throws the failure if the body could not be
     * received. Waits at most {@code timeoutMs} for the client to send more.
     */
    byte[] take(long timeoutMs) throws InterruptedException {
        byte[] b = queue.poll(timeoutMs, TimeUnit.MILLISECONDS);
        if (b == null) {
            throw ChdbException.of(209, "SOCKET_TIMEOUT",
                    "Timeout exceeded while receiving data from client. Waited for " + timeoutMs + " ms");
        }
        if (b == END) {
            queue.add(END);
            return null;
        }
        if (b == FAILED) {
            queue.add(FAILED);
            throw failure;
        }
        if (queued.addAndGet(-b.length) <= HIGH_WATER / 4 && paused) {
            resume(); // only when reading was paused: no event-loop task (and wake-up) per chunk otherwise
        }
        return b;
    }

    /** Whether another chunk is waiting (so the worker may gather before handing bytes on). */
    boolean hasMore() {
        return !queue.isEmpty();
    }

    /** The worker will read no more (it failed or finished early): drop whatever else arrives. */
    void discard() {
        discarding = true;
        queue.clear();
        queued.set(0);
        if (paused) {
            resume();
        }
    }

    private void resume() {
        channel.eventLoop().execute(() -> {
            if (paused) {
                paused = false;
                if (!ended && channel.isActive()) {
                    channel.config().setAutoRead(true);
                }
            }
        });
    }
}
