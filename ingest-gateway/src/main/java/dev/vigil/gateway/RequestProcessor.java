package dev.vigil.gateway;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.apache.kafka.clients.producer.BufferExhaustedException;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.model.Event;
import dev.vigil.common.model.Sample;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.util.concurrent.EventExecutor;

/**
 * Runs on a worker thread: decode and validate a request, then hand its records to the
 * producer and answer from the send callbacks: 2xx only when Kafka acknowledged every record,
 * 503 with Retry-After when that does not happen within the ack timeout.
 */
public final class RequestProcessor {
    private static final Logger log = LoggerFactory.getLogger(RequestProcessor.class);

    private final KafkaSink sink;
    private final GatewayMetrics metrics;
    private final InflightBudget budget;
    private final TenantRateLimiter limiter;
    private final long ackTimeoutMillis;
    private final RateLimitedLog errorLog = new RateLimitedLog(log, 20);
    private static final io.netty.util.HashedWheelTimer ACK_TIMER = new io.netty.util.HashedWheelTimer(
            Thread.ofPlatform().daemon().name("gateway-ack-timer").factory(), 10, TimeUnit.MILLISECONDS, 512);

    public RequestProcessor(KafkaSink sink, GatewayMetrics metrics, InflightBudget budget, TenantRateLimiter limiter, Duration ackTimeout) {
        this.sink = sink;
        this.metrics = metrics;
        this.budget = budget;
        this.limiter = limiter;
        this.ackTimeoutMillis = ackTimeout.toMillis();
    }

    /** Processes {@code req}; {@code done} is called exactly once, from any thread. */
    public void process(IngestRequest req, EventExecutor timer, Consumer<FullHttpResponse> done) {
        Endpoint ep = req.endpoint();
        String tenant = req.tenant();
        Decoded d;
        try {
            d = ep.decode(req, System.currentTimeMillis());
        } catch (RequestException e) {
            done.accept(refuse(req, e));
            return;
        } catch (RuntimeException | StackOverflowError e) {
            log.warn("request failed endpoint={} tenant={} error={}", ep.name(), tenant, e.toString(), e);
            done.accept(refuse(req, new RequestException(500, "internal_error", "internal error: " + e)));
            return;
        }
        for (Rejection r : d.rejections()) {
            metrics.itemRejected(tenant, ep.kind(), r.reason());
        }
        int n = d.accepted();
        if (n == 0) {
            done.accept(finish(req, d, ep.success(req, d)));
            return;
        }
        int wait = limiter.tryAcquire(tenant, n);
        if (wait > 0) {
            metrics.itemsRejected(tenant, ep.kind(), "rate_limited", n);
            done.accept(refuse(req, RequestException.overloaded("rate_limited",
                    "tenant " + tenant + " is over its rate limit", wait)));
            return;
        }
        EncodedEvents enc = d.encoded();
        byte[][] values;
        long bytes = 0;
        if (enc != null) {
            values = enc.values();
            byte[][] keys = enc.keys();
            for (int j = 0; j < values.length; j++) {
                bytes += values[j].length + keys[j].length + 64;
            }
        } else {
            values = new byte[n][];
            int i = 0;
            for (Event e : d.events()) {
                values[i] = RecordCodec.encode(e);
                bytes += values[i++].length + 64;
            }
            for (Sample s : d.samples()) {
                values[i] = RecordCodec.encode(s);
                bytes += values[i++].length + 64;
            }
        }
        if (!budget.tryAcquire(bytes)) {
            metrics.itemsRejected(tenant, ep.kind(), "overloaded", n);
            done.accept(refuse(req, RequestException.overloaded("overloaded",
                    "gateway in-flight byte budget exhausted; retry later", 1)));
            return;
        }
        Tracker t = new Tracker(req, d, done, n, bytes);
        // A wheel timer, not the event loop's scheduler: scheduling from a worker thread onto an event
        // loop wakes its selector (a syscall per request, ~3% of the worker's time in the profile).
        t.timeoutTask = ACK_TIMER.newTimeout(x -> t.timeout(), ackTimeoutMillis, TimeUnit.MILLISECONDS);
        List<Event> events = d.events();
        List<Sample> samples = d.samples();
        byte[][] keys = enc != null ? enc.keys() : null;
        int ne = events.size();
        for (int i = 0; i < n; i++) {
            if (t.failure.get() != null) {
                // A send already failed (e.g. buffer exhausted after max.block.ms): do not block on the rest.
                t.failUnsent(t.failure.get(), n - i);
                return;
            }
            try {
                if (keys != null) {
                    sink.sendEvent(keys[i], values[i], t);
                } else if (i < ne) {
                    sink.send(events.get(i), values[i], t);
                } else {
                    sink.send(samples.get(i - ne), values[i], t);
                }
            } catch (RuntimeException ex) {
                // send() threw (no callback will come) for record i and nothing after it was sent.
                t.failUnsent(ex, n - i);
                return;
            }
        }
    }

