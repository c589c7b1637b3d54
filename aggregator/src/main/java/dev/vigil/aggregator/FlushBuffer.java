package dev.vigil.aggregator;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

import org.apache.kafka.clients.producer.ProducerRecord;

import dev.vigil.common.histogram.LogBuckets;

/**
 * What one partition accumulated since its last flush, pre-aggregated in memory so that the
 * rows stored are far fewer than the events read: one series row per (series, measure,
 * bucket), one unit row per (experiment, variant, unit, metric, day), one exposure row per
 * (experiment, variant, unit). Raw samples and accepted client ids are appended as RowBinary
 * directly. Encoded once into insert blocks ({@link #encode}); a retry resends the same blocks.
 */
final class FlushBuffer {
    /**
     * The identity of a series row apart from measure and bucket: tenant, kind, name, series id
     * (which stands for the labels, as before: the labels are those of the first value). The
     * consumer thread interns these so that lookups compare references; equality falls back to
     * the content, so two instances of the same series (e.g. after a cache reset) still merge.
     */
    static final class SeriesRef {
        final String tenant;
        final byte kind;
        final String name;
        final long seriesId;
        final SortedMap<String, String> labels;
        final int hash;
        /** {@link #bytes()} once computed; -1 before (the slow path builds a ref per value, most of them merged and dropped). */
        private int bytes = -1;
        /** The id of the last buffer that counted {@link #bytes} (a ref is counted once per buffer; an id, not the buffer, which it would keep alive). */
        int countedIn;

        SeriesRef(String tenant, byte kind, String name, long seriesId, SortedMap<String, String> labels) {
            this.tenant = tenant;
            this.kind = kind;
            this.name = name;
            this.seriesId = seriesId;
            this.labels = labels;
            this.hash = (Long.hashCode(seriesId) * 31 + tenant.hashCode()) * 31 + name.hashCode() * 7 + kind;
        }

        /** Its heap with its Strings and labels, estimated ({@link #estimateBytes}): what a buffer or the series cache holding it counts. */
        int bytes() {
            if (bytes < 0) {
                bytes = estimateBytes(tenant, name, labels);
            }
            return bytes;
        }

        /**
         * The ref (40 bytes), its tenant and name Strings (decoded for it) and its labels as a TreeMap (48 bytes, 40 an
         * entry, its Strings): per-label sizes are what a series costs beyond its rows, up to 32 labels of kilobytes each.
         */
        static int estimateBytes(String tenant, String name, SortedMap<String, String> labels) {
            long b = 40 + str(tenant) + str(name) + 48;
            for (Map.Entry<String, String> e : labels.entrySet()) {
                b += 40 + str(e.getKey()) + str(e.getValue());
            }
            return (int) Math.min(Integer.MAX_VALUE, b);
        }

        /** A String with its byte array (compact strings: a byte a Latin-1 character, two otherwise; counted as two for the rest). */
        static long str(String s) {
            return 24 + 16 + 2L * s.length();
        }

        boolean sameSeries(SeriesRef o) {
            return this == o || (seriesId == o.seriesId && kind == o.kind && hash == o.hash && tenant.equals(o.tenant) && name.equals(o.name));
        }
    }

    /** One row: the totals of one (series, measure, bucket), with its histogram inline. */
    static class SeriesAgg extends Hist {
        final SeriesRef ref;
        final String measure;
        final long bucketSec;
        long count;
        double sum;
        double sumSq;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;

        SeriesAgg(SeriesRef ref, String measure, long bucketSec) {
            this.ref = ref;
            this.measure = measure;
            this.bucketSec = bucketSec;
        }

        /** Returns the bytes its histogram grew by (see {@link Hist#addKey}). */
        int add(double value, boolean withHist) {
            count++;
            sum += value;
            sumSq += value * value;
            if (value < min) {
                min = value;
            }
            if (value > max) {
                max = value;
            }
            return withHist ? addKey(FastBuckets.key(value)) : 0;
        }
    }

    /**
     * The rows of one (series, bucket): the group is itself the row of measure "" (the event
     * count, or a sample's value), so the row every event updates shares the group's cache lines
     * instead of costing a miss of its own; plus one row per measure, found by position first
     * (events of a series usually carry the same measures in the same order), then by name.
     */
    static final class Group extends SeriesAgg {
        SeriesAgg[] rows = new SeriesAgg[2];
        int n;

        Group(SeriesRef ref, long bucketSec) {
            super(ref, "", bucketSec);
        }

