package dev.vigil.query.health;

import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import dev.vigil.common.histogram.LogBuckets;
import dev.vigil.query.experiments.JdbcDataSource;
import dev.vigil.query.experiments.SchemaFixture;
import dev.vigil.query.experiments.Sql;

/**
 * Writes {@code vigil_rollup_10s} rows as docs/schema.md specifies (the 1 m / 1 h tables follow
 * through the materialized views): one count row ({@code measure = ''}) per (tenant, type, dims)
 * and bucket, one row per measure with count, sum, sum_sq, min, max and the log-bucket histogram.
 */
public final class HealthData {
    private final JdbcDataSource ds;
    private final List<String> rows = new ArrayList<>();

    public HealthData(JdbcDataSource ds) {
        this.ds = ds;
    }

    /** docs/schema.md: fmix64(FNV-1a-64(name 0x00 (k 0x00 v 0x00)*)) over labels sorted by key. */
    static long seriesId(String name, Map<String, String> labels) {
        long h = 0xcbf29ce484222325L;
        List<byte[]> parts = new ArrayList<>();
        parts.add(name.getBytes(StandardCharsets.UTF_8));
        for (var e : new TreeMap<>(labels).entrySet()) {
            parts.add(e.getKey().getBytes(StandardCharsets.UTF_8));
            parts.add(e.getValue().getBytes(StandardCharsets.UTF_8));
        }
        for (byte[] p : parts) {
            for (byte b : p) {
                h ^= (b & 0xff);
                h *= 0x100000001b3L;
            }
            h *= 0x100000001b3L; // the 0x00 separator: h ^= 0 then multiply
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    /** Events of one bucket: {@code values[m][i]} = value of measure m in event i (NaN = event lacks it). */
    public void bucket(String tenant, String type, Map<String, String> dims, long bucketEpochSeconds, int events,
                       String[] measures, double[][] values) {
        String labels = mapLiteral(dims);
        long sid = seriesId(type, dims);
        rows.add(row(tenant, type, "", sid, bucketEpochSeconds, labels, events, events, events, 1, 1, "[]", "[]"));
        for (int m = 0; m < measures.length; m++) {
            long n = 0;
            double sum = 0, sq = 0, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
            TreeMap<Integer, Long> hist = new TreeMap<>();
            for (double v : values[m]) {
                if (Double.isNaN(v)) continue;
                n++;
                sum += v;
                sq += v * v;
                min = Math.min(min, v);
                max = Math.max(max, v);
                hist.merge(LogBuckets.key(v), 1L, Long::sum);
            }
            if (n == 0) continue;
            StringBuilder k = new StringBuilder("["), c = new StringBuilder("[");
            for (var e : hist.entrySet()) {
                if (k.length() > 1) { k.append(','); c.append(','); }
                k.append(e.getKey());
                c.append(e.getValue());
            }
            rows.add(row(tenant, type, measures[m], sid, bucketEpochSeconds, labels, n, sum, sq, min, max,
                    k.append(']').toString(), c.append(']').toString()));
        }
    }

    private static String mapLiteral(Map<String, String> m) {
        StringBuilder b = new StringBuilder("map(");
        boolean first = true;
        for (var e : new TreeMap<>(m).entrySet()) {
            if (!first) b.append(", ");
            first = false;
            b.append(Sql.str(e.getKey())).append(", ").append(Sql.str(e.getValue()));
        }
        return b.append(')').toString();
    }

    private static String row(String tenant, String type, String measure, long sid, long bucket, String labels, long count,
                              double sum, double sq, double min, double max, String keys, String counts) {
        return "(" + Sql.str(tenant) + ", 'event', " + Sql.str(type) + ", " + Sql.str(measure) + ", " + Long.toUnsignedString(sid)
                + ", toDateTime(" + bucket + ", 'UTC'), " + labels + ", " + count + ", " + sum + ", " + sq + ", " + min + ", " + max
                + ", mapFromArrays(CAST(" + keys + " AS Array(Int32)), CAST(" + counts + " AS Array(UInt64))))";
    }

    public void flush() throws SQLException {
        for (int i = 0; i < rows.size(); i += 2000) {
            SchemaFixture.exec(ds, "INSERT INTO vigil_rollup_10s (tenant, kind, name, measure, series_id, bucket, labels, count, "
                    + "sum, sum_sq, min, max, hist) VALUES " + String.join(",", rows.subList(i, Math.min(rows.size(), i + 2000))));
        }
        rows.clear();
    }
}
