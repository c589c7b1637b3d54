package dev.vigil.query;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import com.clickhouse.client.api.insert.InsertSettings;
import com.clickhouse.data.ClickHouseFormat;

import dev.vigil.clickhouse.EmbeddedClickHouse;
import dev.vigil.common.histogram.LogBuckets;
import dev.vigil.query.storage.ChReader;

/**
 * The aggregator's tables exactly as docs/schema.md specifies them, in a fresh database of the
 * embedded ClickHouse (or CLICKHOUSE_URL), and writers that insert rollup rows and raw samples in
 * RowBinary the way the aggregator does.
 */
public final class TestTables implements AutoCloseable {
    public final String database;
    public final String jdbcUrl;
    public final ChReader ch;

    private TestTables(String database, String jdbcUrl, ChReader ch) {
        this.database = database;
        this.jdbcUrl = jdbcUrl;
        this.ch = ch;
    }

    public static String baseUrl() {
        String ext = System.getenv("CLICKHOUSE_URL");
        if (ext != null && !ext.isBlank()) {
            return ext.replaceAll("/[^/:]*$", "");
        }
        String u = EmbeddedClickHouse.shared().jdbcUrl();
        return u.substring(0, u.lastIndexOf('/'));
    }

    public static TestTables create(String prefix) throws Exception {
        String db = prefix + "_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        String base = baseUrl();
        try (ChReader root = new ChReader(base + "/default", "default", "")) {
            root.execute("CREATE DATABASE IF NOT EXISTS " + db, Map.of());
        }
        ChReader ch = new ChReader(base + "/" + db, "default", "");
        for (String ddl : DDL) {
            ch.execute(ddl, Map.of());
        }
        return new TestTables(db, base + "/" + db, ch);
    }

    static String rollup(String name, String partition, String ttl) {
        return """
                CREATE TABLE IF NOT EXISTS %s
                (
                    tenant LowCardinality(String), kind Enum8('event' = 1, 'sample' = 2), name LowCardinality(String),
                    measure LowCardinality(String), series_id UInt64, bucket DateTime('UTC'),
                    labels SimpleAggregateFunction(any, Map(String, String)), count SimpleAggregateFunction(sum, UInt64),
                    sum SimpleAggregateFunction(sum, Float64), sum_sq SimpleAggregateFunction(sum, Float64),
                    min SimpleAggregateFunction(min, Float64), max SimpleAggregateFunction(max, Float64),
                    hist SimpleAggregateFunction(sumMap, Map(Int32, UInt64))
                )
                ENGINE = AggregatingMergeTree PARTITION BY %s ORDER BY (tenant, kind, name, measure, series_id, bucket)
                TTL bucket + %s SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1""".formatted(name, partition, ttl);
    }

    static String view(String view, String target, String trunc) {
        return """
                CREATE MATERIALIZED VIEW IF NOT EXISTS %s TO %s AS
                SELECT tenant, kind, name, measure, series_id, %s AS bucket, any(labels) AS labels, sum(count) AS count,
                       sum(sum) AS sum, sum(sum_sq) AS sum_sq, min(min) AS min, max(max) AS max, sumMap(hist) AS hist
                FROM vigil_rollup_10s GROUP BY tenant, kind, name, measure, series_id, bucket""".formatted(view, target, trunc);
    }

    static final List<String> DDL = List.of(
            rollup("vigil_rollup_10s", "toYYYYMMDD(bucket)", "INTERVAL 7 DAY"),
            rollup("vigil_rollup_1m", "toYYYYMM(bucket)", "INTERVAL 90 DAY"),
            rollup("vigil_rollup_1h", "toYYYYMM(bucket)", "INTERVAL 730 DAY"),
            view("vigil_rollup_1m_mv", "vigil_rollup_1m", "toStartOfMinute(bucket)"),
            view("vigil_rollup_1h_mv", "vigil_rollup_1h", "toStartOfHour(bucket)"),
            """
            CREATE TABLE IF NOT EXISTS vigil_samples
            (
                tenant LowCardinality(String), name LowCardinality(String), series_id UInt64,
                labels Map(String, String), ts DateTime64(3, 'UTC'), value Float64
            )
            ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (tenant, name, series_id, ts)
            SETTINGS non_replicated_deduplication_window = 10000""");

    // ------------------------------------------------------------------ rollup rows

    /** One rollup row of vigil_rollup_10s. */
    public record RollupRow(String tenant, String kind, String name, String measure, SortedMap<String, String> labels,
                            long bucketSec, long count, double sum, double sumSq, double min, double max, Map<Integer, Long> hist) {
    }

    /** Accumulates events into 10 s rollup rows exactly as the aggregator does (docs/schema.md). */
    public static final class Rollup {
        private final Map<String, RollupRow> rows = new TreeMap<>();
        private final int bucketSec;