        /** The row of {@code measure}, the {@code hint}-th measure of its event; null if new (see {@link FlushBuffer#row}). */
        SeriesAgg find(String measure, int hint) {
            SeriesAgg[] r = rows;
            if (hint < n) {
                SeriesAgg a = r[hint];
                if (a.measure == measure) {
                    return a;
                }
            }
            for (int i = 0; i < n; i++) {
                if (r[i].measure == measure) {
                    return r[i];
                }
            }
            for (int i = 0; i < n; i++) {
                if (r[i].measure.equals(measure)) {
                    return r[i];
                }
            }
            return null;
        }
    }

    record UnitKey(String tenant, String experiment, String variant, String type, String measure, String unit, int day) {
    }

    record ExposureKey(String tenant, String experiment, String variant, String unit) {
    }

    record UnitHistKey(String tenant, String experiment, String variant, String type, String measure, String unit) {
    }

    /** A unit's histogram of one measure in this flush, and the last day it covers (for the TTL). */
    static final class UnitHist {
        final IntLongMap hist = new IntLongMap();
        int lastDay = Integer.MIN_VALUE;
    }

    record UnitDayKey(String tenant, String type, String measure, String unit, int day) {
    }

    static final byte KIND_EVENT = 1;
    static final byte KIND_SAMPLE = 2;

    /** Series rows grouped by (ref, bucket): open addressing, slots hold the groups. */
    private Group[] table = new Group[256];
    private int groups;
    private int seriesSize;
    final Map<UnitKey, double[]> units;
    final Map<ExposureKey, long[]> exposures;
    final Map<UnitHistKey, UnitHist> unitHists;
    final Map<UnitDayKey, double[]> unitDaily;
    final RowBinary samples = new RowBinary(256);
    /** The records whose client id this flush accepted. */
    final SeenMarks idMarks = new SeenMarks();
    final List<ProducerRecord<byte[], byte[]>> deadLetters = new ArrayList<>();
    long records;
    long maxEventMs = Long.MIN_VALUE;

    /**
     * The name a measure of a (tenant, metric) is stored under when a row for it is created: its own, or
     * {@value #OTHER_MEASURE} past a limit ({@link SeriesLimiter#measureName}). Asked only when a group has no row of
     * that name yet, so a measure within the limit costs nothing per event.
     */
    @FunctionalInterface
    interface MeasureGate {
        String measureName(String tenant, String metric, String measure);

        MeasureGate ANY = (tenant, metric, measure) -> measure;
    }

    /** The measure that takes the values of measures past a tenant's limit of measure names. */
    static final String OTHER_MEASURE = "__other__";

    private final MeasureGate measures;

    FlushBuffer() {
        this(MeasureGate.ANY);
    }

    FlushBuffer(MeasureGate measures) {
        this.measures = measures;
        units = new HashMap<>();
        exposures = new HashMap<>();
        unitHists = new HashMap<>();
        unitDaily = new HashMap<>();
    }

    /**
     * An empty buffer whose per-unit maps start at the sizes the previous flush of the partition
     * reached: they are rebuilt every flush, and growing them from 16 entries rehashed each one
     * ~14 times (JFR: HashMap.resize 4 % of the aggregator's samples).
     */
    FlushBuffer(FlushBuffer previous) {
        measures = previous.measures;
        units = HashMap.newHashMap(previous.units.size());
        exposures = HashMap.newHashMap(previous.exposures.size());
        unitHists = HashMap.newHashMap(previous.unitHists.size());
        unitDaily = HashMap.newHashMap(previous.unitDaily.size());
    }

    /**
     * Rows held in memory: pre-aggregated keys and raw samples. Not the marks of accepted client
     * ids: one bit a record, counted in the bytes (as keys, a partition of events with ids was
     * flushed every max-keys records whatever its interval).
     */
    int keys() {
        return seriesSize + units.size() + exposures.size() + unitHists.size() + unitDaily.size() + samples.rows();
    }

    // Retained heap per buffered key, measured with a throwaway probe (System.gc() before and after
    // 200,000 keys with a distinct unit id String each): per-unit row 232 B, exposure 225 B, unit
    // histogram with 3 values 368 B. Rounded up. A series row without its histogram: its object (80 bytes; a group's
    // 88 with its array of rows) and its share of the table; the histograms' arrays are counted as they grow
    // (histBytes): with a fixed ~490 bytes a row (a latency's window) a buffer of rows whose values span twelve decades
    // held three times its estimate (FlushBufferMemoryTest).
    static final int SERIES_ROW_BYTES = 160;
    static final int UNIT_ROW_BYTES = 256;
    static final int UNIT_HIST_BYTES = 384;
    static final int DEAD_LETTER_OVERHEAD_BYTES = 512;

