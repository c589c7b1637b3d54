package dev.vigil.aggregator;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
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
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteBufferDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;

/**
 * One running rollup job: one or more Kafka consumers ("members", spec {@code consumers}) in the
 * job's own consumer group, each a thread that reads and pre-aggregates the partitions Kafka
 * assigned to it, and flusher threads ("lanes") shared by the members that write each
 * partition's flushes to ClickHouse in order (a partition always flushes on the same lane, so
 * different partitions' flushes overlap), with a bounded queue between them. Offsets are
 * committed only after a flush's blocks and its "done" row are in ClickHouse. See
 * docs/exactly-once.md for the protocol and docs/aggregator.md for operations.
 *
 * <p>What it leaves to others: {@link Rollup} turns a partition's records into its flush buffer's rows (one per consumer
 * thread); {@link FlushWriter} stores a flush, step by step; {@link FlushLog} is the bookkeeping those steps write and a
 * partition's recovery reads; {@link RetryStoreLoader} rebuilds a partition's retry store on assignment;
 * {@link DeadLetters} makes, counts and sends the job's dead letters.
 */
public final class JobWorker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(JobWorker.class);
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

    private final class PartitionState extends Rollup.Partition {
        final TopicPartition tp;
        final Member member;
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
        final ArrayDeque<Long> forced = new ArrayDeque<>();
        /**
         * Pending flushes that an aggregator older than migration 9 logged (start offset to end offset): replayed
         * the way it wrote them, without their 1 m and 1 h rows, which the views add (see {@link FlushBuffer#encode(boolean)}).
         */
        final java.util.Map<Long, Long> legacy = new java.util.HashMap<>();
        long bufStartedNanos;
        /** At least catch-up.lag records behind (until below half of it): flushed at the catch-up interval. */
        boolean catchingUp;
        /** How far back in record time the retry store recognises a client retry (events jobs). */
        final RetryReach reach = new RetryReach(s.dedupMaxIds(), s.dedupWindowMs());

        PartitionState(TopicPartition tp, Member member, FlushBuffer.MeasureGate measures) {
            super(new SeenIds(s.dedupMaxIds(), s.dedupWindowMs()), new FlushBuffer(measures), WM_NONE);
            this.tp = tp;
            this.member = member;
        }
    }

    private final JobSpec spec;
    private final long version;
    private final WorkerSettings s;
    private final long flushIntervalNanos;
    /** The flush interval of a partition that is catching up: the longer of the job's and the catch-up interval. */
    private final long catchUpIntervalNanos;
    /**
     * Partitions (of every member) that are catching up, for the status and the gauge, each with the member that
     * found it so: a member that loses a partition removes only its own entry, not one that the member which was just
     * assigned the partition put there.
     */
    private final Map<Integer, Member> catchingUp = new ConcurrentHashMap<>();
    private final SeriesLimiter limiter;
    /**
     * This job's own ClickHouse client, so its own pool of insert connections (client-v2: 10 a server): a job whose
     * inserts hang (a slow table, a stalled merge) holds its own connections, never another job's.
     */
    private final ClickHouse ch;
    private final Member[] members;
    private final AtomicInteger membersRunning;
    private final Lane[] lanes;
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

    private final Counter consumed;
    private final Rollup.Meters rollupMeters;
    private final Counter retries;
    private final Counter partitionsLost;
    private final Counter flushesAbandoned;
    private final Counter memoryCuts;
    private final Timer flushLatency;
    private final Timer recoveryTime;
    private final AtomicLong partitionsRecovered = new AtomicLong();
    private final AtomicLong idsRecovered = new AtomicLong();
    private final DeadLetters deadLetters;
    private final FlushLog flushLog;
    private final FlushWriter writer;
    private final RetryStoreLoader retryStores;

    public JobWorker(JobSpec spec, long version, WorkerSettings settings) {
        this.spec = spec.normalized();
        this.version = version;
        this.s = settings;
        this.flushIntervalNanos = this.spec.flushIntervalDuration().toNanos();
        this.catchUpIntervalNanos = Math.max(flushIntervalNanos, TimeUnit.MILLISECONDS.toNanos(settings.catchUpFlushIntervalMs()));
        try {
            this.ch = settings.ch().sameServer();
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("cannot open a ClickHouse client for job " + spec.name() + ": " + e.getMessage(), e);
        }
        this.limiter = new SeriesLimiter(this.spec.name(), s.limits(), s.registry(), s.seriesWindowMs(), s.maxOverflowMetrics(), s.maxMeasureNames(), s.maxTenants());
        this.isEvents = "events".equals(this.spec.kind());
        String job = this.spec.name();
        var reg = s.registry();
        consumed = Counter.builder("vigil_aggregator_records_consumed").tag("job", job).register(reg);
        retries = Counter.builder("vigil_aggregator_flush_retries").tag("job", job).register(reg);
        rollupMeters = Rollup.Meters.register(job, reg);
        deadLetters = new DeadLetters(job, s);
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
        if (isEvents) {
            gauges.add(Gauge.builder("vigil_aggregator_retry_window_seconds", this, w -> {
                        long ms = w.retryReachMs();
                        return ms == RetryReach.UNKNOWN ? Double.NaN : ms / 1000.0;
                    })
                    .description("how far back in record time a client retry (the same event_id) is still dropped, the shortest over this job's"
                            + " partitions: aggregator.dedup.window, or less where a partition's last aggregator.dedup.max-ids-per-partition"
                            + " records span less time; NaN until known")
                    .tag("job", job).register(reg));
        }
        lanes = new Lane[Math.max(1, s.flushParallelism())];
        for (int i = 0; i < lanes.length; i++) {
            lanes[i] = new Lane("job-" + job + "-flusher-" + i);
        }
        flushLog = new FlushLog(ch, job, s.instance());
        writer = new FlushWriter(job, ch, flushLog, deadLetters, reg, lanes.length);
        retryStores = new RetryStoreLoader(job, s, flushLog, MAX_POLL_RECORDS);
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

    // ---------------------------------------------------------------- consumer threads

    /**
     * Records a poll returns: 2,000 (~250 KB of decompressed records) are still in the core's L2 cache
     * when they are scanned; 20,000 (until 2026-11-27) were not: with it the consumer threads took 644-679 ns
     * per event with client ids against 532-564, and 448-522 against 374-439 without (docs/aggregator-performance.md).
     */
    private static final String MAX_POLL_RECORDS = "2000";

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
        final Rollup rollup;
        final Rollup.Prepared[] group = new Rollup.Prepared[Rollup.GROUP];
        /** Where the group's table touches go, so the JIT keeps the loads. */
        long touched;
        /** What this member holds by its estimates, published after each poll for the memory budget ({@link #accountMemory}). */
        volatile long heldBuffers;
        volatile long heldRetryStores;
        volatile long heldSeriesCache;
        volatile int heldPartitions;
        /** Each of its partitions' retry reach in ms (known ones), republished with the lag (every 2 s). */
        volatile Map<Integer, Long> retryReachByPartition = Map.of();
        /** Its partitions' flush-buffer allowance ({@link MemoryBudget#bufferAllowance}), worked out after each poll. */
        long bytesPerFlush = s.maxBytesPerFlush();

        Member(int index) {
            this.index = index;
            this.rollup = new Rollup(spec, s, limiter, deadLetters, rollupMeters, index);
            for (int i = 0; i < Rollup.GROUP; i++) {
                group[i] = new Rollup.Prepared();
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
            // does not cover) copy the bytes out (Records.bytes)
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
            rollup.newPoll();
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
                if (isEvents) {
                    st.reach.sample(st.next, st.watermark);
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
            Long done = flushLog.lastDone(tp);
            long r = Math.max(c, done == null ? -1 : done);
            long logStart = consumer.beginningOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
            if (r < 0) {
                r = logStart;
            } else if (r < logStart) {
                log.error("event=kafka_retention_gap job={} partition={} resume_offset={} log_start_offset={} lost_records={}"
                        + " (records expired from Kafka before they were rolled up)", spec.name(), tp, r, logStart, logStart - r);
                r = logStart;
            }
            Long wm = flushLog.watermarkAt(tp, r);
            FlushLog.Pending pending = flushLog.pending(tp, r);
            TreeSet<Long> bounds = pending.bounds();
            st.legacy.clear();
            st.legacy.putAll(pending.legacy());
            st.watermark = wm == null ? WM_NONE : wm;
            int loaded = "events".equals(spec.kind())
                    ? retryStores.load(tp, st.seen, st.watermark, st.watermark != WM_NONE, r, () -> !running || crashed, this::noteGroupContact)
                    : 0;
            st.start = r;
            st.next = r;
            st.committed = r;
            st.reach.start(logStart, r, st.watermark, st.watermark != WM_NONE);
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
         * A partition's polled events, {@link Rollup#GROUP} at a time: each record is first
         * {@linkplain Rollup#prepare prepared} (decoded, checked, its series found and its client id
         * hashed: nothing that depends on the records before it), then the group's client ids and
         * (series, bucket) groups are read in tight loops ({@link Rollup#touch}), then the records are
         * processed in order. A new id's table slot is one cache miss (the table does not fit the caches), and
         * issued together the group's misses overlap instead of stalling one record each.
         */
        private int processEvents(PartitionState st, List<ConsumerRecord<ByteBuffer, ByteBuffer>> records) {
            int n = 0;
            int size = records.size();
            for (int from = 0; from < size; from += Rollup.GROUP) {
                int k = 0;
                for (int i = from, to = Math.min(size, from + Rollup.GROUP); i < to; i++) {
                    ConsumerRecord<ByteBuffer, ByteBuffer> r = records.get(i);
                    if (r.offset() >= st.next) { // else already read (the partition was sought back)
                        rollup.prepare(group[k++], r);
                    }
                }
                touched = rollup.touch(group, k, st);
                for (int j = 0; j < k; j++) {
                    Rollup.Prepared p = group[j];
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
        private boolean process(PartitionState st, ConsumerRecord<ByteBuffer, ByteBuffer> r, Rollup.Prepared p) {
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
                rollup.handleEvent(st, p);
            } else {
                rollup.handleSample(st, r);
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
            heldSeriesCache = rollup.seriesCacheBytes();
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

        /** Publishes the retry reach of this member's partitions whose reach is known (events jobs), with the lag. */
        private void publishRetryReach() {
            Map<Integer, Long> each = new TreeMap<>();
            for (PartitionState st : parts.values()) {
                long p = st.recovering ? RetryReach.UNKNOWN : st.reach.reachMs(st.next, st.watermark, st.watermark != WM_NONE);
                if (p != RetryReach.UNKNOWN) {
                    each.put(st.tp.partition(), p);
                }
            }
            retryReachByPartition = java.util.Collections.unmodifiableMap(each);
            for (Integer p : each.keySet()) {
                if (reachGauges.add(p)) {
                    gauges.add(Gauge.builder("vigil_aggregator_partition_retry_window_seconds", JobWorker.this, w -> w.retryReachSeconds(p))
                            .description("how far back in record time a client retry (the same event_id) is still dropped in this partition;"
                                    + " NaN while no consumer thread of this instance holds it with a known window")
                            .tag("job", spec.name()).tag("partition", String.valueOf(p)).register(s.registry()));
                }
            }
        }

        /** Withdraws this member's part of the estimate and its retry reach (its thread ends: what it held goes with it). */
        private void withdrawMemory() {
            heldBuffers = 0;
            heldRetryStores = 0;
            heldSeriesCache = 0;
            heldPartitions = 0;
            retryReachByPartition = Map.of();
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
                if (isEvents) {
                    publishRetryReach();
                }
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
                if (!writer.write(b, this::awaitGroupContact)) {
                    if (b.cancelled) {
                        flushesAbandoned.increment();
                        log.warn("event=flush_abandoned job={} batch={} steps_done={} reason=partition_released", spec.name(), b, b.stepsDone);
                    }
                    return false;
                }
                flushLatency.record(System.nanoTime() - b.createdNanos, TimeUnit.NANOSECONDS);
                flushesDone.incrementAndGet();
                storedUpTo(b.buffer.maxEventMs);
                log.debug("event=flushed job={} batch={} records={} blocks={}", spec.name(), b, b.buffer.records, b.blocks.size());
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
        String line = i < 0 ? m : m.substring(0, i);
        return line.length() <= 300 ? line : line.substring(0, 300);
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

    /** Lanes finish flushes concurrently: the newest stored event time only moves forward. */
    private synchronized void storedUpTo(long eventMs) {
        if (eventMs > newestStoredEventMs) {
            newestStoredEventMs = eventMs;
        }
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
        writer.shutdown();
        try {
            ch.close();
        } finally {
            deadLetters.close(Duration.ofSeconds(10));
            removeGauges();
        }
        log.info("event=job_stopped job={} version={}", spec.name(), version);
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

    /** Partitions of this job with a registered per-partition retry-window gauge (registered once, by the first member to know it). */
    private final java.util.Set<Integer> reachGauges = ConcurrentHashMap.newKeySet();

    /** The partition's retry reach in seconds as the member holding it last published it; NaN if no member holds it with one. */
    private double retryReachSeconds(int partition) {
        for (Member m : members) {
            Long ms = m.retryReachByPartition.get(partition);
            if (ms != null) {
                return ms / 1000.0;
            }
        }
        return Double.NaN;
    }

    /** The shortest retry reach over the partitions whose reach is known, in ms, or {@link RetryReach#UNKNOWN}. */
    private long retryReachMs() {
        long reach = RetryReach.UNKNOWN;
        for (Member m : members) {
            for (long r : m.retryReachByPartition.values()) {
                reach = RetryReach.shorter(reach, r);
            }
        }
        return reach;
    }

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
        writer.shutdown(); // in-flight inserts finish or not, as in a crash
        try {
            ch.close();
        } finally {
            deadLetters.close(Duration.ZERO); // dead letters not sent yet are lost with the crash, and resent by the replay
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
        m.put("rows_written", writer.rowsWritten());
        m.put("queued_flushes", queued());
        m.put("queued_bytes_estimate", queuedBytes.get());
        m.put("catching_up_partitions", new TreeSet<>(catchingUp.keySet()));
        m.put("newest_stored_event_ms", newestStoredEventMs == Long.MIN_VALUE ? null : newestStoredEventMs);
        m.put("series_overflow", limiter.overflowTotal());
        if (isEvents) {
            long reach = retryReachMs();
            m.put("retry_window_seconds", reach == RetryReach.UNKNOWN ? null : reach / 1000.0);
            Map<Integer, Double> each = new TreeMap<>();
            for (Member mem : members) {
                mem.retryReachByPartition.forEach((p, ms) -> each.put(p, ms / 1000.0));
            }
            m.put("retry_window_seconds_by_partition", each);
        }
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
