package dev.vigil.aggregator;

import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds a partition's retry store when the partition is assigned, for resuming at offset {@code r}: the client ids
 * accepted at offsets in {@code [r - N, r)} with record time {@code >= watermark(r) - W} (docs/exactly-once.md). The
 * stored flushes say which records' ids they accepted ({@link FlushLog#acceptedIdOffsets}); those records are read again
 * from Kafka, with a consumer of their own outside the job's group, and their ids keyed as the hot path keys them
 * ({@link Rollup#recordIdKey}), so the store decides as the one the previous owner had at {@code r}.
 */
final class RetryStoreLoader {
    private static final Logger log = LoggerFactory.getLogger(RetryStoreLoader.class);

    private final String job;
    private final WorkerSettings s;
    private final FlushLog flushLog;
    private final String maxPollRecords;

    RetryStoreLoader(String job, WorkerSettings s, FlushLog flushLog, String maxPollRecords) {
        this.job = job;
        this.s = s;
        this.flushLog = flushLog;
        this.maxPollRecords = maxPollRecords;
    }

    /**
     * Clears {@code seen} and loads it for resuming {@code tp} at {@code r}, the partition's watermark there being
     * {@code watermark} (if {@code hasWatermark}; else none yet, so no time bound). {@code stop} is asked between
     * polls (a job stopping or crashed: the load is given up with an exception); {@code afterPoll} runs after each poll
     * (the member notes its group contact meanwhile). Returns the number of ids loaded.
     */
    int load(TopicPartition tp, SeenIds seen, long watermark, boolean hasWatermark, long r, BooleanSupplier stop, Runnable afterPoll)
            throws Exception {
        seen.clear(); // a recovery retried after a failed load starts over
        long from = Math.max(0, r - s.dedupMaxIds());
        long minTs = hasWatermark ? watermark - s.dedupWindowMs() : Long.MIN_VALUE;
        long[] offsets = flushLog.acceptedIdOffsets(tp, from, r, minTs);
        Marked marked = new Marked(seen, watermark, offsets, minTs);
        if (offsets.length > 0) {
            long first = readRange(tp, offsets[0], r, stop, afterPoll, marked::record);
            long missing = marked.missing();
            if (missing > 0) {
                log.warn("event=seen_ids_unrecoverable job={} partition={} ids={} first_offset_in_log={} (records with accepted client ids "
                        + "are no longer in Kafka: a retry of them would count again; keep Kafka's retention above aggregator.dedup.window plus the longest outage)",
                        job, tp, missing, first);
            }
        }
        return marked.loaded;
    }

    /** Feeds the store with the re-read records, in offset order: the marked ones, each offset once. */
    private static final class Marked {
        private final SeenIds seen;
        private final long watermark;
        private final long[] offsets;       // ascending, distinct
        private final long minTs;
        private int next;
        private int skipped;
        private final EventScratch scratch = new EventScratch();
        private final long[] hash = new long[2];
        int loaded;

        Marked(SeenIds seen, long watermark, long[] offsets, long minTs) {
            this.seen = seen;
            this.watermark = watermark;
            this.offsets = offsets;
            this.minTs = minTs;
        }

        /** One re-read record: loaded if it is the next marked one. */
        void record(ConsumerRecord<byte[], byte[]> rec) {
            long o = rec.offset();
            while (next < offsets.length && offsets[next] < o) {
                next++; // marked, but not read: counted by missing()
                skipped++;
            }
            if (next == offsets.length || offsets[next] != o) {
                return;
            }
            next++;
            if (rec.timestamp() < minTs || rec.value() == null) {
                return;
            }
            int index = Rollup.recordIdKey(rec.value(), scratch, hash);
            if (index != Rollup.NO_ID) {
                if (index < 0) {
                    seen.accept(hash[0], hash[1], o, rec.timestamp(), watermark);
                } else {
                    seen.acceptBatch(hash[0], hash[1], index, o, rec.timestamp(), watermark);
                }
                loaded++;
            }
        }

        /** Marked records that were not read (no longer in Kafka). */
        long missing() {
            return skipped + (offsets.length - next);
        }
    }

    /**
     * Calls {@code each} for the records of {@code tp} from {@code from} (or the log's start, if later) to {@code to}.
     * Returns the offset of the first record read ({@code to} if none).
     */
    private long readRange(TopicPartition tp, long from, long to, BooleanSupplier stop, Runnable afterPoll,
            Consumer<ConsumerRecord<byte[], byte[]>> each) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, s.bootstrapServers());
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, maxPollRecords);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        s.consumerOverrides().forEach(p::put);
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "vigil-aggregator-" + job + "-" + s.instance() + "-recovery-" + tp.partition());
        long first = to;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.assign(List.of(tp));
            // records past the log's end (a log truncated below the committed offset) never come
            long end = Math.min(to, c.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp));
            c.seek(tp, from);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (c.position(tp) < end) {
                if (stop.getAsBoolean()) {
                    throw new IllegalStateException("job stopping while re-reading client ids of " + tp);
                }
                ConsumerRecords<byte[], byte[]> recs = c.poll(Duration.ofMillis(200));
                afterPoll.run();
                for (ConsumerRecord<byte[], byte[]> rec : recs.records(tp)) {
                    if (rec.offset() >= to) {
                        return first;
                    }
                    first = Math.min(first, rec.offset());
                    each.accept(rec);
                }
                if (!recs.isEmpty()) {
                    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                } else if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("no records of " + tp + " for 60 s at offset " + c.position(tp)
                            + " while re-reading client ids up to " + to);
                }
            }
        }
        return first;
    }
}