    /**
     * An estimate of the heap this buffer holds (the constants above, the queued increments' arrays, the samples' RowBinary and
     * the client-id arrays as allocated, dead letters with their values): what {@code aggregator.max-bytes-per-flush} and
     * {@code aggregator.max-queued-bytes} bound. Costs a few multiplications, so it is checked per record.
     */
    long approxBytes() {
        return PENDING_BYTES + (long) seriesSize * SERIES_ROW_BYTES + histBytes + refBytes + keyChars
                + (long) (units.size() + exposures.size() + unitDaily.size()) * UNIT_ROW_BYTES
                + (long) unitHists.size() * UNIT_HIST_BYTES
                + samples.capacity() + idMarks.bytes() + deadLetterBytes;
    }

    /** The series rows' histogram arrays and the unit histograms' maps, as allocated (maintained where values are added). */
    private long histBytes;
    /**
     * The characters of the per-unit keys' Strings, summed per key (the fixed per-row costs above hold Strings of a few
     * characters; ids and names may be hundreds), counted at a byte each: a Latin-1 String's array. The keys an event
     * creates share its Strings (a unit's row and its exposure hold the same unit id), which this counts once per key,
     * so it is above what they hold for Latin-1 text and about right for other text (two bytes a character).
     */
    private long keyChars;

    private static long chars(String... parts) {
        long n = 0;
        for (String p : parts) {
            n += p.length();
        }
        return n;
    }

    /** The series refs its groups hold, each counted once (a ref shared with the series cache is counted in both). */
    private long refBytes;
    private static final java.util.concurrent.atomic.AtomicInteger IDS = new java.util.concurrent.atomic.AtomicInteger();
    /** Tells this buffer from the others in {@link SeriesRef#countedIn} (never 0, a new ref's). */
    private final int id = nextId();

    private static int nextId() {
        int i;
        do {
            i = IDS.incrementAndGet();
        } while (i == 0);
        return i;
    }

    /** Sum of the dead letters' value sizes plus a fixed overhead each (maintained by {@link #addDeadLetter}). */
    private long deadLetterBytes;

    void addDeadLetter(ProducerRecord<byte[], byte[]> pr) {
        deadLetters.add(pr);
        deadLetterBytes += DEAD_LETTER_OVERHEAD_BYTES + (pr.value() == null ? 0 : pr.value().length) + (pr.key() == null ? 0 : pr.key().length);
    }

    boolean isEmpty() {
        return records == 0;
    }

    int seriesRows() {
        return seriesSize;
    }

    /** The group of (series, bucket), created empty if new (it is its own measure "" row). */
    Group group(SeriesRef ref, long bucketSec) {
        Group[] t = table;
        int mask = t.length - 1;
        int i = slot(ref, bucketSec, mask);
        while (true) {
            Group g = t[i];
            if (g == null) {
                g = new Group(ref, bucketSec);
                t[i] = g;
                seriesSize++;
                if (ref.countedIn != id) { // the first group of this series in this buffer: the buffer holds its ref
                    ref.countedIn = id;
                    refBytes += ref.bytes();
                }
                if (++groups * 2 > t.length) {
                    grow();
                }
                return g;
            }
            if (g.bucketSec == bucketSec && g.ref.sameSeries(ref)) {
                return g;
            }
            i = (i + 1) & mask;
        }
    }

    /**
     * Reads, without changing anything, what {@link #group} and {@link #row} will read for (ref, bucket): the group and
     * its first measure rows. Returns a sum of what it read so that the JIT keeps the loads. See {@link Rollup#touch}.
     */
    long touch(SeriesRef ref, long bucketSec) {
        Group[] t = table;
        int mask = t.length - 1;
        int i = slot(ref, bucketSec, mask);
        Group g = t[i];
        if (g == null) {
            return 0;
        }
        if (g.bucketSec != bucketSec) {
            g = t[(i + 1) & mask];
            if (g == null) {
                return 0;
            }
        }
        SeriesAgg[] r = g.rows;
        long x = g.count + g.n;
        for (int j = 0, n = Math.min(g.n, 2); j < n; j++) {
            x += r[j].count;
        }
        return x;
    }

    private static int slot(SeriesRef ref, long bucketSec, int mask) {
        long h = ((long) ref.hash ^ bucketSec * 0xC2B2AE3D27D4EB4FL) * 0x9E3779B97F4A7C15L;
        return (int) (h ^ h >>> 29) & mask;
    }

