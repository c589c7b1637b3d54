package dev.vigil.aggregator;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteBufferDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.model.Event;
import dev.vigil.common.model.Sample;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * One running rollup job: one or more Kafka consumers ("members", spec {@code consumers}) in the
 * job's own consumer group, each a thread that reads and pre-aggregates the partitions Kafka
 * assigned to it, and flusher threads ("lanes") shared by the members that write each
 * partition's flushes to ClickHouse in order (a partition always flushes on the same lane, so
 * different partitions' flushes overlap), with a bounded queue between them. Offsets are
 * committed only after a flush's blocks and its "done" row are in ClickHouse. See
 * docs/exactly-once.md for the protocol and docs/aggregator.md for operations.
 */
public final class JobWorker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(JobWorker.class);
    private static final SortedMap<String, String> OVERFLOW = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(Map.of("__overflow__", "true")));
    private static final long WM_NONE = Long.MIN_VALUE / 4;

    /** Lifecycle and health of a job, as reported by the admin API. */
    public enum State { STARTING, RUNNING, RETRYING, STOPPING, STOPPED, FAILED }

    /** One flusher thread, its queue and its flush in progress. */
    private final class Lane {
        final LinkedBlockingDeque<FlushBatch> queue = new LinkedBlockingDeque<>();
        final Thread thread;
        volatile FlushBatch inFlight;
        volatile boolean retrying;

        Lane(String name) {
            thread = Thread.ofPlatform().name(name).unstarted(() -> flusherLoop(this));
        }

        boolean idle() {
            return queue.isEmpty() && inFlight == null;
        }
    }

    private final class PartitionState {
        final TopicPartition tp;
        final Member member;
        final SeenIds seen = new SeenIds(s.dedupMaxIds(), s.dedupWindowMs());
        boolean recovering = true;
        boolean paused;
        /**
         * Set when a cut found the job's flush queue over its bounds: the rest of this poll's records of the partition are
         * not read (the partition is sought back to {@link #next} and paused after the poll), so one poll cannot cut
         * flushes without bound (one record can add a megabyte of per-unit rows; the pause alone acts between polls).
         */
        boolean held;
        long nextAttemptNanos;
        long recoveryBackoffMs = 200;
        long start;
        long next;
        long committed = -1;
        long watermark = WM_NONE;
        final ArrayDeque<Long> forced = new ArrayDeque<>();
        /**
         * Pending flushes that an aggregator older than migration 9 logged (start offset to end offset): replayed
         * the way it wrote them, without their 1 m and 1 h rows, which the views add (see {@link FlushBuffer#encode(boolean)}).
         */
        final java.util.Map<Long, Long> legacy = new java.util.HashMap<>();
        FlushBuffer buf;
        long bufStartedNanos;
        /** At least catch-up.lag records behind (until below half of it): flushed at the catch-up interval. */
        boolean catchingUp;

        PartitionState(TopicPartition tp, Member member, FlushBuffer.MeasureGate measures) {
            this.tp = tp;
            this.member = member;
            this.buf = new FlushBuffer(measures);
        }
    }

    private final JobSpec spec;
    private final long version;
    private final WorkerSettings s;
    private final long bucketMs;
    private final long maxAgeMs;
    private final long flushIntervalNanos;
    /** The flush interval of a partition that is catching up: the longer of the job's and the catch-up interval. */
    private final long catchUpIntervalNanos;
    /**
     * Partitions (of every member) that are catching up, for the status and the gauge, each with the member that
     * found it so: a member that loses a partition removes only its own entry, not one that the member which was just
     * assigned the partition put there.
     */
    private final Map<Integer, Member> catchingUp = new ConcurrentHashMap<>();
    private final java.util.Set<String> allow;
    private final SeriesLimiter limiter;
    /**
     * This job's own ClickHouse client, so its own pool of insert connections (client-v2: 10 a server): a job whose
     * inserts hang (a slow table, a stalled merge) holds its own connections, never another job's.
     */
    private final ClickHouse ch;
    private final Member[] members;
    private final AtomicInteger membersRunning;
    private final Lane[] lanes;
    /**
     * Inserts some of a flush's data blocks while its lane inserts another (see {@link #insertBlocks}): two threads per
     * lane, so at most three inserts of a lane are in flight (the ClickHouse client's connection pool is shared by
     * every job of the process).
     */
    private final java.util.concurrent.ExecutorService blockWriters;
    private final Map<FlushBatch, PartitionState> owners = new ConcurrentHashMap<>();
    /** The lag of each partition (of every member), with the member that measured it (see {@link #catchingUp}). */
    private final Map<Integer, PartitionLag> lag = new ConcurrentHashMap<>();

    private record PartitionLag(Member owner, long records) {
    }
    private volatile boolean running = true;
    private volatile boolean crashed;
    private volatile State state = State.STARTING;
    private volatile String lastError;
    private volatile long lastErrorAtMs;
    private volatile long newestStoredEventMs = Long.MIN_VALUE;
    private volatile double recordsPerSecond;
    private final AtomicLong consumedCount = new AtomicLong();
    private final AtomicLong rowsWrittenCount = new AtomicLong();
    private final AtomicLong offsetsCommittedCount = new AtomicLong();
    private final AtomicLong flushesDone = new AtomicLong();
    /** Estimated heap of the flushes cut and not yet written or dropped, over all lanes. */
    private final AtomicLong queuedBytes = new AtomicLong();
    /**
     * Gauges read this worker's state: removed when it stops, so that the worker a restart creates
     * registers its own (Micrometer would otherwise hand it back these, reading the old worker).
     */
    private final java.util.List<io.micrometer.core.instrument.Meter> gauges = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile long firstRecordNanos;
    private long rateWindowStartNanos = System.nanoTime();
    private long rateWindowStartCount;
    private final boolean isEvents;
    private final boolean hasSeries;
    private final boolean hasExperiments;
    private final boolean hasExposures;
    private final boolean hasUnitDaily;
    private final boolean hasRaw;

    private final Counter consumed;
    private final Counter duplicates;
    private final Counter retries;
    private final Counter seriesCacheResets;
    private final Counter partitionsLost;
    private final Counter nonFiniteSamples;
    private final Counter experimentsWithoutUnit;
    private final Counter flushesAbandoned;
    private final Counter memoryCuts;
    private final Timer flushLatency;
    private final Timer recoveryTime;
    private final AtomicLong partitionsRecovered = new AtomicLong();
    private final AtomicLong idsRecovered = new AtomicLong();
    private final Map<String, TableMeters> byTable = new ConcurrentHashMap<>();
    private final Map<String, Counter> deadByReason = new ConcurrentHashMap<>();
    /**
     * Every reason a record of this job can be dead-lettered for. Their counters are registered at 0 when the job starts:
     * a counter that appeared only with its first dead letter was scraped first at its burst's total, and
     * {@code increase()} over it stayed 0, so the AggregatorDeadLetters alert missed a single burst.
     */
    static final List<String> DEAD_LETTER_REASONS = List.of("undecodable", "beyond_retention", "future_timestamp", "invalid_value",
            "invalid_event", "invalid_sample");

    public JobWorker(JobSpec spec, long version, WorkerSettings settings) {
        this.spec = spec.normalized();
        this.version = version;
        this.s = settings;
        this.bucketMs = this.spec.bucketSeconds() * 1000L;
        this.maxAgeMs = this.spec.maxAgeDuration().toMillis();
        this.flushIntervalNanos = this.spec.flushIntervalDuration().toNanos();
        this.catchUpIntervalNanos = Math.max(flushIntervalNanos, TimeUnit.MILLISECONDS.toNanos(settings.catchUpFlushIntervalMs()));
        this.allow = new java.util.HashSet<>(this.spec.labelAllowList());
        try {
            this.ch = settings.ch().sameServer();
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("cannot open a ClickHouse client for job " + spec.name() + ": " + e.getMessage(), e);
        }
        this.limiter = new SeriesLimiter(this.spec.name(), s.limits(), s.registry(), s.seriesWindowMs(), s.maxOverflowMetrics(), s.maxMeasureNames(), s.maxTenants());
        this.isEvents = "events".equals(this.spec.kind());
        this.hasSeries = this.spec.has("series");
        this.hasExperiments = this.spec.has("experiments");
        this.hasExposures = this.spec.has("exposures");
        this.hasUnitDaily = this.spec.has("unit_daily");
        this.hasRaw = this.spec.has("raw");
        String job = this.spec.name();
        var reg = s.registry();
        consumed = Counter.builder("vigil_aggregator_records_consumed").tag("job", job).register(reg);
        duplicates = Counter.builder("vigil_aggregator_client_duplicates")
                .description("events dropped because their event id was already accepted (client retries)").tag("job", job).register(reg);
        retries = Counter.builder("vigil_aggregator_flush_retries").tag("job", job).register(reg);
        seriesCacheResets = Counter.builder("vigil_aggregator_series_cache_resets")
                .description("consumer threads' series caches cleared because they were full (aggregator.series-cache-bytes): more distinct"
                        + " series than they hold, each worked out again after a reset").tag("job", job).register(reg);
        nonFiniteSamples = Counter.builder("vigil_aggregator_samples_not_rolled_up")
                .description("samples whose value is NaN (staleness markers included) or infinite: kept raw if the job has the raw"
                        + " rollup, but in no series rollup").tag("job", job).tag("reason", "non_finite").register(reg);
        experimentsWithoutUnit = Counter.builder("vigil_aggregator_events_not_rolled_up")
                .description("events with experiment assignments but no unit_id, read by a job with experiment rollups: the unit is what"
                        + " those rollups count, so the event has no rows there (its series rows, in a job with those, are stored)")
                .tag("job", job).tag("reason", "experiments_without_unit").register(reg);
        partitionsLost = Counter.builder("vigil_aggregator_partitions_lost")
                .description("partitions this instance learnt it had lost (expelled from the group: no heartbeat within session.timeout.ms);"
                        + " flushes it held meanwhile are given up; one whose intent was already being written may be stored twice"
                        + " (docs/exactly-once.md, zombie writer)").tag("job", job).register(reg);
        flushesAbandoned = Counter.builder("vigil_aggregator_flushes_abandoned")
                .description("flushes given up between two steps because their partition was released (its new owner stores those records)")
                .tag("job", job).register(reg);
        flushLatency = Timer.builder("vigil_aggregator_flush_latency").description("from cutting a flush to its done row")
                .tag("job", job).publishPercentiles(0.5, 0.99).register(reg);
        recoveryTime = Timer.builder("vigil_aggregator_partition_recovery")
                .description("rebuilding a partition's position, flush boundaries and retry store when it is assigned (client ids re-read from Kafka included)")
                .tag("job", job).register(reg);
        gauges.add(Gauge.builder("vigil_aggregator_freshness_seconds", this, w -> w.newestStoredEventMs == Long.MIN_VALUE ? Double.NaN
                        : (System.currentTimeMillis() - w.newestStoredEventMs) / 1000.0)
                .description("now minus the newest event time stored by this job").tag("job", job).register(reg));
        gauges.add(Gauge.builder("vigil_aggregator_catching_up_partitions", catchingUp, Map::size)
                .description("partitions at least aggregator.catch-up.lag records behind, flushed at aggregator.catch-up.flush-interval")
                .tag("job", job).register(reg));
        gauges.add(Gauge.builder("vigil_aggregator_queued_bytes", queuedBytes, AtomicLong::get)
                .description("estimated heap of the flushes cut and not yet stored (paused at aggregator.max-queued-bytes)")
                .tag("job", job).register(reg));
        memoryCuts = Counter.builder("vigil_aggregator_flushes_cut_for_memory")
                .description("flushes cut before aggregator.max-bytes-per-flush because the partitions held share the memory budget"
                        + " (aggregator.memory-budget): smaller flushes, more parts")
                .tag("job", job).register(reg);
        for (String reason : DEAD_LETTER_REASONS) {
            deadLetterCounter(reason);
        }
        members = new Member[this.spec.consumerCount()];
        for (int i = 0; i < members.length; i++) {
            members[i] = new Member(i);
        }
        membersRunning = new AtomicInteger(members.length);
        // after the members: the gauges read them
        for (String part : List.of("flush_buffers", "retry_stores", "series_caches", "queued_flushes")) {
            gauges.add(Gauge.builder("vigil_aggregator_memory_estimated_bytes", memory, h -> switch (part) {
                        case "flush_buffers" -> h.flushBuffers();
                        case "retry_stores" -> h.retryStores();
                        case "series_caches" -> h.seriesCaches();
                        default -> h.queuedFlushes();
                    })
                    .description("heap this job holds by its own estimates (sum over jobs against vigil_aggregator_memory_budget_bytes)")
                    .tag("job", job).tag("part", part).register(reg));
        }
        lanes = new Lane[Math.max(1, s.flushParallelism())];
        for (int i = 0; i < lanes.length; i++) {
            lanes[i] = new Lane("job-" + job + "-flusher-" + i);
        }
        blockWriters = java.util.concurrent.Executors.newFixedThreadPool(2 * lanes.length,
                Thread.ofPlatform().name("job-" + job + "-insert-", 0).daemon().factory());
    }

    public JobWorker start() {
        s.memory().register(memory);
        for (Member m : members) {
            m.thread.start();
        }
        for (Lane l : lanes) {
            l.thread.start();
        }
        return this;
    }

    public JobSpec spec() {
        return spec;
    }

    public long version() {
        return version;
    }

    public State state() {
        return state;
    }


    /** Synchronized with the other state transitions, so that nothing writes over FAILED (reconcile restarts a FAILED job). */
    private synchronized void fail(Throwable t) {
        state = State.FAILED;
        lastError = t.toString();
        lastErrorAtMs = System.currentTimeMillis();
        log.error("event=job_failed job={} error=\"{}\"", spec.name(), t.toString(), t);
    }

    private boolean pendingFor(Collection<TopicPartition> tps) {
        for (Lane l : lanes) {
            FlushBatch f = l.inFlight;
            if (f != null && tps.contains(f.tp)) {
                return true;
            }
            for (FlushBatch b : l.queue) {
                if (tps.contains(b.tp) && !b.cancelled) {
                    return true;
                }
            }
        }
        return false;
    }

    private Lane laneOf(TopicPartition tp) {
        return lanes[Math.floorMod(tp.partition(), lanes.length)];
    }

    /** Flushes cut and not yet written, over all lanes. */
    private int queued() {
        int n = 0;
        for (Lane l : lanes) {
            n += l.queue.size();
        }
        return n;
    }

    /** RUNNING while no lane retries, RETRYING while one does; other states (stopping, ...) are left alone. */
    private synchronized void laneRetrying(Lane lane, boolean retrying) {
        lane.retrying = retrying;
        if (state == State.RUNNING || state == State.RETRYING) {
            state = anyLaneRetrying() ? State.RETRYING : State.RUNNING;
        }
    }

    private boolean anyLaneRetrying() {
        for (Lane l : lanes) {
            if (l.retrying) {
                return true;
            }
        }
        return false;
    }

    private boolean allLanesIdle() {
        for (Lane l : lanes) {
            if (!l.idle()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Asks the consumer threads to cut every partition's pending records into a flush now (at
     * the current position, a boundary like any other) instead of waiting for flush_interval.
     */
    public void requestFlush() {
        for (Member m : members) {
            m.flushRequested = true;
        }
    }

    /** A member drains on close: STOPPING, unless another member already failed the job. */
    private synchronized void stopping() {
        if (state != State.FAILED) {
            state = State.STOPPING;
        }
    }

    /** Set on a member's start: STARTING becomes RUNNING; a failure another member reported stays. */
    private synchronized void memberStarted() {
        if (state == State.STARTING) {
            state = State.RUNNING;
        }
    }

    /** The last member to stop leaves the job STOPPED (or FAILED if one failed); the lanes then drain and end. */
    private synchronized void memberStopped() {
        if (membersRunning.decrementAndGet() == 0 && state != State.FAILED) {
            state = State.STOPPED;
        }
    }

    private boolean consumersDone() {
        return membersRunning.get() == 0;
    }

    /** Records per second over the last window of at least a second (any member may call it). */
    private synchronized void updateRate() {
        long now = System.nanoTime();
        long n = consumedCount.get();
        double secs = (now - rateWindowStartNanos) / 1e9;
        if (secs >= 1) {
            recordsPerSecond = (n - rateWindowStartCount) / secs;
            rateWindowStartNanos = now;
            rateWindowStartCount = n;
        }
    }

    // ---------------------------------------------------------------- record handling

    private void deadLetter(PartitionState st, ConsumerRecord<ByteBuffer, ByteBuffer> r, String reason, String detail) {
        // at most aggregator.dead-letter-max-bytes of the key and the value together (the key at most half of it): a record
        // near Kafka's size limit plus these headers would not fit the dead-letter producer's requests, and its flush would
        // be retried for ever
        int max = s.deadLetterMaxBytes();
        int keyLen = r.key() == null ? 0 : r.key().remaining();
        int valueLen = r.value() == null ? 0 : r.value().remaining();
        byte[] key = head(r.key(), Math.max(max / 2, max - valueLen));
        byte[] value = head(r.value(), max - (key == null ? 0 : key.length));
        ProducerRecord<byte[], byte[]> pr = new ProducerRecord<>(s.deadLetterTopic(), null, key, value);
        if (keyLen + valueLen > max) {
            pr.headers().add("vigil.dlq.truncated", ("key=" + keyLen + " value=" + valueLen).getBytes(StandardCharsets.UTF_8));
        }
        pr.headers().add("vigil.dlq.reason", reason.getBytes(StandardCharsets.UTF_8));
        pr.headers().add("vigil.dlq.detail", truncate(detail, 500).getBytes(StandardCharsets.UTF_8));
        pr.headers().add("vigil.dlq.source.topic", r.topic().getBytes(StandardCharsets.UTF_8));
        pr.headers().add("vigil.dlq.source.partition", String.valueOf(r.partition()).getBytes(StandardCharsets.UTF_8));
        pr.headers().add("vigil.dlq.source.offset", String.valueOf(r.offset()).getBytes(StandardCharsets.UTF_8));
        pr.headers().add("vigil.dlq.job", spec.name().getBytes(StandardCharsets.UTF_8));
        st.buf.addDeadLetter(pr);
        deadLetterCounter(reason).increment();
    }

    private Counter deadLetterCounter(String reason) {
        return deadByReason.computeIfAbsent(reason, k -> Counter.builder("vigil_aggregator_dead_letters").tag("job", spec.name())
                .tag("reason", k).register(s.registry()));
    }

    /** A copy of at most the first {@code max} remaining bytes of {@code b} (its position untouched); null for null. */
    static byte[] head(ByteBuffer b, int max) {
        if (b == null) {
            return null;
        }
        byte[] a = new byte[Math.min(max, b.remaining())];
        b.get(b.position(), a);
        return a;
    }

    /** A copy of the remaining bytes of {@code b} (its position untouched); null for null. */
    static byte[] bytes(ByteBuffer b) {
        return head(b, Integer.MAX_VALUE);
    }

    private static String truncate(String s, int n) {
        return s == null ? "" : s.length() <= n ? s : s.substring(0, n);
    }

    private SortedMap<String, String> allowed(SortedMap<String, String> labels) {
        if (allow.isEmpty() || labels.isEmpty()) {
            return labels;
        }
        boolean all = true;
        for (String k : labels.keySet()) {
            if (!allow.contains(k)) {
                all = false;
                break;
            }
        }
        if (all) {
            return labels;
        }
        SortedMap<String, String> out = new TreeMap<>();
        labels.forEach((k, v) -> {
            if (allow.contains(k)) {
                out.put(k, v);
            }
        });
        return out;
    }

    private boolean timeOk(PartitionState st, ConsumerRecord<ByteBuffer, ByteBuffer> r, long t) {
        String[] problem = timeProblem(r, t);
        if (problem != null) {
            deadLetter(st, r, problem[0], problem[1]);
            return false;
        }
        return true;
    }

    /** Null if the event time {@code t} is within max_age before and max-future after its record's time, else {reason, detail}. */
    private String[] timeProblem(ConsumerRecord<ByteBuffer, ByteBuffer> r, long t) {
        long rts = r.timestamp();
        if (t < rts - maxAgeMs) {
            return new String[] {"beyond_retention", "event time " + t + " is more than max_age " + spec.maxAge() + " before its record time " + rts};
        }
        if (t > rts + s.maxFutureMs()) {
            return new String[] {"future_timestamp", "event time " + t + " is more than " + s.maxFutureMs() + " ms after its record time " + rts};
        }
        return null;
    }

    /**
     * The series' own ref while the limiter admits it, else its tenant and type's overflow series.
     * {@code epoch} is the limiter's window as read once per poll (reading the clock per record
     * cost 4.5 % of the consumer thread; a window starting up to one poll late is harmless).
     */
    private FlushBuffer.SeriesRef admitted(SeriesCache.Entry info, long epoch) {
        if (info.admittedEpoch == epoch) {
            return info.ref;
        }
        String to = limiter.overflowMetric(info.tenant, info.type, info.ref.seriesId);
        if (to == null) {
            info.admittedEpoch = epoch;
            return info.ref;
        }
        if (info.overflow == null) { // the same metric for good: SeriesLimiter.overflowMetric
            info.overflow = new FlushBuffer.SeriesRef(info.tenant, FlushBuffer.KIND_EVENT, to, SeriesIds.seriesId(to, OVERFLOW), OVERFLOW);
        }
        return info.overflow;
    }

    /**
     * False (and counted) if the client id (h, l) was already accepted in the partition's window: a
     * client retry. Otherwise remembers it, in memory and in the flush's marks.
     */
    private boolean firstSight(PartitionState st, ConsumerRecord<ByteBuffer, ByteBuffer> r, long h, long l, int index) {
        if (!(index < 0 ? st.seen.firstSight(h, l, r.offset(), r.timestamp(), st.watermark)
                : st.seen.firstSightBatch(h, l, index, r.offset(), r.timestamp(), st.watermark))) {
            duplicates.increment();
            return false;
        }
        st.buf.idMarks.add(r.offset(), r.timestamp());
        return true;
    }

    /** Whether an event with (or without) a unit and experiments has rows in this job's unit rollups. */
    private boolean unitRollupsTake(boolean hasUnit, boolean hasAssignments) {
        return hasUnit && (hasUnitDaily || hasAssignments && (hasExperiments || hasExposures));
    }

    // ---------------------------------------------------------------- consumer threads

    /** {@link #recordIdKey} of a record without a client id. */
    static final int NO_ID = Integer.MIN_VALUE;

    /**
     * {@link SeenIds#key} of the event record's client id over the record's bytes, as the hot path keys it (HotPathTest
     * pins it to the String key for valid UTF-8); {@link #NO_ID} if it has none. Recovery keys the re-read records with it.
     */
    static int recordIdKey(byte[] v, EventScratch scratch, long[] hash) {
        RecordCodec.scanEvent(v, 0, v.length, scratch);
        if (scratch.eventIdLen < 0) {
            return NO_ID;
        }
        long seed = SeriesIds.idSeed(v, scratch.tenantOff, scratch.tenantLen, hash);
        return SeenIds.key(seed, v, scratch.eventIdOff, scratch.eventIdLen, hash);
    }

    /**
     * The key of a decoded event's client id ({@code e.eventId()} not null; {@code v} the record it was decoded from), the
     * same as the hot path's and recovery's for the same record. The decoder replaces bytes that are not valid UTF-8 with
     * U+FFFD (only a writer other than the gateway writes them), so the Strings' UTF-8 bytes are then not the record's,
     * and a key over them would differ from the key recovery rebuilds from the record: a client retry after a recovery
     * would be counted again. Such Strings are keyed over the record's bytes instead (one more scan, only for them).
     */
    static int decodedIdKey(Event e, byte[] v, EventScratch scratch, long[] hash) {
        if (e.eventId().indexOf('\uFFFD') < 0 && e.tenant().indexOf('\uFFFD') < 0) {
            return SeenIds.key(e.tenant(), e.eventId(), hash);
        }
        return recordIdKey(v, scratch, hash);
    }

    /**
     * Feeds a partition's retry store on recovery, in offset order: the records whose id a flush
     * accepted, as they are re-read from Kafka (their ids hashed as the hot path hashes them); each
     * offset once.
     */
    private static final class SeenIdLoader {
        private final PartitionState st;
        private final long[] marked;       // ascending, distinct
        private final long minTs;
        private int nextMarked;
        private int skipped;
        private final EventScratch scratch = new EventScratch();
        private final long[] hash = new long[2];
        int loaded;

        SeenIdLoader(PartitionState st, long[] marked, long minTs) {
            this.st = st;
            this.marked = marked;
            this.minTs = minTs;
        }

        /** One re-read record: loaded if it is the next marked one. */
        void record(ConsumerRecord<byte[], byte[]> rec) {
            long o = rec.offset();
            while (nextMarked < marked.length && marked[nextMarked] < o) {
                nextMarked++; // marked, but not read: counted by missing()
                skipped++;
            }
            if (nextMarked == marked.length || marked[nextMarked] != o) {
                return;
            }
            nextMarked++;
            if (rec.timestamp() < minTs || rec.value() == null) {
                return;
            }
            int index = recordIdKey(rec.value(), scratch, hash);
            if (index != NO_ID) {
                if (index < 0) {
                    st.seen.accept(hash[0], hash[1], o, rec.timestamp(), st.watermark);
                } else {
                    st.seen.acceptBatch(hash[0], hash[1], index, o, rec.timestamp(), st.watermark);
                }
                loaded++;
            }
        }

        /** Marked records that were not read (no longer in Kafka). */
        long missing() {
            return skipped + (marked.length - nextMarked);
        }

    }

    /**
     * Records a poll returns: 2,000 (~250 KB of decompressed records) are still in the core's L2 cache
     * when they are scanned; 20,000 (until 2026-11-27) were not: with it the consumer threads took 644-679 ns
     * per event with client ids against 532-564, and 448-522 against 374-439 without (docs/aggregator.md).
     */
    private static final String MAX_POLL_RECORDS = "2000";

    /** Records prepared together on the hot path ({@link Member#processEvents}). */
    private static final int GROUP = 32;

    /** One record of a group on the hot path: what {@link Member#prepare} found, for {@link Member#handleEvent}. */
    private static final class Prepared {
        final EventScratch e = new EventScratch();
        ConsumerRecord<ByteBuffer, ByteBuffer> r;
        /** A dead letter's reason and detail, or null. */
        String deadReason;
        String deadDetail;
        /** Takes the full decode ({@link Member#handleEventDecoded}). */
        boolean decoded;
        /** The event's series; null when nothing of the event is in this job's rollups. */
        SeriesCache.Entry info;
        /** Its bucket (seconds), set with {@link #info}. */
        long bucket;
        boolean hasId;
        /** The client id's key in the retry store: its hash (of the prefix if batch-form), and its index or -1 ({@link SeenIds#key}). */
        long idHi;
        long idLo;
        int idIndex;
        /** Experiment assignments without a unit, in a job with experiment rollups: counted when processed. */
        boolean experimentsWithoutUnit;

        void clear(ConsumerRecord<ByteBuffer, ByteBuffer> record) {
            r = record;
            experimentsWithoutUnit = false;
            deadReason = null;
            deadDetail = null;
            decoded = false;
            info = null;
            hasId = false;
        }

        void dead(String reason, String detail) {
            deadReason = reason;
            deadDetail = detail;
        }
    }

    /** One consumer of the job's group: its Kafka consumer, its partitions and its hot-path scratch state. */
    private final class Member {
        final int index;
        final Thread thread;
        /** Flushes of this member's partitions that are stored, to commit on its consumer thread. */
        final ConcurrentLinkedQueue<FlushBatch> completed = new ConcurrentLinkedQueue<>();
        final Map<TopicPartition, PartitionState> parts = new HashMap<>();
        volatile KafkaConsumer<ByteBuffer, ByteBuffer> consumer;
        volatile boolean flushRequested;
        long lastLagUpdateNanos;
        /** The series limiter's window, read once per poll. */
        long limiterEpoch;
        /** Set when this member's loop ended by an exception: its buffers are not flushed on the way out. */
        volatile boolean abandoned;
        /**
         * When this member last knew itself in its group: a heartbeat answered, or an assignment. A flush's intent is
         * written only while this is recent (JobWorker.awaitGroupContact). Set by the consumer thread, read by the lanes.
         */
        volatile long groupContactNanos = System.nanoTime();
        /** Half the session timeout: a member silent for longer may be expelled before its intent lands. */
        volatile long contactLimitNanos = TimeUnit.SECONDS.toNanos(5);
        /** The consumer's count of heartbeat responses (null until found), and its last value. */
        org.apache.kafka.common.Metric heartbeats;
        double heartbeatsSeen = -1;
        /** The consumer has no such count (another group protocol): the guard is off, intents are never held. */
        boolean contactGuardOff;
        // hot-path state, this member's thread only
        final Prepared[] group = new Prepared[GROUP];
        /** Where the group's table touches go, so the JIT keeps the loads. */
        long touched;
        final SeriesCache seriesCache = new SeriesCache(1 << 20, s.seriesCacheBytes());
        /** When this member last logged its series cache's resets, and how many it has not logged yet. */
        long cacheResetLoggedNanos;
        long cacheResetsUnlogged;
        final Utf8Interner measureNames = new Utf8Interner(4096);
        final long[] idHash = new long[2];
        /**
         * The measure names the limiter admitted in its current window ({@link #limiterEpoch}), per tenant and metric: the
         * per-unit rows ask per event, and an admitted name stays admitted until the window ends, so this thread asks the
         * shared, synchronized limiter only for names it has not seen admitted (at most what the limiter itself holds).
         */
        final Map<String, Map<String, Set<String>>> admittedMeasures = new HashMap<>();
        long admittedMeasuresEpoch = Long.MIN_VALUE;
        /** For {@link #decodedIdKey}'s scan of a decoded record. */
        final EventScratch rekeyScratch = new EventScratch();
        /** What this member holds by its estimates, published after each poll for the memory budget ({@link #accountMemory}). */
        volatile long heldBuffers;
        volatile long heldRetryStores;
        volatile long heldSeriesCache;
        volatile int heldPartitions;
        /** Its partitions' flush-buffer allowance ({@link MemoryBudget#bufferAllowance}), worked out after each poll. */
        long bytesPerFlush = s.maxBytesPerFlush();
        /** The last batch-form id's prefix (see {@link #idKey}): its bytes, its tenant's seed and its hash. */
        byte[] lastPrefix = new byte[64];
        int lastPrefixLen = -1;
        long lastPrefixSeed;
        long lastPrefixHi;
        long lastPrefixLo;

        Member(int index) {
            this.index = index;
            for (int i = 0; i < GROUP; i++) {
                group[i] = new Prepared();
            }
            this.thread = Thread.ofPlatform().name("job-" + spec.name() + "-consumer" + (members.length > 1 ? "-" + index : ""))
                    .unstarted(this::consumerLoop);
        }

        private void consumerLoop() {
            try {
                consumer = openConsumer();
                consumer.subscribe(List.of(spec.source()), new Listener());
                memberStarted();
                log.info("event=job_started job={} version={} member={}/{} source={} group={} rollups={}", spec.name(), version, index,
                        members.length, spec.source(), s.groupPrefix() + spec.name(), spec.rollups());
                while (running) {
                    pollOnce();
                }
                if (!crashed) {
                    gracefulDrain();
                }
            } catch (WakeupException e) {
                abandoned = true;
                if (!crashed && running) {
                    fail(e);
                }
            } catch (Throwable t) {
                // the record being processed may have left the partition's buffer half-written
                // (an OutOfMemoryError inside a RowBinary write did): never flush it; the
                // partition's next owner replays from the last stored flush
                abandoned = true;
                fail(t);
            } finally {
                if (consumer != null) {
                    try {
                        consumer.close(crashed ? org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ZERO)
                                : org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(10)));
                    } catch (Throwable t) {
                        log.debug("consumer close: {}", t.toString());
                    }
                }
                withdrawMemory();
                memberStopped();
                log.info("event=job_consumer_stopped job={} member={} crashed={} state={}", spec.name(), index, crashed, state);
            }
        }

        private KafkaConsumer<ByteBuffer, ByteBuffer> openConsumer() {
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, s.bootstrapServers());
            p.put(ConsumerConfig.GROUP_ID_CONFIG, s.groupPrefix() + spec.name());
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, MAX_POLL_RECORDS);
            p.put(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, String.valueOf(256 * 1024));
            p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100");
            p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, String.valueOf(32 * 1024 * 1024));
            p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(8 * 1024 * 1024));
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            // A SIGKILLed instance keeps its partitions until its session expires: 10 s instead of
            // Kafka's 45 s default bounds recovery after a crash (overridable by consumer properties).
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
            p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "3000");
            // Incremental rebalancing: when an instance or a consumer thread joins or leaves, only the partitions that
            // move are revoked (flushed, committed) and recovered by their new owner; with Kafka's eager default (range)
            // every member gave up and recovered all of its partitions at every rebalance, client-id retry stores
            // re-read from Kafka included. Instances with the client's default list (range, cooperative-sticky) share
            // this protocol, so a rolling upgrade switches the group over (KIP-429's second step).
            p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
            p.put(ConsumerConfig.CLIENT_ID_CONFIG, "vigil-aggregator-" + spec.name() + "-" + s.instance() + (members.length > 1 ? "-" + index : ""));
            s.consumerOverrides().forEach(p::put);
            // keys and values stay in the fetched batch's buffers (Kafka's ByteBufferDeserializer
            // returns them in place): the hot path reads the value where it lies; a dead letter, a
            // series seen for the first time and the decoding path (samples, events the hot path
            // does not cover) copy the bytes out (bytes())
            contactLimitNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(String.valueOf(p.get(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG))) / 2);
            return new KafkaConsumer<>(p, new ByteBufferDeserializer(), new ByteBufferDeserializer());
        }

        /**
         * One poll and its records. Its own method, not the body of {@link #consumerLoop}'s loop:
         * the JIT then compiles it once for every member and job, where a loop inside a method
         * that never returns is compiled on stack anew for each thread that runs it (three 400 ms
         * C2 compilations of the 1,250-byte loop each time a job started, JFR).
         */
        private void pollOnce() {
            handleCompleted(false);
            recoverPartitions();
            backpressure();
            ConsumerRecords<ByteBuffer, ByteBuffer> recs = consumer.poll(Duration.ofMillis(50));
            // after the poll: a poll that learnt the member was expelled has run onPartitionsLost (its flushes cancelled)
            // before a heartbeat answered since then counts as contact
            noteGroupContact();
            limiterEpoch = limiter.epoch();
            for (TopicPartition tp : recs.partitions()) {
                PartitionState st = parts.get(tp);
                if (st == null || st.recovering) {
                    continue;
                }
                if (firstRecordNanos == 0) {
                    firstRecordNanos = System.nanoTime();
                }
                int n = 0;
                if (isEvents) {
                    n = processEvents(st, recs.records(tp));
                } else {
                    for (ConsumerRecord<ByteBuffer, ByteBuffer> r : recs.records(tp)) {
                        if (st.held) {
                            break;
                        }
                        if (process(st, r, null)) {
                            n++;
                        }
                    }
                }
                if (st.held) {
                    holdBack(st);
                }
                if (n > 0) {
                    consumed.increment(n);
                    consumedCount.addAndGet(n);
                }
            }
            afterPoll();
        }

        private final class Listener implements ConsumerRebalanceListener {
            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> tps) {
                groupContactNanos = System.nanoTime();
                for (TopicPartition tp : tps) {
                    PartitionState st = new PartitionState(tp, Member.this, limiter::measureName);
                    parts.put(tp, st);
                    consumer.pause(List.of(tp));
                    st.paused = true;
                }
                if (!tps.isEmpty()) {
                    log.info("event=partitions_assigned job={} member={} partitions={}", spec.name(), index, tps);
                }
            }

            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> tps) {
                if (tps.isEmpty()) {
                    return;
                }
                for (TopicPartition tp : tps) {
                    PartitionState st = parts.get(tp);
                    if (st != null && !st.recovering && st.forced.isEmpty() && !st.buf.isEmpty() && !crashed && !abandoned) {
                        cut(st, st.next);
                    }
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                groupContactNanos = System.nanoTime(); // the coordinator has just told this member to give them up
                while (!crashed && System.nanoTime() < deadline && pendingFor(tps)) {
                    noteGroupContact();
                    sleepQuietly(10);
                }
                if (!crashed) {
                    handleCompleted(true);
                }
                for (TopicPartition tp : tps) {
                    drop(tp);
                }
                log.info("event=partitions_revoked job={} member={} partitions={}", spec.name(), index, tps);
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> tps) {
                for (TopicPartition tp : tps) {
                    drop(tp);
                }
                partitionsLost.increment(tps.size());
                log.warn("event=partitions_lost job={} member={} partitions={}", spec.name(), index, tps);
            }
        }

        private void drop(TopicPartition tp) {
            PartitionState st = parts.remove(tp);
            lag.computeIfPresent(tp.partition(), (p, l) -> l.owner() == this ? null : l);
            catchingUp.remove(tp.partition(), this);
            if (st != null) {
                owners.forEach((b, o) -> {
                    if (o == st) {
                        b.cancelled = true;
                    }
                });
            }
        }

        /**
         * Recovers at most one partition per poll: a recovery with client ids re-reads up to
         * {@code dedup.max-ids-per-partition} records from Kafka (1-2 s), and the thread must keep
         * polling (the group's max.poll.interval.ms) while several partitions wait.
         */
        private void recoverPartitions() {
            long now = System.nanoTime();
            for (PartitionState st : parts.values()) {
                if (!st.recovering || now < st.nextAttemptNanos) {
                    continue;
                }
                try {
                    recover(st);
                    st.recovering = false;
                    return;
                } catch (Exception e) {
                    // one attempt per poll, failed or not: attempts that each wait for a hung ClickHouse (up to its
                    // socket timeout) must not add up past max.poll.interval.ms in one poll
                    lastError = "recovery of " + st.tp + ": " + e;
                    lastErrorAtMs = System.currentTimeMillis();
                    log.warn("event=partition_recovery_failed job={} partition={} retry_in_ms={} error=\"{}\"", spec.name(), st.tp,
                            st.recoveryBackoffMs, e.toString());
                    st.nextAttemptNanos = now + TimeUnit.MILLISECONDS.toNanos(st.recoveryBackoffMs);
                    st.recoveryBackoffMs = Math.min(st.recoveryBackoffMs * 2, 30_000);
                    return;
                } finally {
                    noteGroupContact(); // a recovery of a few seconds must not hold the job's lanes (awaitGroupContact)
                }
            }
        }

        /** Rebuilds a partition's position, watermark, forced flush boundaries and seen ids from ClickHouse. */
        private void recover(PartitionState st) throws Exception {
            long t0 = System.nanoTime();
            TopicPartition tp = st.tp;
            OffsetAndMetadata com = consumer.committed(java.util.Set.of(tp), Duration.ofSeconds(30)).get(tp);
            long c = com == null ? -1 : com.offset();
            String where = "job = " + ClickHouse.q(spec.name()) + " AND topic = " + ClickHouse.q(tp.topic()) + " AND partition = " + tp.partition();
            Long done = ch.queryLong("SELECT max(end_offset) FROM " + Migrations.FLUSH_LOG + " WHERE " + where
                    + " AND state = 'done' HAVING count() > 0");
            long r = Math.max(c, done == null ? -1 : done);
            long logStart = consumer.beginningOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
            if (r < 0) {
                r = logStart;
            } else if (r < logStart) {
                log.error("event=kafka_retention_gap job={} partition={} resume_offset={} log_start_offset={} lost_records={}"
                        + " (records expired from Kafka before they were rolled up)", spec.name(), tp, r, logStart, logStart - r);
                r = logStart;
            }
            Long wm = ch.queryLong("SELECT watermark FROM " + Migrations.FLUSH_LOG + " WHERE " + where + " AND end_offset <= " + r
                    + " ORDER BY end_offset DESC LIMIT 1");
            TreeSet<Long> bounds = new TreeSet<>();
            st.legacy.clear();
            ch.forEach("SELECT start_offset, end_offset, min(rolled_up) FROM " + Migrations.FLUSH_LOG + " WHERE " + where
                    + " AND state = 'intent' AND end_offset > " + r + " GROUP BY start_offset, end_offset ORDER BY start_offset", rs -> {
                        bounds.add(rs.getLong(1));
                        bounds.add(rs.getLong(2));
                        if (rs.getInt(3) == 0) {
                            st.legacy.put(rs.getLong(1), rs.getLong(2));
                        }
                    });
            final long resume = r;
            bounds.removeIf(b -> b <= resume);
            st.watermark = wm == null ? WM_NONE : wm;
            int loaded = "events".equals(spec.kind()) ? loadSeenIds(st, where, r) : 0;
            st.start = r;
            st.next = r;
            st.committed = r;
            st.forced.clear();
            st.forced.addAll(bounds);
            consumer.seek(tp, r);
            long took = System.nanoTime() - t0;
            recoveryTime.record(took, TimeUnit.NANOSECONDS);
            partitionsRecovered.incrementAndGet();
            idsRecovered.addAndGet(loaded);
            log.info("event=partition_recovered job={} partition={} committed={} last_done={} resume={} forced_boundaries={} seen_ids={} took_ms={}",
                    spec.name(), tp, c, done, r, bounds, loaded, took / 1_000_000);
        }

        /**
         * Rebuilds the partition's retry store for resuming at {@code r}: the ids accepted at offsets
         * in {@code [r - N, r)} with record time {@code >= watermark(r) - W} (docs/exactly-once.md).
         * Since migration 8 a flush stores which of its records' ids it accepted (a bitmap); those
         * records are read again from Kafka and their ids hashed as the hot path hashes them. Flushes
         * stored before kept each accepted id's offset, time and hash, in two older tables (until their
         * TTL empties them): since the id hash changed (2026-11-27, evening, {@link SeriesIds#idHash})
         * those hashes are not used; their records are re-read by offset like the marked ones.
         * Returns the number of ids loaded.
         */
        private int loadSeenIds(PartitionState st, String where, long r) throws Exception {
            st.seen.clear(); // a recovery retried after a failed load starts over
            long from = Math.max(0, r - s.dedupMaxIds());
            long minTs = st.watermark == WM_NONE ? Long.MIN_VALUE : st.watermark - s.dedupWindowMs();
            String newerThan = st.watermark == WM_NONE ? "" : " >= " + minTs;
            java.util.stream.LongStream.Builder accepted = java.util.stream.LongStream.builder();
            ch.forEach("SELECT o FROM " + Migrations.SEEN_ID_BLOCKS + " ARRAY JOIN offsets AS o, ts AS t WHERE " + where
                    + " AND end_offset > " + from + " AND start_offset < " + r + " AND o >= " + from + " AND o < " + r
                    + (newerThan.isEmpty() ? "" : " AND t" + newerThan)
                    + " UNION ALL SELECT offset AS o FROM " + Migrations.SEEN_IDS + " WHERE " + where + " AND offset >= " + from
                    + " AND offset < " + r + (newerThan.isEmpty() ? "" : " AND toUnixTimestamp64Milli(ts)" + newerThan),
                    rs -> accepted.add(rs.getLong(1)));
            ch.forEach("SELECT start_offset, hex(marks) FROM " + Migrations.SEEN_ID_MARKS + " WHERE " + where + " AND end_offset > " + from
                    + " AND start_offset < " + r + (newerThan.isEmpty() ? "" : " AND toUnixTimestamp64Milli(max_ts)" + newerThan)
                    + " ORDER BY start_offset", rs -> FlushBuffer.SeenMarks.decode(rs.getLong(1), java.util.HexFormat.of().parseHex(rs.getString(2)), o -> {
                        if (o >= from && o < r) {
                            accepted.add(o);
                        }
                    }));
            // distinct: an offset twice is a flush stored twice beyond ClickHouse's deduplication window
            long[] offsets = accepted.build().sorted().distinct().toArray();
            SeenIdLoader loader = new SeenIdLoader(st, offsets, minTs);
            if (offsets.length > 0) {
                long first = readRange(st.tp, offsets[0], r, loader::record);
                long missing = loader.missing();
                if (missing > 0) {
                    log.warn("event=seen_ids_unrecoverable job={} partition={} ids={} first_offset_in_log={} (records with accepted client ids "
                            + "are no longer in Kafka: a retry of them would count again; keep Kafka's retention above aggregator.dedup.window plus the longest outage)",
                            spec.name(), st.tp, missing, first);
                }
            }
            return loader.loaded;
        }

        /**
         * Calls {@code each} for the records of {@code tp} from {@code from} (or the log's start, if
         * later) to {@code to}, read with a consumer of its own, outside the job's group. Returns
         * the offset of the first record read ({@code to} if none).
         */
        private long readRange(TopicPartition tp, long from, long to, java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
            Properties p = new Properties();
            p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, s.bootstrapServers());
            p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, MAX_POLL_RECORDS);
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            s.consumerOverrides().forEach(p::put);
            p.remove(ConsumerConfig.GROUP_ID_CONFIG);
            p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            p.put(ConsumerConfig.CLIENT_ID_CONFIG, "vigil-aggregator-" + spec.name() + "-" + s.instance() + "-recovery-" + tp.partition());
            long first = to;
            try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                    new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
                c.assign(List.of(tp));
                // records past the log's end (a log truncated below the committed offset) never come
                long end = Math.min(to, c.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp));
                c.seek(tp, from);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (c.position(tp) < end) {
                    if (!running || crashed) {
                        throw new IllegalStateException("job stopping while re-reading client ids of " + tp);
                    }
                    ConsumerRecords<byte[], byte[]> recs = c.poll(Duration.ofMillis(200));
                    noteGroupContact(); // the member's own heartbeats go on meanwhile
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

        private void backpressure() {
            boolean stop = overQueued() || anyLaneRetrying();
            List<TopicPartition> pause = new ArrayList<>();
            List<TopicPartition> resume = new ArrayList<>();
            for (PartitionState st : parts.values()) {
                boolean should = st.recovering || stop;
                if (should && !st.paused) {
                    pause.add(st.tp);
                    st.paused = true;
                } else if (!should && st.paused) {
                    resume.add(st.tp);
                    st.paused = false;
                }
            }
            if (!pause.isEmpty()) {
                consumer.pause(pause);
            }
            if (!resume.isEmpty()) {
                consumer.resume(resume);
            }
        }

        /**
         * A partition's polled events, {@link #GROUP} at a time: each record is first
         * {@linkplain #prepare prepared} (decoded, checked, its series found and its client id
         * hashed: nothing that depends on the records before it), then the group's client ids are
         * looked up in the retry store's table in one tight loop, then the records are processed in
         * order. A new id's table slot is one cache miss (the table does not fit the caches), and
         * issued together the group's misses overlap instead of stalling one record each.
         */
        private int processEvents(PartitionState st, List<ConsumerRecord<ByteBuffer, ByteBuffer>> records) {
            int n = 0;
            int size = records.size();
            for (int from = 0; from < size; from += GROUP) {
                int k = 0;
                for (int i = from, to = Math.min(size, from + GROUP); i < to; i++) {
                    ConsumerRecord<ByteBuffer, ByteBuffer> r = records.get(i);
                    if (r.offset() >= st.next) { // else already read (the partition was sought back)
                        prepare(group[k++], r);
                    }
                }
                long t = 0;
                for (int j = 0; j < k; j++) {
                    Prepared p = group[j];
                    if (p.hasId && p.idIndex < 0) { // a batch-form id's entry is usually the last one's
                        t += st.seen.touch(p.idHi, p.idLo);
                    }
                }
                // likewise the (series, bucket) groups and their measure rows (touch reads, never creates): with 1,000
                // series x 6 buckets they are ~3 MB a consumer thread, beyond its 1 MB L2 cache. Consumer threads 365-397
                // -> 349-366 ns per event (30 M x 3, ABAB). The series cache's slots the same way: no gain, not kept
                FlushBuffer buf = st.buf;
                for (int j = 0; j < k; j++) {
                    Prepared p = group[j];
                    if (p.info != null) {
                        t += buf.touch(p.info.ref, p.bucket);
                    }
                }
                touched = t;
                for (int j = 0; j < k; j++) {
                    Prepared p = group[j];
                    if (!st.held && process(st, p.r, p)) {
                        n++;
                    }
                    p.r = null; // the record's buffers are not held past the poll
                    p.e.buf = null;
                }
                if (st.held) {
                    return n;
                }
            }
            return n;
        }

        /** One record of the partition {@code st} (an event: {@code p} is it, prepared); false if it was skipped (already read). */
        private boolean process(PartitionState st, ConsumerRecord<ByteBuffer, ByteBuffer> r, Prepared p) {
            if (r.offset() < st.next) {
                return false;
            }
            boolean cutNow = false;
            while (!st.forced.isEmpty() && st.forced.peekFirst() <= r.offset()) {
                cut(st, st.forced.pollFirst());
                cutNow = true;
            }
            if (st.buf.records == 0) {
                st.bufStartedNanos = System.nanoTime();
            }
            st.watermark = Math.max(st.watermark, r.timestamp());
            st.buf.records++;
            if (isEvents) {
                handleEvent(st, p);
            } else {
                handleSample(st, r);
            }
            st.next = r.offset() + 1;
            if (st.forced.isEmpty() && (st.buf.records >= spec.maxRecordsPerFlush() || st.buf.keys() >= s.maxKeysPerFlush()
                    || st.buf.approxBytes() >= bytesPerFlush)) {
                if (bytesPerFlush < s.maxBytesPerFlush() && st.buf.approxBytes() >= bytesPerFlush && st.buf.approxBytes() < s.maxBytesPerFlush()
                        && st.buf.records < spec.maxRecordsPerFlush() && st.buf.keys() < s.maxKeysPerFlush()) {
                    memoryCuts.increment();
                }
                cut(st, st.next);
                cutNow = true;
            }
            if (cutNow && overQueued()) {
                st.held = true;
            }
            return true;
        }

        /** The job's cut, unstored flushes at or over their bounds (what {@link #backpressure} pauses at). */
        private boolean overQueued() {
            return queued() >= s.queueCapacity() || queuedBytes.get() >= s.maxQueuedBytes();
        }

        /** After a poll's records of a held partition: the rest is read again once the queue drains (see {@link PartitionState#held}). */
        private void holdBack(PartitionState st) {
            st.held = false;
            if (consumer.position(st.tp) != st.next) { // records of the poll left unread: fetched again later (else keep the fetched data)
                consumer.seek(st.tp, st.next);
            }
            if (!st.paused) {
                consumer.pause(List.of(st.tp));
                st.paused = true;
            }
        }

        /**
         * Publishes what this member holds (its partitions' buffers and retry stores, its series cache) and works out its
         * partitions' flush-buffer allowance from every job's totals (MemoryBudget): a few reads per job, once per poll.
         */
        private void accountMemory() {
            long b = 0;
            long r = 0;
            for (PartitionState st : parts.values()) {
                b += st.buf.approxBytes();
                r += st.seen.approxBytes();
            }
            heldBuffers = b;
            heldRetryStores = r;
            heldSeriesCache = seriesCache.bytes();
            heldPartitions = parts.size();
            MemoryBudget budget = s.memory();
            MemoryBudget.Totals t = budget.totals();
            bytesPerFlush = budget.bufferAllowance(t, s.maxBytesPerFlush());
            if (budget.overAndDueForLog(t)) {
                log.warn("event=memory_over_budget reported_by_job={} estimated={} budget={} partitions={} flush_buffers={} retry_stores={} series_caches={}"
                                + " queued_flushes={} allowance_per_partition={} (add instances or heap: docs/operations.md, AggregatorMemoryOverBudget)",
                        spec.name(), t.total(), budget.budget(), t.partitions(), t.flushBuffers(), t.retryStores(), t.seriesCaches(),
                        t.queuedFlushes(), bytesPerFlush);
            }
        }

        /** Withdraws this member's part of the estimate (its thread ends: what it held goes with it). */
        private void withdrawMemory() {
            heldBuffers = 0;
            heldRetryStores = 0;
            heldSeriesCache = 0;
            heldPartitions = 0;
        }

        private void afterPoll() {
            long now = System.nanoTime();
            boolean flushNow = flushRequested;
            if (flushNow) {
                flushRequested = false;
            }
            for (PartitionState st : parts.values()) {
                if (st.recovering) {
                    continue;
                }
                if (!st.forced.isEmpty()) {
                    long b = st.forced.peekFirst();
                    if (consumer.position(st.tp) >= b) {
                        st.forced.pollFirst();
                        cut(st, b);
                    }
                } else if (!st.buf.isEmpty() && (flushNow || now - st.bufStartedNanos >= flushInterval(st) && !overQueued())) {
                    // (a flush by time waits while the queue is over its bounds: queued, it would be stored no sooner)
                    cut(st, st.next);
                }
            }
            if (now - lastLagUpdateNanos > TimeUnit.SECONDS.toNanos(2)) {
                lastLagUpdateNanos = now;
                updateLag();
            }
            accountMemory();
        }

        /**
         * The partition's flush interval: the job's, or the catch-up interval while the partition is at least
         * {@code aggregator.catch-up.lag} records behind its end offset (until it is below half of that, so a partition
         * near the threshold does not switch at every poll). A partition that is behind serves late data anyway, and
         * fewer, larger flushes cost ClickHouse less per event (each writes a row per series, measure and bucket it saw,
         * and ClickHouse merges them again), so it catches up faster; once caught up, the job's interval keeps data fresh.
         */
        private long flushInterval(PartitionState st) {
            if (catchUpIntervalNanos == flushIntervalNanos || s.catchUpLag() <= 0) {
                return flushIntervalNanos;
            }
            java.util.OptionalLong behind = consumer.currentLag(st.tp);
            if (behind.isPresent()) {
                updateCatchingUp(st, behind.getAsLong());
            }
            return st.catchingUp ? catchUpIntervalNanos : flushIntervalNanos;
        }

        /**
         * The partition's catching-up state given {@code behind}, the records between its read position and its end
         * offset. Called from {@link #flushInterval} while its buffer holds records and from {@link #updateLag} every
         * 2 s: a partition whose last records were flushed by count has an empty buffer and would otherwise keep the
         * state of its last check for as long as nothing new arrives.
         */
        private void updateCatchingUp(PartitionState st, long behind) {
            if (catchUpIntervalNanos == flushIntervalNanos || s.catchUpLag() <= 0) {
                return;
            }
            boolean now = st.catchingUp ? behind >= (s.catchUpLag() + 1) / 2 : behind >= s.catchUpLag();
            if (now != st.catchingUp) {
                st.catchingUp = now;
                if (now) {
                    catchingUp.put(st.tp.partition(), this);
                } else {
                    catchingUp.remove(st.tp.partition(), this);
                }
                log.info("event={} job={} partition={} lag={} flush_interval_ms={}", now ? "catch_up_started" : "catch_up_ended",
                        spec.name(), st.tp.partition(), behind, TimeUnit.NANOSECONDS.toMillis(now ? catchUpIntervalNanos : flushIntervalNanos));
            }
        }

        private void updateLag() {
            List<TopicPartition> tps = new ArrayList<>(parts.keySet());
            if (!tps.isEmpty()) {
                try {
                    Map<TopicPartition, Long> ends = consumer.endOffsets(tps, Duration.ofSeconds(2));
                    for (TopicPartition tp : tps) {
                        PartitionState st = parts.get(tp);
                        Long end = ends.get(tp);
                        if (st != null && end != null && !st.recovering) {
                            int p = tp.partition();
                            updateCatchingUp(st, Math.max(0, end - st.next));
                            if (lag.put(p, new PartitionLag(this, Math.max(0, end - st.committed))) == null) {
                                gauges.add(Gauge.builder("vigil_aggregator_lag_records", lag, m -> {
                                    PartitionLag l = m.get(p);
                                    return l == null ? 0.0 : l.records();
                                })
                                        .description("records in the partition not yet stored (end offset minus committed flush end)")
                                        .tag("job", spec.name()).tag("partition", String.valueOf(p)).register(s.registry()));
                            }
                        }
                    }
                } catch (Exception e) {
                    log.debug("lag update failed: {}", e.toString());
                }
            }
            updateRate();
        }

        private void cut(PartitionState st, long end) {
            // a replay of a flush an older aggregator logged: the same range, written its way (no 1 m and 1 h blocks)
            boolean rollUp = st.legacy.isEmpty() || !st.legacy.remove(st.start, end);
            st.buf.applyPendingIncrements(); // so that the batch's bytes (max-queued-bytes) count the histograms' last growth
            FlushBuffer cutBuf = st.buf;
            FlushBatch b = new FlushBatch(spec.name(), st.tp, st.start, end, st.watermark, cutBuf, rollUp);
            // the next buffer before the batch is handed over: once the lane has it, it may be written and released
            // (b.buffer null) before this thread runs again
            st.buf = new FlushBuffer(cutBuf);
            st.start = end;
            st.bufStartedNanos = System.nanoTime();
            owners.put(b, st);
            queuedBytes.addAndGet(b.bytes);
            Lane lane = laneOf(st.tp);
            lane.queue.addLast(b);
            LockSupport.unpark(lane.thread);
        }

        private void handleCompleted(boolean sync) {
            Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
            FlushBatch b;
            while ((b = completed.poll()) != null) {
                PartitionState owner = owners.remove(b);
                if (owner != null && parts.get(b.tp) == owner) {
                    commit.put(b.tp, new OffsetAndMetadata(b.end));
                    owner.committed = Math.max(owner.committed, b.end);
                    offsetsCommittedCount.addAndGet(b.end - b.start);
                }
            }
            if (commit.isEmpty()) {
                return;
            }
            try {
                if (sync) {
                    consumer.commitSync(commit, Duration.ofSeconds(10));
                } else {
                    consumer.commitAsync(commit, (offsets, ex) -> {
                        if (ex != null) {
                            log.warn("event=commit_failed job={} offsets={} error=\"{}\" (harmless: the flush log records completion)",
                                    spec.name(), offsets, ex.toString());
                        }
                    });
                }
            } catch (Exception e) {
                log.warn("event=commit_failed job={} error=\"{}\"", spec.name(), e.toString());
            }
        }

        /**
         * Notes contact with the group when the consumer's heartbeat thread got an answer since the last call (Kafka's
         * {@code heartbeat-total}, counted as answers arrive). Consumer thread only.
         */
        private void noteGroupContact() {
            if (heartbeats == null) {
                if (contactGuardOff) {
                    return;
                }
                for (var m : consumer.metrics().entrySet()) {
                    if (m.getKey().name().equals("heartbeat-total") && m.getKey().group().equals("consumer-coordinator-metrics")) {
                        heartbeats = m.getValue();
                    }
                }
                if (heartbeats == null) {
                    // without a way to tell contact, holding intents would hold them for ever: the guard is off instead
                    contactGuardOff = true;
                    contactLimitNanos = Long.MAX_VALUE;
                    log.warn("event=group_contact_guard_off job={} member={} reason=\"no heartbeat-total metric in this consumer\"", spec.name(), index);
                    return;
                }
            }
            Object v = heartbeats.metricValue();
            double n = v instanceof Number x ? x.doubleValue() : -1;
            // an answer that told the member it was expelled counts too, and its generation is reset: not contact (the
            // next poll runs onPartitionsLost, which cancels the flushes)
            if (n != heartbeatsSeen && consumer.groupMetadata().generationId() >= 0) {
                heartbeatsSeen = n;
                groupContactNanos = System.nanoTime();
            }
        }

        private void gracefulDrain() {
            stopping();
            for (PartitionState st : parts.values()) {
                if (!st.recovering && st.forced.isEmpty() && !st.buf.isEmpty()) {
                    cut(st, st.next);
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline && !allLanesIdle() && !crashed) {
                noteGroupContact();
                sleepQuietly(10);
            }
            handleCompleted(true);
        }

        /**
         * The hot path's first half, for one record of a group: decodes through
         * {@link RecordCodec#scanEvent} (no Event, no maps, no Strings for a series seen before),
         * checks it, finds its series in the cache and hashes its client id. Reads the record and
         * this member's caches only, never the partition's state, so a group can be prepared before
         * any of it is processed; what it finds wrong becomes a dead letter in {@link #handleEvent},
         * in order. Records the fast path does not cover (experiments with a unit, measures not in
         * encoder order) take {@link #handleEventDecoded}, the reference behaviour this path reproduces.
         */
        private void prepare(Prepared p, ConsumerRecord<ByteBuffer, ByteBuffer> r) {
            p.clear(r);
            EventScratch e = p.e;
            ByteBuffer value = r.value();
            try {
                if (value != null && value.hasArray()) {
                    RecordCodec.scanEvent(value.array(), value.arrayOffset() + value.position(), value.remaining(), e);
                } else {
                    RecordCodec.scanEvent(bytes(value), e);
                }
            } catch (RuntimeException ex) {
                p.dead("undecodable", ex.getMessage());
                return;
            }
            if (!e.measuresAscending || unitRollupsTake(e.unitLen >= 0, e.experimentCount > 0)) {
                p.decoded = true;
                return;
            }
            String[] late = timeProblem(r, e.time);
            if (late != null) {
                p.dead(late[0], late[1]);
                return;
            }
            if (e.tenantLen == 0 || e.typeLen == 0) {
                p.dead("invalid_event", "empty tenant or type");
                return;
            }
            byte[] b = e.buf;
            for (int i = 0; i < e.measureCount; i++) {
                double v = e.measureVal[i];
                if (!Double.isFinite(v)) {
                    p.dead("invalid_value", "measure " + measureNames.get(b, e.measureOff[i], e.measureLen[i]) + " is not finite: " + v);
                    return;
                }
            }
            p.experimentsWithoutUnit = e.experimentCount > 0 && e.unitLen < 0 && (hasExperiments || hasExposures);
            if (!hasSeries) {
                // nothing of this event is in this job's rollups (events with a unit that the unit
                // rollups need take handleEventDecoded above): no seen id, no series lookup
                return;
            }
            int hash = SeriesCache.hash(e);
            SeriesCache.Entry info = seriesCache.get(e, hash);
            if (info == null) {
                info = newSeries(e, hash, bytes(value));
            }
            p.info = info;
            p.bucket = Math.floorDiv(e.time, bucketMs) * spec.bucketSeconds();
            if (e.eventIdLen >= 0) {
                idKey(p, info.idSeed, b, e.eventIdOff, e.eventIdLen);
            }
        }

        /**
         * {@link SeenIds#key} of the event's client id into {@code p}. A batch-form id's prefix (the gateway's batch id) is
         * hashed once per run of records that share it and the tenant: the last one's hash is kept with a copy of its bytes.
         */
        private void idKey(Prepared p, long seed, byte[] b, int off, int len) {
            p.hasId = true;
            long form = SeenIds.batchForm(b, off, len);
            int n = (int) (form >>> 32);
            if (form >= 0 && seed == lastPrefixSeed && n == lastPrefixLen && java.util.Arrays.equals(b, off, off + n, lastPrefix, 0, n)) {
                p.idHi = lastPrefixHi;
                p.idLo = lastPrefixLo;
                p.idIndex = (int) form;
                return;
            }
            p.idIndex = SeenIds.key(seed, b, off, len, idHash);
            p.idHi = idHash[0];
            p.idLo = idHash[1];
            if (p.idIndex >= 0) {
                if (lastPrefix.length < n) {
                    lastPrefix = new byte[Math.max(n, 2 * lastPrefix.length)];
                }
                System.arraycopy(b, off, lastPrefix, 0, n);
                lastPrefixLen = n;
                lastPrefixSeed = seed;
                lastPrefixHi = p.idHi;
                lastPrefixLo = p.idLo;
            }
        }

        /** The hot path's second half, in the partition's order: drops client retries and aggregates. */
        private void handleEvent(PartitionState st, Prepared p) {
            ConsumerRecord<ByteBuffer, ByteBuffer> r = p.r;
            if (p.deadReason != null) {
                deadLetter(st, r, p.deadReason, p.deadDetail);
                return;
            }
            if (p.decoded) {
                handleEventDecoded(st, r);
                return;
            }
            if (p.experimentsWithoutUnit) {
                experimentsWithoutUnit.increment();
            }
            SeriesCache.Entry info = p.info;
            if (info == null) {
                return;
            }
            if (p.hasId && !firstSight(st, r, p.idHi, p.idLo, p.idIndex)) {
                return;
            }
            EventScratch e = p.e;
            long t = e.time;
            if (t > st.buf.maxEventMs) {
                st.buf.maxEventMs = t;
            }
            FlushBuffer.SeriesRef ref = admitted(info, limiterEpoch);
            FlushBuffer buf = st.buf;
            FlushBuffer.Group g = buf.group(ref, p.bucket);
            g.add(1.0, false);
            byte[] b = e.buf;
            for (int i = 0, nm = e.measureCount; i < nm; i++) {
                buf.addValue(buf.row(g, measureNames.get(i, b, e.measureOff[i], e.measureLen[i]), i), e.measureVal[i]);
            }
        }

        /** First sight of a series' bytes (since the cache was last reset): the exact String-based identity. */
        private SeriesCache.Entry newSeries(EventScratch e, int hash, byte[] value) {
            Event ev = RecordCodec.decodeEvent(value);
            SortedMap<String, String> labels = allowed(ev.dims());
            long sid = SeriesIds.seriesId(ev.type(), labels);
            FlushBuffer.SeriesRef ref = new FlushBuffer.SeriesRef(ev.tenant(), FlushBuffer.KIND_EVENT, ev.type(), sid, labels);
            long resets = seriesCache.resets();
            SeriesCache.Entry entry = seriesCache.put(e, hash, ev.tenant(), ev.type(), ref);
            if (seriesCache.resets() != resets) {
                seriesCacheReset();
            }
            return entry;
        }

        /** Counts a reset of the series cache; logs at most once a minute (a burst of new series can reset it every second). */
        private void seriesCacheReset() {
            seriesCacheResets.increment();
            cacheResetsUnlogged++;
            long now = System.nanoTime();
            if (cacheResetLoggedNanos == 0 || now - cacheResetLoggedNanos >= TimeUnit.MINUTES.toNanos(1)) {
                log.warn("event=series_cache_reset job={} member={} resets={} max_bytes={} (more distinct series than the cache holds: each is"
                        + " decoded in full again: fix the client sending ever new label values, raise aggregator.series-cache-bytes, or add consumer threads)", spec.name(), index,
                        cacheResetsUnlogged, s.seriesCacheBytes());
                cacheResetLoggedNanos = now;
                cacheResetsUnlogged = 0;
            }
        }

        /** The reference path over a decoded {@link Event}. */
        private void handleEventDecoded(PartitionState st, ConsumerRecord<ByteBuffer, ByteBuffer> r) {
            Event e;
            byte[] rec = bytes(r.value());
            try {
                e = RecordCodec.decodeEvent(rec);
            } catch (RuntimeException ex) {
                deadLetter(st, r, "undecodable", ex.getMessage());
                return;
            }
            long t = e.timeMillis();
            if (!timeOk(st, r, t)) {
                return;
            }
            if (e.tenant().isEmpty() || e.type().isEmpty()) {
                deadLetter(st, r, "invalid_event", "empty tenant or type");
                return;
            }
            for (Map.Entry<String, Double> m : e.measures().entrySet()) {
                double v = m.getValue();
                if (!Double.isFinite(v)) {
                    deadLetter(st, r, "invalid_value", "measure " + m.getKey() + " is not finite: " + v);
                    return;
                }
            }
            String unit = e.unitId();
            if (unit == null && !e.experiments().isEmpty() && (hasExperiments || hasExposures)) {
                experimentsWithoutUnit.increment();
            }
            if (!hasSeries && !unitRollupsTake(unit != null, !e.experiments().isEmpty())) {
                return; // nothing of this event is in this job's rollups: its id need not be remembered either
            }
            if (e.eventId() != null) {
                int index = decodedIdKey(e, rec, rekeyScratch, idHash);
                if (!firstSight(st, r, idHash[0], idHash[1], index)) {
                    return;
                }
            }
            if (t > st.buf.maxEventMs) {
                st.buf.maxEventMs = t;
            }
            String tenant = e.tenant();
            String type = e.type();
            int day = (int) Math.floorDiv(t, 86_400_000L);
            boolean unitMeasures = unit != null && (hasUnitDaily || hasExperiments && !e.experiments().isEmpty());
            // decided once for the event's rows of every kind: in a job with series and unit rollups, a refused value is
            // counted once (the series rows take the names as decided: __other__ passes the limiter uncounted)
            String[] names = unitMeasures ? unitMeasureNames(tenant, type, e.measures()) : null;
            if (hasSeries) {
                SortedMap<String, String> labels = allowed(e.dims());
                long sid = SeriesIds.seriesId(type, labels);
                String name = type;
                String to = limiter.overflowMetric(tenant, type, sid);
                if (to != null) {
                    name = to;
                    labels = OVERFLOW;
                    sid = SeriesIds.seriesId(to, OVERFLOW);
                }
                long bucket = Math.floorDiv(t, bucketMs) * spec.bucketSeconds();
                st.buf.addSeries(tenant, FlushBuffer.KIND_EVENT, name, "", sid, bucket, labels, 1.0, false);
                int i = 0;
                for (Map.Entry<String, Double> m : e.measures().entrySet()) {
                    String measure = names != null ? names[i++] : m.getKey();
                    st.buf.addSeries(tenant, FlushBuffer.KIND_EVENT, name, measure, sid, bucket, labels, m.getValue(), true);
                }
            }
            if (unit != null && hasUnitDaily) {
                st.buf.addUnitDaily(tenant, type, "", unit, day, 1.0);
                int i = 0;
                for (Map.Entry<String, Double> m : e.measures().entrySet()) {
                    st.buf.addUnitDaily(tenant, type, names[i++], unit, day, m.getValue());
                }
            }
            if (unit != null && !e.experiments().isEmpty()) {
                for (Map.Entry<String, String> x : e.experiments().entrySet()) {
                    if (hasExperiments) {
                        st.buf.addUnit(tenant, x.getKey(), x.getValue(), type, "", unit, day, 1.0);
                        int i = 0;
                        for (Map.Entry<String, Double> m : e.measures().entrySet()) {
                            String name = names[i++];
                            st.buf.addUnit(tenant, x.getKey(), x.getValue(), type, name, unit, day, m.getValue());
                            st.buf.addUnitHist(tenant, x.getKey(), x.getValue(), type, name, unit, day, m.getValue());
                        }
                    }
                    if (hasExposures) {
                        st.buf.addExposure(tenant, x.getKey(), x.getValue(), unit, t);
                    }
                }
            }
        }

        /**
         * The names an event's measures take in the per-unit rows, in its measures' order: each measure's own, or
         * {@value FlushBuffer#OTHER_MEASURE} past the tenant's limit of (metric, measure) names, as in the series rows
         * (the same names, the same limiter). A unit row per measure name and unit: without the limit, ever new measure
         * names (an id in a name) made the experiment tables' rows unbounded however few the units.
         */
        private String[] unitMeasureNames(String tenant, String type, Map<String, Double> measures) {
            if (admittedMeasuresEpoch != limiterEpoch) { // a new limiter window: names are admitted anew
                admittedMeasures.clear();
                admittedMeasuresEpoch = limiterEpoch;
            }
            Map<String, Set<String>> ofTenant = admittedMeasures.get(tenant);
            Set<String> admitted = ofTenant == null ? null : ofTenant.get(type);
            String[] names = new String[measures.size()];
            int i = 0;
            for (String m : measures.keySet()) {
                String name = m;
                if (admitted == null || !admitted.contains(m)) {
                    name = limiter.measureName(tenant, type, m); // counts and logs a refused one, every time
                    if (name.equals(m)) { // only admitted names are kept, so this holds no more than the limiter does
                        admitted = admittedMeasures.computeIfAbsent(tenant, k -> new HashMap<>()).computeIfAbsent(type, k -> new HashSet<>());
                        admitted.add(m);
                    }
                }
                names[i++] = name;
            }
            return names;
        }

        private void handleSample(PartitionState st, ConsumerRecord<ByteBuffer, ByteBuffer> r) {
            Sample smp;
            try {
                smp = RecordCodec.decodeSample(bytes(r.value()));
            } catch (RuntimeException ex) {
                deadLetter(st, r, "undecodable", ex.getMessage());
                return;
            }
            long t = smp.timeMillis();
            if (!timeOk(st, r, t)) {
                return;
            }
            if (smp.tenant().isEmpty() || smp.name().isEmpty()) {
                deadLetter(st, r, "invalid_sample", "empty tenant or name");
                return;
            }
            if (t > st.buf.maxEventMs) {
                st.buf.maxEventMs = t;
            }
            double v = smp.value();
            if (hasRaw) {
                long sid = SeriesIds.seriesId(smp.name(), smp.labels());
                st.buf.samples.str(smp.tenant()).str(smp.name()).i64(sid).strMap(smp.labels()).i64(t).f64(v).endRow();
            }
            if (hasSeries && !Double.isFinite(v)) {
                nonFiniteSamples.increment(); // NaN (Prometheus' staleness marker among them) or an infinity: no rollup row
            } else if (hasSeries) {
                SortedMap<String, String> labels = allowed(smp.labels());
                long sid = SeriesIds.seriesId(smp.name(), labels);
                String name = smp.name();
                String to = limiter.overflowMetric(smp.tenant(), name, sid);
                if (to != null) {
                    name = to;
                    labels = OVERFLOW;
                    sid = SeriesIds.seriesId(to, OVERFLOW);
                }
                long bucket = Math.floorDiv(t, bucketMs) * spec.bucketSeconds();
                st.buf.addSeries(smp.tenant(), FlushBuffer.KIND_SAMPLE, name, "", sid, bucket, labels, v, true);
            }
        }

    }

    // ---------------------------------------------------------------- flusher thread

    /**
     * A lane that dies (an Error while encoding or writing) fails the job, so reconcile restarts it;
     * otherwise its queue would never drain and the job would stay paused while reporting running.
     */
    private void flusherLoop(Lane lane) {
        try {
            writeQueuedFlushes(lane);
        } catch (Throwable t) {
            if (!crashed) {
                fail(t);
            }
        }
    }

    private void writeQueuedFlushes(Lane lane) {
        while (true) {
            FlushBatch b = lane.queue.peekFirst();
            if (b == null) {
                if (consumersDone() || crashed) {
                    return;
                }
                LockSupport.parkNanos(5_000_000);
                continue;
            }
            lane.inFlight = b;
            boolean ok = writeWithRetry(lane, b);
            if (!crashed) {
                // before the lane looks idle, so a drain or revoke that sees it idle commits it
                PartitionState owner = owners.get(b);
                if (ok && owner != null && !owner.member.abandoned && owner.member.thread.isAlive()) {
                    owner.member.completed.add(b);
                } else {
                    owners.remove(b); // not committed here (a dead member reads no completions): the flush log has it
                }
            }
            b.release(); // its buffer and blocks: a completed flush waits for the consumer's next poll as a (partition, offset) only
            lane.queue.pollFirst();
            queuedBytes.addAndGet(-b.bytes);
            lane.inFlight = null;
            if (crashed) {
                return;
            }
        }
    }

    private boolean writeWithRetry(Lane lane, FlushBatch b) {
        long backoff = 100;
        while (true) {
            if (b.cancelled || crashed) {
                return false;
            }
            try {
                if (!write(b)) {
                    if (b.cancelled) {
                        flushesAbandoned.increment();
                        log.warn("event=flush_abandoned job={} batch={} steps_done={} reason=partition_released", spec.name(), b, b.stepsDone);
                    }
                    return false;
                }
                if (lane.retrying) {
                    log.info("event=job_recovered job={} batch={}", spec.name(), b);
                    laneRetrying(lane, false);
                }
                return true;
            } catch (Exception e) {
                if (crashed) {
                    return false;
                }
                laneRetrying(lane, true);
                lastError = e.getClass().getSimpleName() + ": " + firstLine(e.getMessage());
                lastErrorAtMs = System.currentTimeMillis();
                retries.increment();
                log.warn("event=flush_failed job={} batch={} step={} retry_in_ms={} error=\"{}\"", spec.name(), b, b.stepsDone, backoff, lastError);
                sleepQuietly(backoff);
                backoff = Math.min(backoff * 2, 10_000);
            }
        }
    }

    private static String firstLine(String m) {
        if (m == null) {
            return "";
        }
        int i = m.indexOf('\n');
        return truncate(i < 0 ? m : m.substring(0, i), 300);
    }

    /**
     * Waits until the member that cut {@code b} has heard from its group within half the session timeout; false if the
     * flush is cancelled meanwhile. Why: a member cut off from Kafka but not from ClickHouse is expelled after the session
     * timeout, and the partition's new owner resumes from the flush log as it finds it. An intent written after that
     * would let this member store records the new owner stores too; an intent written while the member was surely
     * still in the group is one the new owner finds and follows. What is left is an intent insert that takes longer
     * than the other half of the session (docs/exactly-once.md, "Zombie writer").
     */
    private boolean awaitGroupContact(FlushBatch b) {
        PartitionState owner = owners.get(b);
        if (owner == null) {
            return !b.cancelled;
        }
        Member m = owner.member;
        boolean logged = false;
        long heldSince = System.nanoTime();
        while (System.nanoTime() - m.groupContactNanos > m.contactLimitNanos) {
            if (b.cancelled || crashed || m.abandoned || !m.thread.isAlive()) {
                return false;
            }
            if (!logged) {
                logged = true;
                log.warn("event=flush_held job={} batch={} reason=no_group_contact since_ms={}", spec.name(), b,
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - m.groupContactNanos));
            }
            sleepQuietly(20);
        }
        if (logged) {
            log.info("event=flush_released job={} batch={} held_ms={}", spec.name(), b, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - heldSince));
        }
        return !b.cancelled;
    }

    /**
     * Writes the flush's steps not done yet; false, leaving the rest undone, if the flush was cancelled between two steps:
     * its partition was released (a revoke that stopped waiting for it, or lost), and a new owner may already have
     * recovered past it, so a step begun now could store its records a second time. What is already stored is
     * replayed with the same tokens by that owner if it saw the intent row; a step in progress is not stopped
     * (docs/exactly-once.md, "Zombie writer").
     */
    private boolean write(FlushBatch b) throws Exception {
        if (b.cancelled) {
            return false;
        }
        if (b.blocks == null) {
            List<FlushBuffer.Block> blocks = new ArrayList<>(b.buffer.encode(b.rollUp));
            FlushBuffer.Block ids = b.idBlock();
            if (ids != null) {
                blocks.add(ids);
            }
            b.blocks = blocks;
        }
        if (b.stepsDone < 1) {
            if (!awaitGroupContact(b)) {
                return false;
            }
            insertFlushLog(b, 1);
            b.stepsDone = 1;
        }
        // again before anything is stored: the intent insert may have outlasted half the member's session (a slow
        // ClickHouse), and the group may have given the partition to another instance meanwhile, which recovered before
        // the intent row landed and cuts its own flushes. Held here, such a flush is given up when the member learns it
        // lost the partition (what is left of the race: an expulsion between this check and the inserts)
        if (b.stepsDone < 3 && !awaitGroupContact(b)) {
            return false;
        }
        if (b.stepsDone < 2) {
            List<ProducerRecord<byte[], byte[]>> dl = b.buffer.deadLetters;
            if (!dl.isEmpty()) {
                List<Future<RecordMetadata>> fs = new ArrayList<>(dl.size());
                for (ProducerRecord<byte[], byte[]> pr : dl) {
                    fs.add(deadLetterProducer().send(pr));
                }
                // these futures complete within the producer's linger (5 ms) once their batch is sent
                for (Future<RecordMetadata> f : fs) {
                    f.get(60, TimeUnit.SECONDS);
                }
                Map<String, Integer> byReason = new LinkedHashMap<>();
                for (ProducerRecord<byte[], byte[]> pr : dl) {
                    byReason.merge(new String(pr.headers().lastHeader("vigil.dlq.reason").value(), StandardCharsets.UTF_8), 1, Integer::sum);
                }
                log.warn("event=dead_lettered job={} batch={} topic={} by_reason={} first_detail=\"{}\"", spec.name(), b, s.deadLetterTopic(),
                        byReason, new String(dl.getFirst().headers().lastHeader("vigil.dlq.detail").value(), StandardCharsets.UTF_8));
            }
            b.stepsDone = 2;
        }
        if (b.cancelled) {
            return false;
        }
        if (b.stepsDone < 3) {
            insertBlocks(b);
            b.stepsDone = 3;
        }
        if (b.cancelled) {
            return false;
        }
        if (b.stepsDone < 4) {
            insertFlushLog(b, 2);
            b.stepsDone = 4;
        }
        flushLatency.record(System.nanoTime() - b.createdNanos, TimeUnit.NANOSECONDS);
        flushesDone.incrementAndGet();
        storedUpTo(b.buffer.maxEventMs);
        log.debug("event=flushed job={} batch={} records={} blocks={}", spec.name(), b, b.buffer.records, b.blocks.size());
        return true;
    }

    /**
     * Inserts the blocks of {@code b} not stored yet: the 10 s rollup block first and alone, then the others
     * concurrently (one on this thread, the rest on {@link #blockWriters}). Waits for all of those, even when one fails
     * (a retry then resends only the ones not stored, and none of them is still in flight; only an interrupt, which
     * comes with a crash, leaves without waiting), and rethrows the first failure. Measured: a flush's three rollup
     * inserts took 68-88 + 26-28 + 18-23 ms one after the other.
     *
     * <p>Why the 10 s block first: during a rolling upgrade, a flush this aggregator left pending may be replayed by an
     * older one, which writes only the 10 s block and lets the views write the coarse rows. Had the coarse blocks been
     * stored before the 10 s block, that replay would store them a second time through the views. With this order the
     * worst case is the opposite one (10 s stored, coarse rows not: the older replay's 10 s block is a duplicate, so
     * the views do not run), documented in docs/exactly-once.md.
     */
    private void insertBlocks(FlushBatch b) throws Exception {
        if (b.blockStored == null) {
            b.blockStored = new boolean[b.blocks.size()];
        }
        List<Integer> todo = new ArrayList<>(b.blocks.size());
        for (int i = 0; i < b.blocks.size(); i++) {
            if (!b.blockStored[i]) {
                if (b.blocks.get(i).table().equals(Migrations.ROLLUP_10S)) {
                    insert(b, b.blocks.get(i));
                    b.blockStored[i] = true;
                } else {
                    todo.add(i);
                }
            }
        }
        if (todo.isEmpty()) {
            return;
        }
        List<Future<?>> others = new ArrayList<>(todo.size() - 1);
        List<FlushBuffer.Block> blocks = b.blocks;
        boolean[] stored = b.blockStored; // locals: a lane given up (crash, close) releases b while these may still run
        for (int k : todo.subList(1, todo.size())) {
            others.add(blockWriters.submit(() -> {
                insert(b, blocks.get(k));
                stored[k] = true; // read after Future.get, which orders it
                return null;
            }));
        }
        Exception failed = null;
        try {
            int first = todo.getFirst();
            insert(b, b.blocks.get(first));
            b.blockStored[first] = true;
        } catch (Exception e) {
            failed = e;
        }
        for (Future<?> f : others) {
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                if (failed == null) {
                    failed = e.getCause() instanceof Exception ex ? ex : new RuntimeException(e.getCause());
                }
            }
        }
        if (failed != null) {
            throw failed;
        }
    }

    private void insert(FlushBatch b, FlushBuffer.Block blk) throws Exception {
        long t0 = System.nanoTime();
        ClickHouse.InsertResult res = ch.insert(blk.table(), blk.columns(), blk.rows(), b.token(blk.table()));
        TableMeters tm = byTable.computeIfAbsent(blk.table(), this::tableMeters);
        tm.insert().record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
        tm.rows().increment(blk.rows().rows());
        tm.blocks().increment();
        if (res.deduplicated()) {
            tm.deduplicated().increment();
        }
        rowsWrittenCount.addAndGet(blk.rows().rows());
    }

    /** The meters of one table this job writes. */
    private record TableMeters(Timer insert, Counter rows, Counter blocks, Counter deduplicated) {
    }

    private TableMeters tableMeters(String table) {
        MeterRegistry reg = s.registry();
        String job = spec.name();
        return new TableMeters(
                Timer.builder("vigil_aggregator_insert_duration")
                        .description("one block's INSERT into ClickHouse, by table (a flush waits for all of its blocks)")
                        .tag("job", job).tag("table", table).publishPercentiles(0.5, 0.99).register(reg),
                Counter.builder("vigil_aggregator_rows_written").tag("job", job).tag("table", table).register(reg),
                Counter.builder("vigil_aggregator_blocks_written").tag("job", job).tag("table", table).register(reg),
                Counter.builder("vigil_aggregator_blocks_deduplicated").tag("job", job).tag("table", table).register(reg));
    }

    /** Lanes finish flushes concurrently: the newest stored event time only moves forward. */
    private synchronized void storedUpTo(long eventMs) {
        if (eventMs > newestStoredEventMs) {
            newestStoredEventMs = eventMs;
        }
    }

    static final List<String> FLUSH_LOG_COLUMNS = List.of("job", "topic", "partition", "start_offset", "end_offset", "state",
            "watermark", "records", "max_event_ms", "instance", "created_at", "rolled_up");

    private void insertFlushLog(FlushBatch b, int stateCode) throws Exception {
        RowBinary rb = new RowBinary(128);
        rb.str(b.job).str(b.tp.topic()).i32(b.tp.partition()).i64(b.start).i64(b.end).u8(stateCode).i64(b.watermark)
                .i64(b.buffer.records).i64(b.buffer.maxEventMs).str(s.instance()).i64(System.currentTimeMillis())
                .u8(b.rollUp ? 1 : 0).endRow();
        ch.insert(Migrations.FLUSH_LOG, FLUSH_LOG_COLUMNS, rb, b.token(Migrations.FLUSH_LOG + (stateCode == 1 ? "/intent" : "/done")));
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- control and status

    /** Graceful stop: flush what was read, wait for ClickHouse, commit, leave the group. */
    @Override
    public void close() {
        running = false;
        try {
            long consumersDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            for (Member m : members) {
                m.thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(consumersDeadline - System.nanoTime())));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            for (Lane l : lanes) {
                l.thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
            boolean stuck = false;
            for (Lane l : lanes) {
                stuck |= l.thread.isAlive();
            }
            if (stuck) {
                // ClickHouse still refuses a flush: abandon it (not committed; the next owner replays it).
                log.warn("event=job_stop_abandoning_flush job={} queued={} last_error=\"{}\"", spec.name(), queued(), lastError);
                crashed = true;
                for (Lane l : lanes) {
                    l.thread.interrupt();
                }
                for (Lane l : lanes) {
                    l.thread.join(TimeUnit.SECONDS.toMillis(10));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        blockWriters.shutdown();
        try {
            ch.close();
        } finally {
            closeDeadLetters(Duration.ofSeconds(10));
            removeGauges();
        }
        log.info("event=job_stopped job={} version={}", spec.name(), version);
    }

    /** This job's dead-letter producer ({@link WorkerSettings#deadLetterProducers}), created with its first dead letter. */
    private org.apache.kafka.clients.producer.Producer<byte[], byte[]> deadLetters;
    private boolean deadLettersClosed;
    /** Guards the two fields above; not the worker's own lock, which status calls take (a producer's close can take seconds). */
    private final Object deadLettersLock = new Object();

    private org.apache.kafka.clients.producer.Producer<byte[], byte[]> deadLetterProducer() {
        synchronized (deadLettersLock) {
            if (deadLettersClosed) {
                // a flusher still running after the job stopped (a crash): its flush fails, and is replayed by the next owner
                throw new IllegalStateException("job " + spec.name() + " stopped: its dead-letter producer is closed");
            }
            if (deadLetters == null) {
                deadLetters = s.deadLetterProducers().apply(spec.name());
            }
            return deadLetters;
        }
    }

    /** Closes the dead-letter producer, waiting at most {@code timeout} for sends in flight (none after a graceful stop). */
    private void closeDeadLetters(Duration timeout) {
        synchronized (deadLettersLock) {
            deadLettersClosed = true;
            if (deadLetters != null) {
                try {
                    deadLetters.close(timeout);
                } catch (RuntimeException e) {
                    log.warn("event=dead_letter_producer_close_failed job={} error=\"{}\"", spec.name(), e.toString());
                }
                deadLetters = null;
            }
        }
    }

    private void removeGauges() {
        for (io.micrometer.core.instrument.Meter g : gauges) {
            s.registry().remove(g);
        }
        gauges.clear();
        s.memory().unregister(memory); // (its members' buffers and stores are released with the worker)
    }

    /** This job's part of the memory budget: its members' estimates as they published them after their last poll. */
    private final MemoryBudget.Holder memory = new MemoryBudget.Holder() {
        @Override
        public long flushBuffers() {
            return overMembers(m -> m.heldBuffers);
        }

        @Override
        public long retryStores() {
            return overMembers(m -> m.heldRetryStores);
        }

        @Override
        public long seriesCaches() {
            return overMembers(m -> m.heldSeriesCache);
        }

        @Override
        public long queuedFlushes() {
            return queuedBytes.get();
        }

        @Override
        public int partitions() {
            return (int) overMembers(m -> m.heldPartitions);
        }
    };

    private long overMembers(java.util.function.ToLongFunction<Member> f) {
        long n = 0;
        for (Member m : members) {
            n += f.applyAsLong(m);
        }
        return n;
    }

    /**
     * Abandons the worker as a crash would: no flush, no commit; in-flight inserts may or may not
     * land. For crash tests.
     */
    public void crash() {
        crashed = true;
        running = false;
        for (Lane l : lanes) {
            l.thread.interrupt();
        }
        for (Member m : members) {
            KafkaConsumer<ByteBuffer, ByteBuffer> c = m.consumer;
            if (c != null) {
                c.wakeup();
            }
        }
        try {
            for (Member m : members) {
                m.thread.join(10_000);
            }
            for (Lane l : lanes) {
                l.thread.join(10_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        blockWriters.shutdown(); // in-flight inserts finish or not, as in a crash
        try {
            ch.close();
        } finally {
            closeDeadLetters(Duration.ZERO); // dead letters not sent yet are lost with the crash, and resent by the replay
            removeGauges();
        }
    }

    /** Status for GET /api/v1/jobs. */
    public Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", spec.name());
        m.put("version", version);
        m.put("state", state.name().toLowerCase(java.util.Locale.ROOT));
        long total = 0;
        Map<String, Long> perPartition = new TreeMap<>();
        for (Map.Entry<Integer, PartitionLag> e : lag.entrySet()) {
            total += e.getValue().records();
            perPartition.put(String.valueOf(e.getKey()), e.getValue().records());
        }
        m.put("lag", total);
        m.put("lag_by_partition", perPartition);
        m.put("records_per_second", Math.round(recordsPerSecond));
        m.put("records_consumed", consumedCount.get());
        m.put("rows_written", rowsWrittenCount.get());
        m.put("queued_flushes", queued());
        m.put("queued_bytes_estimate", queuedBytes.get());
        m.put("catching_up_partitions", new TreeSet<>(catchingUp.keySet()));
        m.put("newest_stored_event_ms", newestStoredEventMs == Long.MIN_VALUE ? null : newestStoredEventMs);
        m.put("series_overflow", limiter.overflowTotal());
        m.put("last_error", lastError);
        m.put("last_error_at_ms", lastError == null ? null : lastErrorAtMs);
        m.put("spec", spec);
        return m;
    }

    /** Partitions this worker recovered (each assignment counts), and the client ids their retry stores were rebuilt with. */
    public long partitionsRecovered() {
        return partitionsRecovered.get();
    }

    public long idsRecovered() {
        return idsRecovered.get();
    }

    public long recordsConsumed() {
        return consumedCount.get();
    }

    /** Offsets (records, including dropped and dead-lettered ones) covered by flushes stored and committed by this worker. */
    public long offsetsCommitted() {
        return offsetsCommittedCount.get();
    }

    /** System.nanoTime() when this worker got its first records to process (0 before). */
    public long firstRecordNanos() {
        return firstRecordNanos;
    }

    /** Flushes written to ClickHouse (done row stored). */
    public long flushesWritten() {
        return flushesDone.get();
    }

    /** Mean and max of the time from cutting a flush to its done row, in ms. */
    public String flushLatencySummary() {
        return String.format(java.util.Locale.ROOT, "mean %.0f ms, max %.0f ms", flushLatency.mean(TimeUnit.MILLISECONDS),
                flushLatency.max(TimeUnit.MILLISECONDS));
    }

    public String lastError() {
        return lastError;
    }
}