    private FullHttpResponse refuse(IngestRequest req, RequestException e) {
        metrics.requestRejected(req.tenant(), e.code());
        metrics.bytesRejected(req.tenant(), e.code(), req.body().readableBytes());
        errorLog.log("request refused endpoint={} tenant={} status={} code={} message={}",
                req.endpoint().name(), req.tenant(), e.status(), e.code(), e.getMessage());
        return req.endpoint().error(req.headers(), e);
    }

    private FullHttpResponse finish(IngestRequest req, Decoded d, FullHttpResponse resp) {
        if (d.accepted() > 0) {
            // Only called once Kafka acknowledged every accepted item.
            metrics.itemsAccepted(req.tenant(), req.endpoint().kind(), d.accepted());
            metrics.bytesAccepted(req.endpoint().name(), req.tenant(), req.body().readableBytes());
        } else if (resp.status().code() >= 400) {
            metrics.requestRejected(req.tenant(), "all_rejected");
            metrics.bytesRejected(req.tenant(), "all_rejected", req.body().readableBytes());
        }
        return resp;
    }

    static RequestException classify(Throwable ex) {
        if (ex instanceof BufferExhaustedException) {
            return RequestException.overloaded("producer_buffer_full", "Kafka producer buffer full; retry later", 1);
        }
        if (ex instanceof RecordTooLargeException) {
            return RequestException.tooLarge("record_too_large", "a record is larger than Kafka accepts: " + ex.getMessage());
        }
        if (ex instanceof TimeoutException) {
            return RequestException.unavailable("kafka_timeout", "Kafka did not acknowledge in time; nothing acknowledged, retry", 2);
        }
        if (ex instanceof RetriableException) {
            return RequestException.unavailable("kafka_unavailable", "Kafka unavailable: " + ex.getClass().getSimpleName() + "; retry", 2);
        }
        return RequestException.unavailable("kafka_error", "Kafka write failed: " + ex.getClass().getSimpleName() + "; retry", 2);
    }

    /** Counts the acknowledgements of one request's records. */
    private final class Tracker implements Callback {
        private final IngestRequest req;
        private final Decoded decoded;
        private final Consumer<FullHttpResponse> done;
        private final AtomicInteger pending;
        private final long bytes;
        private final long sendStart = System.nanoTime();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final AtomicBoolean answered = new AtomicBoolean();
        volatile io.netty.util.Timeout timeoutTask;

        Tracker(IngestRequest req, Decoded decoded, Consumer<FullHttpResponse> done, int n, long bytes) {
            this.req = req;
            this.decoded = decoded;
            this.done = done;
            this.pending = new AtomicInteger(n);
            this.bytes = bytes;
        }

        @Override
        public void onCompletion(RecordMetadata metadata, Exception exception) {
            if (exception != null) {
                failure.compareAndSet(null, exception);
            }
            if (pending.decrementAndGet() == 0) {
                allDone();
            }
        }

        void failUnsent(Throwable ex, int unsent) {
            failure.compareAndSet(null, ex);
            if (pending.addAndGet(-unsent) == 0) {
                allDone();
            }
        }

        private void allDone() {
            budget.release(bytes);
            var tt = timeoutTask;
            if (tt != null) {
                tt.cancel();
            }
            if (!answered.compareAndSet(false, true)) {
                return;
            }
            metrics.produce(System.nanoTime() - sendStart);
            Throwable f = failure.get();
            if (f != null) {
                metrics.itemsRejected(req.tenant(), req.endpoint().kind(), "kafka_failed", decoded.accepted());
                done.accept(refuse(req, classify(f)));
            } else {
                done.accept(finish(req, decoded, req.endpoint().success(req, decoded)));
            }
        }

        void timeout() {
            if (!answered.compareAndSet(false, true)) {
                return;
            }
            metrics.itemsRejected(req.tenant(), req.endpoint().kind(), "kafka_timeout", decoded.accepted());
            done.accept(refuse(req, RequestException.unavailable("kafka_timeout",
                    "Kafka did not acknowledge within " + ackTimeoutMillis + " ms; retry with the same ids", 2)));
        }
    }

    /** Logs at most {@code perSecond} lines a second and says how many it skipped. */
    static final class RateLimitedLog {
        private final Logger log;
        private final int perSecond;
        private final AtomicLong window = new AtomicLong();
        private final AtomicInteger count = new AtomicInteger();
        private final AtomicInteger suppressed = new AtomicInteger();

        RateLimitedLog(Logger log, int perSecond) {
            this.log = log;
            this.perSecond = perSecond;
        }

        void log(String fmt, Object... args) {
            long sec = System.currentTimeMillis() / 1000;
            long w = window.get();
            if (w != sec && window.compareAndSet(w, sec)) {
                count.set(0);
                int s = suppressed.getAndSet(0);
                if (s > 0) {
                    log.info("request log suppressed lines={}", s);
                }
            }
            if (count.incrementAndGet() <= perSecond) {
                log.info(fmt, args);
            } else {
                suppressed.incrementAndGet();
            }
        }
    }

    static List<Rejection> none() {
        return List.of();
    }
}