    /**
     * The row of {@code measure} in {@code g} (the {@code hint}-th measure of its event), created empty if new; the row
     * of {@link #OTHER_MEASURE} instead if the measure is past its tenant's limit of measure names ({@link MeasureGate}).
     */
    SeriesAgg row(Group g, String measure, int hint) {
        SeriesAgg a = g.find(measure, hint);
        if (a == null) {
            String name = measures.measureName(g.ref.tenant, g.ref.name, measure);
            if (!name.equals(measure) && (a = g.find(name, Integer.MAX_VALUE)) != null) {
                return a;
            }
            a = new SeriesAgg(g.ref, name, g.bucketSec);
            keyChars += name.length(); // the decoding path's names are Strings of their own per event (the hot path's are interned)
            if (g.n == g.rows.length) {
                g.rows = java.util.Arrays.copyOf(g.rows, g.n * 2);
            }
            g.rows[g.n++] = a;
            seriesSize++;
        }
        return a;
    }

    /** Histogram increments queued by {@link #addValue} before they are applied (the batch size). */
    static final int PENDING_INCREMENTS = 1024;
    /** The two arrays below (references of 4 bytes: compressed, as under a heap of less than 32 GiB). */
    static final int PENDING_BYTES = 2 * (16 + 4 * PENDING_INCREMENTS);
    private final SeriesAgg[] pendingRows = new SeriesAgg[PENDING_INCREMENTS];
    private final int[] pendingKeys = new int[PENDING_INCREMENTS];
    private int pending;

    /**
     * Adds {@code value} to {@code row} (the hot path's measure rows): the totals at once, the
     * histogram increment with the next batch of {@link #PENDING_INCREMENTS}, which
     * {@link #applyPendingIncrements} (called by {@link #encode}) completes. Why: an increment is
     * usually a cache miss on the row's histogram window. Interleaved with decoding, the CPU waits
     * for each miss in turn; in a loop that does nothing else it has many in flight at once.
     * {@code HotPathBench}: the histograms' share of the rows' CPU falls by about a third at 500-1,000
     * series per buffer; in the full bench the saving is within the run-to-run spread (docs/aggregator-performance.md).
     * The counts, and so the bytes written, do not depend on the order of the increments.
     */
    void addValue(SeriesAgg row, double value) {
        row.add(value, false);
        int p = pending;
        pendingRows[p] = row;
        pendingKeys[p] = FastBuckets.key(value);
        pending = ++p;
        if (p == PENDING_INCREMENTS) {
            applyPendingIncrements();
        }
    }

    /** Applies the queued histogram increments; afterwards every row's histogram is complete. */
    void applyPendingIncrements() {
        SeriesAgg[] rows = pendingRows;
        int[] keys = pendingKeys;
        int n = pending;
        long grown = 0;
        for (int i = 0; i < n; i++) {
            grown += rows[i].addKey(keys[i]);
        }
        histBytes += grown;
        pending = 0;
    }

    /** The row of (series, measure, bucket), created empty if new. {@code measure} "" is the event count row. */
    SeriesAgg series(SeriesRef ref, String measure, long bucketSec) {
        Group g = group(ref, bucketSec);
        return measure.isEmpty() ? g : row(g, measure, 0);
    }

    private void grow() {
        Group[] old = table;
        table = new Group[old.length * 2];
        int mask = table.length - 1;
        for (Group g : old) {
            if (g == null) {
                continue;
            }
            int i = slot(g.ref, g.bucketSec, mask);
            while (table[i] != null) {
                i = (i + 1) & mask;
            }
            table[i] = g;
        }
    }

    /** Slow path (samples, legacy event decoding): a new ref per call, merged by content. */
    void addSeries(String tenant, byte kind, String name, String measure, long seriesId, long bucketSec,
                   SortedMap<String, String> labels, double value, boolean withHist) {
        histBytes += series(new SeriesRef(tenant, kind, name, seriesId, labels), measure, bucketSec).add(value, withHist);
    }

    void addUnit(String tenant, String experiment, String variant, String type, String measure, String unit, int day, double value) {
        UnitKey key = new UnitKey(tenant, experiment, variant, type, measure, unit, day);
        double[] v = units.get(key);
        if (v == null) {
            v = new double[3];
            units.put(key, v);
            keyChars += chars(tenant, experiment, variant, type, measure, unit);
        }
        v[0] += 1;
        v[1] += value;
        v[2] += value * value;
    }

