package dev.vigil.aggregator;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;

/**
 * One job's dead letters. A record the job cannot store becomes a dead-letter record (the record's key and value, with
 * its reason, detail and source in headers), counted by reason when the consumer thread refuses it; it travels in its
 * flush, and the flush sends its dead letters, through the job's own producer, before its rows are stored
 * (docs/exactly-once.md). The producer is the job's own, so one job's flood of poison records cannot fill the buffer
 * another job's dead letters wait in; it is created with the job's first dead letter and closed with the job.
 */
final class DeadLetters {
    private static final Logger log = LoggerFactory.getLogger(DeadLetters.class);

    /**
     * Every reason a record can be dead-lettered for. Their counters are registered at 0 when the job starts: a counter
     * that appeared only with its first dead letter was scraped first at its burst's total, and {@code increase()} over
     * it stayed 0, so the AggregatorDeadLetters alert missed a single burst.
     */
    static final List<String> REASONS = List.of("undecodable", "beyond_retention", "future_timestamp", "invalid_value",
            "invalid_event", "invalid_sample");

    private final String job;
    private final WorkerSettings s;
    private final Map<String, Counter> byReason = new ConcurrentHashMap<>();
    /** Created with the first dead letter ({@link WorkerSettings#deadLetterProducers}). */
    private Producer<byte[], byte[]> producer;
    private boolean closed;
    /** Guards the two fields above; not the worker's own lock, which status calls take (a producer's close can take seconds). */
    private final Object lock = new Object();

    DeadLetters(String job, WorkerSettings s) {
        this.job = job;
        this.s = s;
        for (String reason : REASONS) {
            counter(reason);
        }
    }

    /** The dead letter of {@code r}, refused for {@code reason} ({@link #REASONS}); {@link #count} counts it. */
    ProducerRecord<byte[], byte[]> of(ConsumerRecord<ByteBuffer, ByteBuffer> r, String reason, String detail) {
        // at most aggregator.dead-letter-max-bytes of the key and the value together (the key at most half of it): a record
        // near Kafka's size limit plus these headers would not fit the dead-letter producer's requests, and its flush would
        // be retried for ever
        int max = s.deadLetterMaxBytes();
        int keyLen = r.key() == null ? 0 : r.key().remaining();
        int valueLen = r.value() == null ? 0 : r.value().remaining();
        byte[] key = Records.head(r.key(), Math.max(max / 2, max - valueLen));
        byte[] value = Records.head(r.value(), max - (key == null ? 0 : key.length));
        ProducerRecord<byte[], byte[]> pr = new ProducerRecord<>(s.deadLetterTopic(), null, key, value);
        if (keyLen + valueLen > max) {
            pr.headers().add("vigil.dlq.truncated", ("key=" + keyLen + " value=" + valueLen).getBytes(StandardCharsets.UTF_8));
        }
        pr.headers().add("vigil.dlq.reason", reason.getBytes(StandardCharsets.UTF_8));
        pr.headers().add("vigil.dlq.detail", truncate(detail, 500).getBytes(StandardCharsets.UTF_8));
        pr.headers().add("vigil.dlq.source.topic", r.topic().getBytes(StandardCharsets.UTF_8));
        pr.headers().add("vigil.dlq.source.partition", String.valueOf(r.partition()).getBytes(StandardCharsets.UTF_8));
        pr.headers().add("vigil.dlq.source.offset", String.valueOf(r.offset()).getBytes(StandardCharsets.UTF_8));
        pr.headers().add("vigil.dlq.job", job.getBytes(StandardCharsets.UTF_8));
        return pr;
    }

    /** Counts a dead letter of {@code reason}, once it is in its flush. */
    void count(String reason) {
        counter(reason).increment();
    }

    /**
     * Sends a flush's dead letters and waits until Kafka has each of them (a flush's second step); logs one line for the
     * flush, by reason. Throws if one is not acknowledged: the flush is retried, and sends them again (at least once).
     */
    void send(List<ProducerRecord<byte[], byte[]>> letters, FlushBatch b) throws Exception {
        if (letters.isEmpty()) {
            return;
        }
        List<Future<RecordMetadata>> fs = new ArrayList<>(letters.size());
        for (ProducerRecord<byte[], byte[]> pr : letters) {
            fs.add(producer().send(pr));
        }
        // these futures complete within the producer's linger (5 ms) once their batch is sent
        for (Future<RecordMetadata> f : fs) {
            f.get(60, TimeUnit.SECONDS);
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (ProducerRecord<byte[], byte[]> pr : letters) {
            counts.merge(header(pr, "vigil.dlq.reason"), 1, Integer::sum);
        }
        log.warn("event=dead_lettered job={} batch={} topic={} by_reason={} first_detail=\"{}\"", job, b, s.deadLetterTopic(),
                counts, header(letters.getFirst(), "vigil.dlq.detail"));
    }

    /** Closes the producer, waiting at most {@code timeout} for sends in flight (none after a graceful stop). */
    void close(Duration timeout) {
        synchronized (lock) {
            closed = true;
            if (producer != null) {
                try {
                    producer.close(timeout);
                } catch (RuntimeException e) {
                    log.warn("event=dead_letter_producer_close_failed job={} error=\"{}\"", job, e.toString());
                }
                producer = null;
            }
        }
    }

    private Producer<byte[], byte[]> producer() {
        synchronized (lock) {
            if (closed) {
                // a flusher still running after the job stopped (a crash): its flush fails, and is replayed by the next owner
                throw new IllegalStateException("job " + job + " stopped: its dead-letter producer is closed");
            }
            if (producer == null) {
                producer = s.deadLetterProducers().apply(job);
            }
            return producer;
        }
    }

    private Counter counter(String reason) {
        return byReason.computeIfAbsent(reason, k -> Counter.builder("vigil_aggregator_dead_letters").tag("job", job)
                .tag("reason", k).register(s.registry()));
    }

    private static String header(ProducerRecord<byte[], byte[]> pr, String name) {
        return new String(pr.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    private static String truncate(String s, int n) {
        return s == null ? "" : s.length() <= n ? s : s.substring(0, n);
    }
}