        public Rollup(int bucketSec) {
            this.bucketSec = bucketSec;
        }

        public void event(String tenant, String type, SortedMap<String, String> dims, long timeMs, Map<String, Double> measures) {
            long b = Math.floorDiv(timeMs, bucketSec * 1000L) * bucketSec;
            add(tenant, type, "", dims, b, 1, null);
            measures.forEach((m, v) -> add(tenant, type, m, dims, b, 1, v));
        }

        private void add(String tenant, String type, String measure, SortedMap<String, String> dims, long b, long n, Double v) {
            String key = tenant + "\0" + type + "\0" + measure + "\0" + dims + "\0" + b;
            RollupRow r = rows.get(key);
            long count = (r == null ? 0 : r.count) + n;
            double sum = (r == null ? 0 : r.sum) + (v == null ? 1 : v);
            double sq = (r == null ? 0 : r.sumSq) + (v == null ? 1 : v * v);
            double min = Math.min(r == null ? Double.POSITIVE_INFINITY : r.min, v == null ? 1 : v);
            double max = Math.max(r == null ? Double.NEGATIVE_INFINITY : r.max, v == null ? 1 : v);
            Map<Integer, Long> hist = r == null ? new TreeMap<>() : r.hist;
            if (v != null) {
                hist.merge(LogBuckets.key(v), 1L, Long::sum);
            }
            rows.put(key, new RollupRow(tenant, "event", type, measure, dims, b, count, sum, sq, min, max, hist));
        }

        public List<RollupRow> rows() {
            return List.copyOf(rows.values());
        }
    }

    public void insertRollups(List<RollupRow> rows) throws Exception {
        Bin w = new Bin();
        for (RollupRow r : rows) {
            w.str(r.tenant).i8(r.kind.equals("event") ? 1 : 2).str(r.name).str(r.measure)
                    .i64(seriesId(r.name + (r.measure.isEmpty() ? "" : "\u0001" + r.measure), r.labels))
                    .i32((int) r.bucketSec).map(r.labels)
                    .i64(r.count).f64(r.sum).f64(r.sumSq).f64(r.min).f64(r.max);
            w.uvarint(r.hist.size());
            for (Map.Entry<Integer, Long> e : r.hist.entrySet()) {
                w.i32(e.getKey()).i64(e.getValue());
            }
        }
        insert("vigil_rollup_10s", w.bytes());
    }

    /** A raw sample row of vigil_samples. */
    public record SampleRow(String tenant, String name, SortedMap<String, String> labels, long tsMs, double value) {
    }

    public void insertSamples(List<SampleRow> rows) throws Exception {
        Bin w = new Bin();
        for (SampleRow r : rows) {
            w.str(r.tenant).str(r.name).i64(seriesId(r.name, r.labels)).map(r.labels).i64(r.tsMs).f64(r.value);
        }
        insert("vigil_samples", w.bytes());
    }

    private void insert(String table, byte[] data) throws Exception {
        if (data.length == 0) {
            return;
        }
        try (var resp = ch.client().insert(table, new ByteArrayInputStream(data), ClickHouseFormat.RowBinary, new InsertSettings())
                .get(300, TimeUnit.SECONDS)) {
            // written
        }
    }

    /** docs/schema.md's series_id: fmix64(FNV-1a-64(name 0 (k 0 v 0)*)). */
    public static long seriesId(String name, SortedMap<String, String> labels) {
        long h = 0xcbf29ce484222325L;
        h = fnv(h, name);
        for (Map.Entry<String, String> e : labels.entrySet()) {
            h = fnv(h, e.getKey());
            h = fnv(h, e.getValue());
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    private static long fnv(long h, String s) {
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= (x & 0xff);
            h *= 0x100000001b3L;
        }
        h *= 0x100000001b3L;
        return h;
    }

    /** RowBinary writer. */
    static final class Bin {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 16);
        private final ByteBuffer b8 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Bin uvarint(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
            return this;
        }

        Bin str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            uvarint(b.length);
            out.writeBytes(b);
            return this;
        }

        Bin i8(int v) {
            out.write(v);
            return this;
        }

        Bin i32(int v) {
            b8.clear();
            b8.putInt(v);
            out.write(b8.array(), 0, 4);
            return this;
        }

        Bin i64(long v) {
            b8.clear();
            b8.putLong(v);
            out.write(b8.array(), 0, 8);
            return this;
        }

        Bin f64(double v) {
            return i64(Double.doubleToRawLongBits(v));
        }

        Bin map(Map<String, String> m) {
            uvarint(m.size());
            m.forEach((k, v) -> {
                str(k);
                str(v);
            });
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    @Override
    public void close() {
        try {
            ch.execute("DROP DATABASE IF EXISTS " + database, Map.of());
        } catch (RuntimeException ignored) {
            // best effort
        }
        ch.close();
    }
}