    /** One event value of a measure into the unit's log-bucket histogram (quantile metrics). */
    void addUnitHist(String tenant, String experiment, String variant, String type, String measure, String unit, int day, double value) {
        UnitHistKey key = new UnitHistKey(tenant, experiment, variant, type, measure, unit);
        UnitHist h = unitHists.get(key);
        if (h == null) {
            h = new UnitHist();
            unitHists.put(key, h);
            keyChars += chars(tenant, experiment, variant, type, measure, unit);
        }
        // a unit's values may spread over thousands of buckets (a map of 12 bytes a slot): counted as it grows
        histBytes += h.hist.add(FastBuckets.key(value), 1);
        h.lastDay = Math.max(h.lastDay, day);
    }

    /** Experiment-independent per-unit daily totals (the CUPED pre-period); measure "" counts events. */
    void addUnitDaily(String tenant, String type, String measure, String unit, int day, double value) {
        UnitDayKey key = new UnitDayKey(tenant, type, measure, unit, day);
        double[] v = unitDaily.get(key);
        if (v == null) {
            v = new double[2];
            unitDaily.put(key, v);
            keyChars += chars(tenant, type, measure, unit);
        }
        v[0] += 1;
        v[1] += value;
    }

    void addExposure(String tenant, String experiment, String variant, String unit, long timeMs) {
        ExposureKey key = new ExposureKey(tenant, experiment, variant, unit);
        long[] v = exposures.get(key);
        if (v == null) {
            v = new long[] {Long.MAX_VALUE, Long.MIN_VALUE, 0};
            exposures.put(key, v);
            keyChars += chars(tenant, experiment, variant, unit);
        }
        v[0] = Math.min(v[0], timeMs);
        v[1] = Math.max(v[1], timeMs);
        v[2]++;
    }

    /** One insert block: table, columns, rows. */
    record Block(String table, List<String> columns, RowBinary rows) {
    }

    static final List<String> SERIES_COLUMNS = List.of("tenant", "kind", "name", "measure", "series_id", "bucket", "labels",
            "count", "sum", "sum_sq", "min", "max", "hist");
    static final List<String> UNIT_COLUMNS = List.of("tenant", "experiment", "variant", "type", "measure", "unit_id", "day",
            "count", "sum", "sum_sq");
    static final List<String> EXPOSURE_COLUMNS = List.of("tenant", "experiment", "variant", "unit_id", "first_seen", "last_seen", "events");
    static final List<String> UNIT_HIST_COLUMNS = List.of("tenant", "experiment", "variant", "type", "measure", "unit_id",
            "last_day", "hist");
    static final List<String> UNIT_DAILY_COLUMNS = List.of("tenant", "type", "measure", "unit_id", "day", "count", "sum");
    static final List<String> SAMPLE_COLUMNS = List.of("tenant", "name", "series_id", "labels", "ts", "value");
    static final List<String> SEEN_MARK_COLUMNS = List.of("job", "topic", "partition", "start_offset", "end_offset", "max_ts",
            "ids", "marks");

    /** The 10 s table's columns as this aggregator writes them: {@code rolled_up = 1}, its 1 m and 1 h rows written too. */
    static final List<String> ROLLED_UP_SERIES_COLUMNS;

    static {
        List<String> c = new ArrayList<>(SERIES_COLUMNS);
        c.add("rolled_up");
        ROLLED_UP_SERIES_COLUMNS = List.copyOf(c);
    }

    private static void writeRow(RowBinary rb, SeriesAgg a, boolean rolledUp) {
        SeriesRef k = a.ref;
        rb.str(k.tenant).u8(k.kind).str(k.name).str(a.measure).i64(k.seriesId).i32((int) a.bucketSec)
                .strMap(k.labels).i64(a.count).f64(a.sum).f64(a.sumSq).f64(a.min).f64(a.max);
        a.writeHist(rb);
        if (rolledUp) {
            rb.u8(1);
        }
        rb.endRow();
    }

    /** A row of the 1 m or 1 h table: the 10 s table's sort key with the bucket truncated (what the views grouped by). */
    record CoarseKey(String tenant, byte kind, String name, String measure, long seriesId, long bucketSec) {
    }

    /** The totals of the 10 s rows of one {@link CoarseKey}, as the views summed them ({@code any(labels)}: the first row's). */
    static final class CoarseRow {
        final SortedMap<String, String> labels;
        long count;
        double sum;
        double sumSq;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        final WideHist hist = new WideHist();

        CoarseRow(SortedMap<String, String> labels) {
            this.labels = labels;
        }

