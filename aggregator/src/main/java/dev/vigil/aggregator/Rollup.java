package dev.vigil.aggregator;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.model.Event;
import dev.vigil.common.model.Sample;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The rollup of one consumer thread: turns a partition's records, in order, into rows of its flush buffer. An event is
 * decoded, checked, its client id looked up in the partition's retry store, and it is added to its series' (series,
 * bucket) group and to the per-unit rows its job keeps; a sample to its series and the raw rows; a record that cannot be
 * stored becomes a dead letter in the buffer, with its reason. Events take a hot path in two halves ({@link #prepare},
 * which reads only the record and this thread's caches, then {@link #handleEvent}, in the partition's order), or the
 * reference path over a decoded {@link Event} ({@link #handleEventDecoded}) for what the hot path does not cover.
 * One per consumer thread: its caches and scratch state are that thread's alone; the limiter, dead letters and meters
 * are the job's.
 */
final class Rollup {
    private static final Logger log = LoggerFactory.getLogger(Rollup.class);
    private static final SortedMap<String, String> OVERFLOW = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(Map.of("__overflow__", "true")));

    /** A partition as the rollup sees it: the flush buffer its records go to (replaced at each cut), its retry store, its watermark. */
    static class Partition {
        final SeenIds seen;
        FlushBuffer buf;
        /** The largest record timestamp read so far (the retry window's clock, docs/exactly-once.md). */
        long watermark;

        Partition(SeenIds seen, FlushBuffer buf, long watermark) {
            this.seen = seen;
            this.buf = buf;
            this.watermark = watermark;
        }
    }

    /** The job's counters of what its rollups dropped or did not roll up, shared by its consumer threads. */
    record Meters(Counter duplicates, Counter seriesCacheResets, Counter nonFiniteSamples, Counter experimentsWithoutUnit) {
        static Meters register(String job, MeterRegistry reg) {
            return new Meters(
                    Counter.builder("vigil_aggregator_client_duplicates")
                            .description("events dropped because their event id was already accepted (client retries)").tag("job", job).register(reg),
                    Counter.builder("vigil_aggregator_series_cache_resets")
                            .description("consumer threads' series caches cleared because they were full (aggregator.series-cache-bytes): more distinct"
                                    + " series than they hold, each worked out again after a reset").tag("job", job).register(reg),
                    Counter.builder("vigil_aggregator_samples_not_rolled_up")
                            .description("samples whose value is NaN (staleness markers included) or infinite: kept raw if the job has the raw"
                                    + " rollup, but in no series rollup").tag("job", job).tag("reason", "non_finite").register(reg),
                    Counter.builder("vigil_aggregator_events_not_rolled_up")
                            .description("events with experiment assignments but no unit_id, read by a job with experiment rollups: the unit is what"
                                    + " those rollups count, so the event has no rows there (its series rows, in a job with those, are stored)")
                            .tag("job", job).tag("reason", "experiments_without_unit").register(reg));
        }
    }

    private final JobSpec spec;
    private final WorkerSettings s;
    private final SeriesLimiter limiter;
    private final DeadLetters deadLetters;
    private final Meters meters;
    /** The consumer thread's index in its job (for logs). */
    private final int member;
    private final long bucketMs;
    private final long maxAgeMs;
    private final Set<String> allow;
    private final boolean hasSeries;
    private final boolean hasExperiments;
    private final boolean hasExposures;
    private final boolean hasUnitDaily;
    private final boolean hasRaw;

    /** The series limiter's window, read once per poll ({@link #newPoll}). */
    private long limiterEpoch;
    private final SeriesCache seriesCache;
    /** When this thread last logged its series cache's resets, and how many it has not logged yet. */
    private long cacheResetLoggedNanos;
    private long cacheResetsUnlogged;
    private final Utf8Interner measureNames = new Utf8Interner(4096);
    private final long[] idHash = new long[2];
    /**
     * The measure names the limiter admitted in its current window ({@link #limiterEpoch}), per tenant and metric: the
     * per-unit rows ask per event, and an admitted name stays admitted until the window ends, so this thread asks the
     * shared, synchronized limiter only for names it has not seen admitted (at most what the limiter itself holds).
     */
    private final Map<String, Map<String, Set<String>>> admittedMeasures = new HashMap<>();
    private long admittedMeasuresEpoch = Long.MIN_VALUE;
    /** For {@link #decodedIdKey}'s scan of a decoded record. */
    private final EventScratch rekeyScratch = new EventScratch();
    /** The last batch-form id's prefix (see {@link #idKey}): its bytes, its tenant's seed and its hash. */
    private byte[] lastPrefix = new byte[64];
    private int lastPrefixLen = -1;
    private long lastPrefixSeed;
    private long lastPrefixHi;
    private long lastPrefixLo;

    Rollup(JobSpec spec, WorkerSettings s, SeriesLimiter limiter, DeadLetters deadLetters, Meters meters, int member) {
        this.spec = spec;
        this.s = s;
        this.limiter = limiter;
        this.deadLetters = deadLetters;
        this.meters = meters;
        this.member = member;
        this.bucketMs = spec.bucketSeconds() * 1000L;
        this.maxAgeMs = spec.maxAgeDuration().toMillis();
        this.allow = new HashSet<>(spec.labelAllowList());
        this.hasSeries = spec.has("series");
        this.hasExperiments = spec.has("experiments");
        this.hasExposures = spec.has("exposures");
        this.hasUnitDaily = spec.has("unit_daily");
        this.hasRaw = spec.has("raw");
        this.seriesCache = new SeriesCache(1 << 20, s.seriesCacheBytes());
    }

    /** Before a poll's records: reads the limiter's window once (reading the clock per record cost 4.5 % of the thread). */
    void newPoll() {
        limiterEpoch = limiter.epoch();
    }

    /** The series cache's estimated heap (the memory budget's). */
    long seriesCacheBytes() {
        return seriesCache.bytes();
    }

    /** {@link #recordIdKey} of a record without a client id. */
    static final int NO_ID = Integer.MIN_VALUE;

    /** Records prepared together on the hot path (JobWorker's processEvents). */
    static final int GROUP = 32;

    /** One record of a group on the hot path: what {@link #prepare} found, for {@link #handleEvent}. */
    static final class Prepared {
        final EventScratch e = new EventScratch();
        ConsumerRecord<ByteBuffer, ByteBuffer> r;
        /** A dead letter's reason and detail, or null. */
        String deadReason;
        String deadDetail;
        /** Takes the full decode ({@link #handleEventDecoded}). */
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

    /**
     * The hot path's first half, for one record of a group: decodes through
     * {@link RecordCodec#scanEvent} (no Event, no maps, no Strings for a series seen before),
     * checks it, finds its series in the cache and hashes its client id. Reads the record and
     * this thread's caches only, never the partition's state, so a group can be prepared before
     * any of it is processed; what it finds wrong becomes a dead letter in {@link #handleEvent},
     * in order. Records the fast path does not cover (experiments with a unit, measures not in
     * encoder order) take {@link #handleEventDecoded}, the reference behaviour this path reproduces.
     */
    void prepare(Prepared p, ConsumerRecord<ByteBuffer, ByteBuffer> r) {
        p.clear(r);
        EventScratch e = p.e;
        ByteBuffer value = r.value();
        try {
            if (value != null && value.hasArray()) {
                RecordCodec.scanEvent(value.array(), value.arrayOffset() + value.position(), value.remaining(), e);
            } else {
                RecordCodec.scanEvent(Records.bytes(value), e);
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
            info = newSeries(e, hash, Records.bytes(value));
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
        p.idIndex = SeenIds.key(seed, b, off, len, form, idHash); // the form once: it was 5 % of a consumer thread twice
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

    /**
     * Reads, for a prepared group, the retry store's table slot of each client id that is not batch-form, then the flush
     * buffer's (series, bucket) group of each event, doing nothing else: their cache misses then overlap instead of
     * stalling one record each when the group is processed (the result only keeps the JIT from dropping the loads).
     * The (series, bucket) groups and their measure rows (touch reads, never creates): with 1,000 series x 6 buckets
     * they are ~3 MB a consumer thread, beyond its L2 cache (1 MB a core on the host of that measurement, 2 MB since).
     * Consumer threads 365-397 -> 349-366 ns per event (30 M x 3, ABAB). The series cache's slots the same way: no gain,
     * not kept.
     */
    long touch(Prepared[] group, int k, Partition st) {
        long t = 0;
        for (int j = 0; j < k; j++) {
            Prepared p = group[j];
            if (p.hasId && p.idIndex < 0) { // a batch-form id's entry is usually the last one's
                t += st.seen.touch(p.idHi, p.idLo);
            }
        }
        FlushBuffer buf = st.buf;
        for (int j = 0; j < k; j++) {
            Prepared p = group[j];
            if (p.info != null) {
                t += buf.touch(p.info.ref, p.bucket);
            }
        }
        return t;
    }

    /** The hot path's second half, in the partition's order: drops client retries and aggregates. */
    void handleEvent(Partition st, Prepared p) {
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
            meters.experimentsWithoutUnit().increment();
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
        meters.seriesCacheResets().increment();
        cacheResetsUnlogged++;
        long now = System.nanoTime();
        if (cacheResetLoggedNanos == 0 || now - cacheResetLoggedNanos >= TimeUnit.MINUTES.toNanos(1)) {
            log.warn("event=series_cache_reset job={} member={} resets={} max_bytes={} (more distinct series than the cache holds: each is"
                    + " decoded in full again: fix the client sending ever new label values, raise aggregator.series-cache-bytes, or add consumer threads)", spec.name(), member,
                    cacheResetsUnlogged, s.seriesCacheBytes());
            cacheResetLoggedNanos = now;
            cacheResetsUnlogged = 0;
        }
    }

    /** The reference path over a decoded {@link Event}. */
    private void handleEventDecoded(Partition st, ConsumerRecord<ByteBuffer, ByteBuffer> r) {
        Event e;
        byte[] rec = Records.bytes(r.value());
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
            meters.experimentsWithoutUnit().increment();
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

    void handleSample(Partition st, ConsumerRecord<ByteBuffer, ByteBuffer> r) {
        Sample smp;
        try {
            smp = RecordCodec.decodeSample(Records.bytes(r.value()));
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
            meters.nonFiniteSamples().increment(); // NaN (Prometheus' staleness marker among them) or an infinity: no rollup row
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

    private void deadLetter(Partition st, ConsumerRecord<ByteBuffer, ByteBuffer> r, String reason, String detail) {
        st.buf.addDeadLetter(deadLetters.of(r, reason, detail));
        deadLetters.count(reason);
    }

    private boolean timeOk(Partition st, ConsumerRecord<ByteBuffer, ByteBuffer> r, long t) {
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
    private boolean firstSight(Partition st, ConsumerRecord<ByteBuffer, ByteBuffer> r, long h, long l, int index) {
        if (!(index < 0 ? st.seen.firstSight(h, l, r.offset(), r.timestamp(), st.watermark)
                : st.seen.firstSightBatch(h, l, index, r.offset(), r.timestamp(), st.watermark))) {
            meters.duplicates().increment();
            return false;
        }
        st.buf.idMarks.add(r.offset(), r.timestamp());
        return true;
    }

    /** Whether an event with (or without) a unit and experiments has rows in this job's unit rollups. */
    private boolean unitRollupsTake(boolean hasUnit, boolean hasAssignments) {
        return hasUnit && (hasUnitDaily || hasAssignments && (hasExperiments || hasExposures));
    }

    /** The labels the job's allow-list keeps: all of them when the list is empty (the same map when none is dropped). */
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
}
