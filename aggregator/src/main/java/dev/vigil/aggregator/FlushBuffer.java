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
    record SeriesKey(String tenant, byte kind, String name, String measure, long seriesId, long bucketSec) {
    }

    static final class SeriesAgg {
        final SortedMap<String, String> labels;
        long count;
        double sum;
        double sumSq;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        IntLongMap hist;

        SeriesAgg(SortedMap<String, String> labels) {
            this.labels = labels;
        }
    }

    record UnitKey(String tenant, String experiment, String variant, String type, String measure, String unit, int day) {
    }

    record ExposureKey(String tenant, String experiment, String variant, String unit) {
    }

    static final byte KIND_EVENT = 1;
    static final byte KIND_SAMPLE = 2;

    final Map<SeriesKey, SeriesAgg> series = new HashMap<>();
    final Map<UnitKey, double[]> units = new HashMap<>();
    final Map<ExposureKey, long[]> exposures = new HashMap<>();
    final RowBinary samples = new RowBinary(256);
    final RowBinary seenIds = new RowBinary(256);
    final List<ProducerRecord<byte[], byte[]>> deadLetters = new ArrayList<>();
    long records;
    long maxEventMs = Long.MIN_VALUE;

    int keys() {
        return series.size() + units.size() + exposures.size() + samples.rows();
    }

    boolean isEmpty() {
        return records == 0;
    }

    void addSeries(String tenant, byte kind, String name, String measure, long seriesId, long bucketSec,
                   SortedMap<String, String> labels, double value, boolean withHist) {
        SeriesAgg a = series.computeIfAbsent(new SeriesKey(tenant, kind, name, measure, seriesId, bucketSec), k -> new SeriesAgg(labels));
        a.count++;
        a.sum += value;
        a.sumSq += value * value;
        if (value < a.min) {
            a.min = value;
        }
        if (value > a.max) {
            a.max = value;
        }
        if (withHist) {
            if (a.hist == null) {
                a.hist = new IntLongMap();
            }
            a.hist.add(LogBuckets.key(value), 1);
        }
    }

    void addUnit(String tenant, String experiment, String variant, String type, String measure, String unit, int day, double value) {
        double[] v = units.computeIfAbsent(new UnitKey(tenant, experiment, variant, type, measure, unit, day), k -> new double[3]);
        v[0] += 1;
        v[1] += value;
        v[2] += value * value;
    }

    void addExposure(String tenant, String experiment, String variant, String unit, long timeMs) {
        long[] v = exposures.computeIfAbsent(new ExposureKey(tenant, experiment, variant, unit),
                k -> new long[] {Long.MAX_VALUE, Long.MIN_VALUE, 0});
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
    static final List<String> SAMPLE_COLUMNS = List.of("tenant", "name", "series_id", "labels", "ts", "value");
    static final List<String> SEEN_COLUMNS = List.of("job", "topic", "partition", "offset", "ts", "id_hi", "id_lo");

    /** The non-empty data blocks of this flush (not the flush-log rows). */
    List<Block> encode() {
        List<Block> out = new ArrayList<>(5);
        if (!series.isEmpty()) {
            RowBinary rb = new RowBinary(series.size() * 96);
            for (Map.Entry<SeriesKey, SeriesAgg> e : series.entrySet()) {
                SeriesKey k = e.getKey();
                SeriesAgg a = e.getValue();
                rb.str(k.tenant()).u8(k.kind()).str(k.name()).str(k.measure()).i64(k.seriesId()).i32((int) k.bucketSec())
                        .strMap(a.labels).i64(a.count).f64(a.sum).f64(a.sumSq).f64(a.min).f64(a.max);
                if (a.hist == null) {
                    rb.leb128(0);
                } else {
                    a.hist.writeTo(rb);
                }
                rb.endRow();
            }
            out.add(new Block(Migrations.ROLLUP_10S, SERIES_COLUMNS, rb));
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
        if (samples.rows() > 0) {
            out.add(new Block(Migrations.SAMPLES, SAMPLE_COLUMNS, samples));
        }
        if (seenIds.rows() > 0) {
            out.add(new Block(Migrations.SEEN_IDS, SEEN_COLUMNS, seenIds));
        }
        return out;
    }
}