        void add(SeriesAgg a) {
            count += a.count;
            sum += a.sum;
            sumSq += a.sumSq;
            min = Math.min(min, a.min);
            max = Math.max(max, a.max);
            a.addHistTo(hist);
        }
    }

    /**
     * The histogram of a {@link CoarseRow}: a dense window of 32-bit counts, to which a 10 s row's window of 8-bit
     * counters is added whole (a loop over adjacent bytes: hashing each bucket into a map made the coarse rows
     * cost 3-4 times the 10 s rows' encoding), and a sparse map for keys outside it. Written like {@link Hist}.
     * 32 bits suffice: a flush holds at most 100,000,000 records (JobSpec), so no bucket of it counts 2^31.
     */
    static final class WideHist {
        /** Widest window, in keys: {@link Hist}'s (4 bytes each: at most 16 KiB a row, while the flush is encoded). */
        static final int MAX_WINDOW = Hist.MAX_WINDOW;
        private int base;
        private int[] dense;
        private IntLongMap rest;

        /** Adds the counters {@code counts[i] & 0xff} of keys {@code from + i}, for i in [lo, hi). */
        void addWindow(int from, byte[] counts) {
            int lo = 0;
            int hi = counts.length;
            while (lo < hi && counts[lo] == 0) {
                lo++;
            }
            while (hi > lo && counts[hi - 1] == 0) {
                hi--;
            }
            if (lo == hi) {
                return;
            }
            addWindow(from, counts, lo, hi);
        }

        private void addWindow(int from0, byte[] counts, int lo, int hi) {
            int from = from0 + lo;
            int len = hi - lo;
            if (dense == null) {
                if (len > MAX_WINDOW) {
                    addEach(from0, counts, lo, hi);
                    return;
                }
                base = from;
                dense = new int[len];
            } else if (from < base || (long) from + len > (long) base + dense.length) {
                long newLo = Math.min(base, from);
                long newHi = Math.max((long) base + dense.length, (long) from + len);
                if (newHi - newLo > MAX_WINDOW) {
                    addEach(from0, counts, lo, hi);
                    return;
                }
                int[] wider = new int[(int) (newHi - newLo)];
                System.arraycopy(dense, 0, wider, (int) (base - newLo), dense.length);
                dense = wider;
                base = (int) newLo;
            }
            int[] d = dense;
            int off = from0 - base;
            for (int i = lo; i < hi; i++) {
                d[off + i] += counts[i] & 0xff;
            }
        }

        private void addEach(int from, byte[] counts, int lo, int hi) {
            for (int i = lo; i < hi; i++) {
                if (counts[i] != 0) {
                    add(from + i, counts[i] & 0xff);
                }
            }
        }

        void add(int key, long n) {
            if (dense != null && key >= base && key - base < dense.length && dense[key - base] <= Integer.MAX_VALUE - n) {
                dense[key - base] += (int) n;
                return;
            }
            if (rest == null) {
                rest = new IntLongMap();
            }
            rest.add(key, n);
        }

        /**
         * RowBinary Map(Int32, UInt64), keys ascending, each key once: {@link Hist#writeHist}'s merge over an int window
         * instead of a byte window (one loop shared through a function of the index, tried: a flush of 21,000 10 s rows
         * encoded in 85-96 ms instead of 47-86, 146-191 instead of 115-121 with its coarse rows).
         */
        void write(RowBinary rb) {
            int[] rk = rest == null ? new int[0] : rest.sortedKeys();
            int n = rk.length;
            if (dense != null) {
                for (int c : dense) {
                    if (c != 0) {
                        n++;
                    }
                }
            }
            // a key is either in the window or in the map (add puts it in the window when it can; the map holds
            // only keys outside the window as it was then, and the window grows only by addWindow, whose keys
            // could then overlap the map's): count overlaps once
            if (dense != null && rest != null) {
                for (int k : rk) {
                    if (k >= base && k - base < dense.length && dense[k - base] != 0) {
                        n--;
                    }
                }
            }
            rb.leb128(n);
            int j = 0;
            if (dense != null) {
                for (int i = 0; i < dense.length; i++) {
                    if (dense[i] == 0) {
                        continue;
                    }
                    int k = base + i;
                    while (j < rk.length && rk[j] < k) {
                        rb.i32(rk[j]).i64(rest.get(rk[j]));
                        j++;
                    }
                    long c = dense[i] & 0xFFFFFFFFL;
                    if (j < rk.length && rk[j] == k) {
                        c += rest.get(k);
                        j++;
                    }
                    rb.i32(k).i64(c);
                }
            }
            while (j < rk.length) {
                rb.i32(rk[j]).i64(rest.get(rk[j]));
                j++;
            }
        }
    }

    private static void rollUp(Map<CoarseKey, CoarseRow> minutes, Map<CoarseKey, CoarseRow> hours, SeriesAgg a) {
        SeriesRef r = a.ref;
        // bucket starts are seconds since the epoch (DateTime, never negative): toStartOfMinute / toStartOfHour in UTC
        minutes.computeIfAbsent(new CoarseKey(r.tenant, r.kind, r.name, a.measure, r.seriesId, a.bucketSec - a.bucketSec % 60),
                k -> new CoarseRow(r.labels)).add(a);
        hours.computeIfAbsent(new CoarseKey(r.tenant, r.kind, r.name, a.measure, r.seriesId, a.bucketSec - a.bucketSec % 3600),
                k -> new CoarseRow(r.labels)).add(a);
    }

    private static Block coarseBlock(String table, Map<CoarseKey, CoarseRow> rows) {
        RowBinary rb = new RowBinary(rows.size() * 160);
        for (Map.Entry<CoarseKey, CoarseRow> e : rows.entrySet()) {
            CoarseKey k = e.getKey();
            CoarseRow v = e.getValue();
            rb.str(k.tenant()).u8(k.kind()).str(k.name()).str(k.measure()).i64(k.seriesId()).i32((int) k.bucketSec())
                    .strMap(v.labels).i64(v.count).f64(v.sum).f64(v.sumSq).f64(v.min).f64(v.max);
            v.hist.write(rb);
            rb.endRow();
        }
        return new Block(table, SERIES_COLUMNS, rb);
    }

    /** The non-empty data blocks of this flush (not the flush-log rows), the 1 m and 1 h rows included. */
    List<Block> encode() {
        return encode(true);
    }

    /**
     * The non-empty data blocks of this flush. {@code rollUp}: the 1 m and 1 h rows merged here, and the 10 s rows
     * marked {@code rolled_up = 1} so that the views skip them; false only to replay a flush that an aggregator
     * older than migration 9 left pending, the way it wrote it (the views then roll it up, as they did the first time).
     */
    List<Block> encode(boolean rollUp) {
        applyPendingIncrements();
        List<Block> out = new ArrayList<>(7);
        if (seriesSize > 0) {
            RowBinary rb = new RowBinary(seriesSize * 96);
            Map<CoarseKey, CoarseRow> minutes = rollUp ? new java.util.LinkedHashMap<>() : null;
            Map<CoarseKey, CoarseRow> hours = rollUp ? new java.util.LinkedHashMap<>() : null;
            for (Group g : table) {
                if (g == null) {
                    continue;
                }
                if (g.count > 0) {
                    writeRow(rb, g, rollUp);
                    if (rollUp) {
                        rollUp(minutes, hours, g);
                    }
                }
                for (int i = 0; i < g.n; i++) {
                    writeRow(rb, g.rows[i], rollUp);
                    if (rollUp) {
                        rollUp(minutes, hours, g.rows[i]);
                    }
                }
            }
            out.add(new Block(Migrations.ROLLUP_10S, rollUp ? ROLLED_UP_SERIES_COLUMNS : SERIES_COLUMNS, rb));
            if (rollUp && !minutes.isEmpty()) {
                out.add(coarseBlock(Migrations.ROLLUP_1M, minutes));
                out.add(coarseBlock(Migrations.ROLLUP_1H, hours));
            }
        }
        if (!units.isEmpty()) {
            RowBinary rb = new RowBinary(units.size() * 80);
            for (Map.Entry<UnitKey, double[]> e : units.entrySet()) {
                UnitKey k = e.getKey();
                double[] v = e.getValue();
                rb.str(k.tenant()).str(k.experiment()).str(k.variant()).str(k.type()).str(k.measure()).str(k.unit())
                        .u16(k.day()).i64((long) v[0]).f64(v[1]).f64(v[2]).endRow();
            }
            out.add(new Block(Migrations.EXPERIMENT_UNITS, UNIT_COLUMNS, rb));
        }
        if (!exposures.isEmpty()) {
            RowBinary rb = new RowBinary(exposures.size() * 64);
            for (Map.Entry<ExposureKey, long[]> e : exposures.entrySet()) {
                ExposureKey k = e.getKey();
                long[] v = e.getValue();
                rb.str(k.tenant()).str(k.experiment()).str(k.variant()).str(k.unit()).i64(v[0]).i64(v[1]).i64(v[2]).endRow();
            }
            out.add(new Block(Migrations.EXPOSURES, EXPOSURE_COLUMNS, rb));
        }
        if (!unitHists.isEmpty()) {
            RowBinary rb = new RowBinary(unitHists.size() * 96);
            for (Map.Entry<UnitHistKey, UnitHist> e : unitHists.entrySet()) {
                UnitHistKey k = e.getKey();
                UnitHist h = e.getValue();
                rb.str(k.tenant()).str(k.experiment()).str(k.variant()).str(k.type()).str(k.measure()).str(k.unit()).u16(h.lastDay);
                h.hist.writeTo(rb);
                rb.endRow();
            }
            out.add(new Block(Migrations.UNIT_HIST, UNIT_HIST_COLUMNS, rb));
        }
        if (!unitDaily.isEmpty()) {
            RowBinary rb = new RowBinary(unitDaily.size() * 64);
            for (Map.Entry<UnitDayKey, double[]> e : unitDaily.entrySet()) {
                UnitDayKey k = e.getKey();
                double[] v = e.getValue();
                rb.str(k.tenant()).str(k.type()).str(k.measure()).str(k.unit()).u16(k.day()).i64((long) v[0]).f64(v[1]).endRow();
            }
            out.add(new Block(Migrations.UNIT_DAILY, UNIT_DAILY_COLUMNS, rb));
        }
        if (samples.rows() > 0) {
            out.add(new Block(Migrations.SAMPLES, SAMPLE_COLUMNS, samples));
        }
        return out;
    }

    /**
     * The records of a flush whose client id was accepted, as a bitmap over their offsets: one bit a
     * record, where the ids themselves took 24 bytes each in memory and 32 in ClickHouse. The ids are
     * in Kafka already: recovery re-reads the marked records of its window and hashes their ids
     * again. Grows by doubling from the first marked offset.
     */
    static final class SeenMarks {
        /** Offset of bit 0 of {@code words[0]}: the first marked offset (-1 before it). */
        private long base = -1;
        private long[] words = new long[0];
        private int n;
        private long maxTs = Long.MIN_VALUE;

        /** Marks the record at {@code offset} (offsets in increasing order, as the partition is read). */
        void add(long offset, long recordTs) {
            if (base < 0) {
                base = offset;
            }
            long bit = offset - base;
            int w = (int) (bit >>> 6);
            if (w >= words.length) {
                words = java.util.Arrays.copyOf(words, Math.max(w + 1, 2 * words.length));
            }
            words[w] |= 1L << bit;
            n++;
            if (recordTs > maxTs) {
                maxTs = recordTs;
            }
        }

        int size() {
            return n;
        }

        /** Heap held: the words and the object. */
        long bytes() {
            return 16 + 8L * words.length + 48;
        }

        /** The marked offsets, in order. */
        void forEach(java.util.function.LongConsumer to) {
            for (int w = 0; w < words.length; w++) {
                for (long bits = words[w]; bits != 0; bits &= bits - 1) {
                    to.accept(base + 64L * w + Long.numberOfTrailingZeros(bits));
                }
            }
        }

        /**
         * The marks as one row of {@code vigil_seen_id_marks} for the flush of {@code [start, end)}
         * (null without ids): bit {@code i} of byte {@code i / 8} (least significant first) is the
         * record at {@code start + i}.
         */
        Block block(String job, String topic, int partition, long start, long end) {
            if (n == 0) {
                return null;
            }
            byte[] bitmap = new byte[(int) ((end - start + 7) >>> 3)];
            forEach(o -> {
                long i = o - start;
                bitmap[(int) (i >>> 3)] |= (byte) (1 << (i & 7));
            });
            RowBinary rb = new RowBinary(64 + job.length() + topic.length() + bitmap.length);
            rb.str(job).str(topic).i32(partition).i64(start).i64(end).i64(maxTs).i64(n).bytes(bitmap).endRow();
            return new Block(Migrations.SEEN_ID_MARKS, SEEN_MARK_COLUMNS, rb);
        }

        /** The offsets a stored bitmap of the records from {@code start} marks, in order. */
        static void decode(long start, byte[] bitmap, java.util.function.LongConsumer to) {
            for (int i = 0; i < bitmap.length; i++) {
                for (int bits = bitmap[i] & 0xFF; bits != 0; bits &= bits - 1) {
                    to.accept(start + 8L * i + Integer.numberOfTrailingZeros(bits));
                }
            }
        }
    }
}
