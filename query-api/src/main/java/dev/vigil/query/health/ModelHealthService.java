package dev.vigil.query.health;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import javax.sql.DataSource;

import dev.vigil.query.experiments.Sql;

/**
 * Reads model traffic from the 1-minute event rollups ({@code vigil_rollup_1m}, docs/schema.md)
 * and evaluates the health figures at any time t from the minutes before it. All figures have
 * one-minute resolution: a window [t - W, t) is the minutes whose bucket start lies in it.
 */
public final class ModelHealthService {
    /** A model, or one version of it ({@code version} null = all versions together). */
    public record Key(String model, String version) {
    }

    /** Totals of one measure in one minute. */
    static final class Agg {
        long count;
        double sum;
        final TreeMap<Integer, Long> hist = new TreeMap<>();
    }

    /** Per key, per measure ("" = the event-count row), per minute (epoch ms). */
    public static final class Data {
        final Map<Key, Map<String, TreeMap<Long, Agg>>> byKey = new LinkedHashMap<>();
        /** Ranges of up to this many minutes merge their histograms directly (the 5-minute series window). */
        private static final int DIRECT_MERGE_MAX = 30;
        /** Sliding histogram sums per minute map and window length (not thread-safe: one Data per request). */
        private final Map<TreeMap<Long, Agg>, Map<Long, HistWindow>> windows = new java.util.IdentityHashMap<>();

        public java.util.Set<Key> keys() {
            return byKey.keySet();
        }

        /** Totals of the minutes in [fromMs, toMs): counts and sums added in time order, histograms from a sliding window. */
        Agg sum(TreeMap<Long, Agg> minutes, long fromMs, long toMs) {
            return sum(minutes, fromMs, toMs, true);
        }

        /** As {@link #sum(TreeMap, long, long)}; the histogram only if {@code withHist}. */
        Agg sum(TreeMap<Long, Agg> minutes, long fromMs, long toMs, boolean withHist) {
            Agg out = new Agg();
            if (minutes == null || fromMs >= toMs) return out;
            java.util.Collection<Agg> range = minutes.subMap(fromMs, true, toMs, false).values();
            int n = 0;
            for (Agg a : range) {
                out.count += a.count;
                out.sum += a.sum;
                n++;
            }
            if (!withHist) return out;
            if (n <= DIRECT_MERGE_MAX) {
                for (Agg a : range) a.hist.forEach((k, v) -> out.hist.merge(k, v, Long::sum));
                return out;
            }
            Map<Long, HistWindow> byLength = windows.computeIfAbsent(minutes, m -> new HashMap<>());
            HistWindow w = byLength.get(toMs - fromMs);
            if (w == null) {
                HistWindow any = byLength.isEmpty() ? null : byLength.values().iterator().next();
                w = any == null ? new HistWindow(minutes) : new HistWindow(any);
                byLength.put(toMs - fromMs, w);
            }
            w.histogram(fromMs, toMs, out.hist);
            return out;
        }
    }

    /**
     * The histogram of a range of minutes, kept as dense counts over the measure's bucket keys and
     * moved from one range to the next by adding the minutes that enter and removing those that
     * leave, so a series of ranges with ascending ends (the points of a PromQL series) costs one
     * pass over the minutes instead of one merge of every minute's histogram per point. Counts
     * are integers: the result equals the direct merge.
     */
    static final class HistWindow {
        private final long[] times;
        private final int[][] keyIdx;
        private final long[][] counts;
        private final int[] keys;
        private final long[] cur;
        private int lo;
        private int hi;

        HistWindow(TreeMap<Long, Agg> minutes) {
            int n = minutes.size();
            times = new long[n];
            int total = 0;
            for (Agg a : minutes.values()) total += a.hist.size();
            int[] all = new int[total];
            int m = 0;
            for (Agg a : minutes.values()) for (int k : a.hist.keySet()) all[m++] = k;
            keys = java.util.Arrays.stream(all).sorted().distinct().toArray();
            keyIdx = new int[n][];
            counts = new long[n][];
            int i = 0;
            for (var e : minutes.entrySet()) {
                times[i] = e.getKey();
                TreeMap<Integer, Long> h = e.getValue().hist;
                keyIdx[i] = new int[h.size()];
                counts[i] = new long[h.size()];
                int j = 0;
                for (var he : h.entrySet()) {
                    keyIdx[i][j] = java.util.Arrays.binarySearch(keys, he.getKey());
                    counts[i][j++] = he.getValue();
                }
                i++;
            }
            cur = new long[keys.length];
        }

        /** Another window over the same minutes (shares the per-minute arrays). */
        HistWindow(HistWindow o) {
            times = o.times;
            keyIdx = o.keyIdx;
            counts = o.counts;
            keys = o.keys;
            cur = new long[keys.length];
        }

        void histogram(long fromMs, long toMs, TreeMap<Integer, Long> into) {
            dense(firstAtOrAfter(fromMs), firstAtOrAfter(toMs));
            for (int k = 0; k < keys.length; k++) if (cur[k] != 0) into.put(keys[k], cur[k]);
        }

        /** Counts of the minutes [nlo, nhi) (indices) per key of {@link #keys}; the array is this window's own, valid until its next move. */
        long[] dense(int nlo, int nhi) {
            if (nlo >= hi || nlo < lo || nhi < hi) {
                java.util.Arrays.fill(cur, 0);
                lo = nlo;
                hi = nlo;
            }
            for (; hi < nhi; hi++) add(hi, 1);
            for (; lo < nlo; lo++) add(lo, -1);
            return cur;
        }

        private void add(int minute, long sign) {
            int[] idx = keyIdx[minute];
            long[] c = counts[minute];
            for (int j = 0; j < idx.length; j++) cur[idx[j]] += sign * c[j];
        }

        int firstAtOrAfter(long t) {
            int i = java.util.Arrays.binarySearch(times, t);
            return i >= 0 ? i : -i - 1;
        }
    }

    /** One judged figure: its value, status and the thresholds used. */
    public record Figure(double value, String status, Double warn, Double critical, String unit) {
        static Figure of(double v, HealthConventions.Bands b, String unit) {
            return new Figure(v, b.status(v), b.warn(), b.critical(), unit);
        }

        static Figure info(double v, String unit) {
            return new Figure(v, Double.isNaN(v) ? "unknown" : "ok", null, null, unit);
        }
    }

    public record MeasureHealth(String measure, long windowCount, long baselineCount, double windowMean,
                                double baselineMean, Figure missingRate, Figure psi, Figure jsDistance, String note) {
    }

    public record ModelHealth(String model, String version, String status, Instant windowStart, Instant windowEnd,
                              Instant baselineStart, Instant baselineEnd, long events, Figure throughputPerSecond,
                              Figure errorRate, Figure latencyP50Ms, Figure latencyP95Ms, Figure latencyP99Ms,
                              Figure freshnessSeconds, List<MeasureHealth> measures, List<String> notes) {
    }

    public record ModelInfo(String model, List<String> versions, long events, Instant lastSeen) {
    }

    private final DataSource ds;
    private final HealthConventions conv;

    public ModelHealthService(DataSource ds, HealthConventions conv) {
        this.ds = ds;
        this.conv = conv;
    }

    public HealthConventions conventions() {
        return conv;
    }

    /** Models seen in the last {@code lookback} (hourly rollups). */
    public List<ModelInfo> models(String tenant, Instant now, Duration lookback) throws SQLException {
        String m = "labels[" + Sql.str(conv.modelDim()) + "]", v = "labels[" + Sql.str(conv.versionDim()) + "]";
        String sql = "SELECT " + m + " AS model, arraySort(groupUniqArrayIf(" + v + ", " + v + " != '')) AS versions, "
                + "sum(count) AS events, toUnixTimestamp(max(bucket)) AS last FROM vigil_rollup_1h WHERE tenant = "
                + Sql.str(tenant) + " AND kind = 'event' AND name = " + Sql.str(conv.eventType()) + " AND measure = '' AND bucket >= "
                + Sql.dateTime(now.minus(lookback).getEpochSecond()) + " AND " + m + " != '' GROUP BY model ORDER BY model";
        List<ModelInfo> out = new ArrayList<>();
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                Object arr = rs.getArray(2).getArray();
                List<String> versions = new ArrayList<>();
                if (arr instanceof Object[] a) for (Object o : a) versions.add(String.valueOf(o));
                out.add(new ModelInfo(rs.getString(1), versions, rs.getLong(3), Instant.ofEpochSecond(rs.getLong(4))));
            }
        }
        return out;
    }

    /**
     * Minute data of the tenant's models in [from, to); {@code model} / {@code version} null = all;
     * {@code perVersion} keeps versions apart, else they are summed per model.
     */
    public Data fetch(String tenant, String model, String version, boolean perVersion, Instant from, Instant to)
            throws SQLException {
        return fetch(tenant, model, version, perVersion, from, to, "1", null, null);
    }

    /**
     * As {@link #fetch(String, String, String, boolean, Instant, Instant)}, with the histograms of the
     * measures that the figures asked for need: those checked for drift if {@code drift}, the latency
     * if {@code latency}; the other minutes come without histogram (most of the rows' bytes).
     */
    public Data fetch(String tenant, String model, String version, boolean perVersion, Instant from, Instant to,
                      boolean drift, boolean latency) throws SQLException {
        return fetch(tenant, model, version, perVersion, from, to, drift, latency, null, null);
    }

    /**
     * As {@link #fetch(String, String, String, boolean, Instant, Instant, boolean, boolean)}, with the
     * minutes whose start lies in [innerFrom, innerTo) summed in ClickHouse into one row per key and
     * measure, stamped with the newest of those minutes. For a series of points whose baselines all
     * contain that range (and whose windows do not touch it) the figures are the same: counts and
     * histograms are integers, the freshness sees the same newest minute; only the baseline's
     * floating sum (its mean, not part of any series) may round differently. Saves reading and
     * parsing most of a 24 h baseline minute by minute.
     */
    public Data fetch(String tenant, String model, String version, boolean perVersion, Instant from, Instant to,
                      boolean drift, boolean latency, Instant innerFrom, Instant innerTo) throws SQLException {
        List<String> cond = new ArrayList<>();
        if (drift) {
            StringBuilder in = new StringBuilder("measure NOT IN ('', ");
            for (String m : conv.notDrifting()) in.append(Sql.str(m)).append(", ");
            cond.add(in.append("'')").toString());
        }
        if (latency) cond.add("measure = " + Sql.str(conv.latencyMeasure()));
        return fetch(tenant, model, version, perVersion, from, to, cond.isEmpty() ? "0" : String.join(" OR ", cond), innerFrom, innerTo);
    }

    private Data fetch(String tenant, String model, String version, boolean perVersion, Instant from, Instant to, String histCondition,
                       Instant innerFrom, Instant innerTo) throws SQLException {
        String m = "labels[" + Sql.str(conv.modelDim()) + "]", v = "labels[" + Sql.str(conv.versionDim()) + "]";
        StringBuilder where = new StringBuilder("tenant = ").append(Sql.str(tenant))
                .append(" AND kind = 'event' AND name = ").append(Sql.str(conv.eventType()))
                .append(" AND bucket >= ").append(Sql.dateTime(from.getEpochSecond() / 60 * 60))
                .append(" AND bucket < ").append(Sql.dateTime(to.getEpochSecond()))
                .append(" AND ").append(m).append(" != ''");
        if (model != null) where.append(" AND ").append(m).append(" = ").append(Sql.str(model));
        if (version != null) where.append(" AND ").append(v).append(" = ").append(Sql.str(version));

        if (innerFrom != null && innerTo != null) {
            // whole seconds: minute starts are whole seconds, so tm * 1000 >= x <=> tm >= ceil(x / 1000)
            long ifs = Math.floorDiv(innerFrom.toEpochMilli() + 999, 1000), its = Math.floorDiv(innerTo.toEpochMilli() + 999, 1000);
            if (ifs < its) {
                return fetchWithCore(where.toString(), m, v, perVersion, histCondition, ifs, its);
            }
        }
        String perMinute = "SELECT " + m + " AS model, " + (perVersion ? v : "''") + " AS version, measure, "
                + "toUnixTimestamp(bucket) AS tm, sum(count) AS cm, sum(sum) AS sm, "
                + (histCondition.equals("0") ? "CAST(map(), 'Map(Int32, UInt64)')" : "sumMapIf(hist, " + histCondition + ")") + " AS hm "
                + "FROM vigil_rollup_1m WHERE " + where + " GROUP BY model, version, measure, tm";
        String sql = "SELECT model, version, measure, tm, cm, sm, " + histText("hm") + " FROM (" + perMinute + ") ORDER BY model, version, measure, tm";
        Data d = new Data();
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                Key key = new Key(rs.getString(1), perVersion ? rs.getString(2) : null);
                Agg a = new Agg();
                a.count = rs.getLong(5);
                a.sum = rs.getDouble(6);
                String h = rs.getString(7);
                if (h != null && !h.isEmpty()) parseHist(h, a.hist);
                d.byKey.computeIfAbsent(key, k -> new LinkedHashMap<>())
                        .computeIfAbsent(rs.getString(3), k -> new TreeMap<>()).put(rs.getLong(4) * 1000, a);
            }
        }
        return d;
    }

    /** A histogram column as "key:count,key:count" (parsed by parseHist). */
    private static String histText(String col) {
        return "arrayStringConcat(arrayMap((k, n) -> concat(toString(k), ':', toString(n)), mapKeys(" + col + "), mapValues(" + col + ")), ',')";
    }

    /**
     * The minutes of [ifs, its) (epoch seconds; the core) as one row per key and measure, stamped
     * with the newest of those minutes with data, the others per minute. Three parts, joined here
     * rather than re-aggregated in ClickHouse (whose sumMap per group cost more than the rest):
     * 0 = counts and sums per minute, core summed, no histogram read; 1 = the histogram rows of the
     * minutes outside the core, added up here; 2 = the core's histogram, its whole hours from vigil_rollup_1h (the same
     * totals, docs/schema.md), the rest of it from the minute rows.
     */
    private Data fetchWithCore(String where, String m, String v, boolean perVersion, String histCondition, long ifs, long its)
            throws SQLException {
        long hf = Math.floorDiv(ifs + 3599, 3600) * 3600, ht = Math.floorDiv(its, 3600) * 3600;
        String cols = m + " AS model, " + (perVersion ? v : "''") + " AS version, measure";
        String inCore = "bucket >= " + Sql.dateTime(ifs) + " AND bucket < " + Sql.dateTime(its);
        String inHours = "bucket >= " + Sql.dateTime(hf) + " AND bucket < " + Sql.dateTime(ht);
        String hist = " AND (" + histCondition + ")";
        String counts = "SELECT 0 AS part, model, version, measure, max(tm) AS t, sum(cm) AS c, sum(sm) AS s, "
                + "CAST(map(), 'Map(Int32, UInt64)') AS h FROM (SELECT " + cols + ", toUnixTimestamp(bucket) AS tm, sum(count) AS cm, sum(sum) AS sm "
                + "FROM vigil_rollup_1m WHERE " + where + " GROUP BY model, version, measure, tm) "
                + "GROUP BY model, version, measure, if(tm >= " + ifs + " AND tm < " + its + ", 0, tm)";
        // the rows themselves (versions, unmerged parts): added up here, cheaper than a sumMap per minute
        String minuteHists = "SELECT 1 AS part, " + cols + ", toUnixTimestamp(bucket) AS t, toUInt64(0) AS c, toFloat64(0) AS s, "
                + "CAST(hist, 'Map(Int32, UInt64)') AS h FROM vigil_rollup_1m WHERE " + where + hist + " AND NOT (" + inCore + ")";
        String coreRows = "SELECT " + cols + ", hist FROM vigil_rollup_1m WHERE " + where + hist + " AND " + inCore
                + (hf < ht ? " AND NOT (" + inHours + ")" : "")
                + (hf < ht ? " UNION ALL SELECT " + cols + ", hist FROM vigil_rollup_1h WHERE " + where + hist + " AND " + inHours : "");
        String coreHist = "SELECT 2 AS part, model, version, measure, toUInt32(0) AS t, toUInt64(0) AS c, toFloat64(0) AS s, sumMap(hist) AS h FROM ("
                + coreRows + ") GROUP BY model, version, measure";
        String sql = "SELECT part, model, version, measure, t, c, s, " + histText("h") + " FROM (" + counts + " UNION ALL " + minuteHists
                + " UNION ALL " + coreHist + ") ORDER BY part, model, version, measure, t";
        Data d = new Data();
        Map<Key, Map<String, Agg>> core = new HashMap<>();
        try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                int part = rs.getInt(1);
                Key key = new Key(rs.getString(2), perVersion ? rs.getString(3) : null);
                String measure = rs.getString(4);
                long t = rs.getLong(5) * 1000;
                Agg a;
                if (part == 0) {
                    a = new Agg();
                    a.count = rs.getLong(6);
                    a.sum = rs.getDouble(7);
                    d.byKey.computeIfAbsent(key, k -> new LinkedHashMap<>()).computeIfAbsent(measure, k -> new TreeMap<>()).put(t, a);
                    if (t >= ifs * 1000 && t < its * 1000) core.computeIfAbsent(key, k -> new HashMap<>()).put(measure, a);
                    continue;
                }
                TreeMap<Long, Agg> minutes = d.byKey.getOrDefault(key, Map.of()).get(measure);
                a = part == 1 ? (minutes == null ? null : minutes.get(t)) : core.getOrDefault(key, Map.of()).get(measure);
                if (a == null) continue; // a histogram without count rows: none in the rollups
                String h = rs.getString(8);
                if (h != null && !h.isEmpty()) parseHist(h, a.hist);
            }
        }
        return d;
    }

    /** Parses "key:count,key:count,..." (keys may be negative) into {@code into}, adding repeated keys. */
    static void parseHist(String s, TreeMap<Integer, Long> into) {
        int i = 0, n = s.length();
        while (i < n) {
            boolean neg = s.charAt(i) == '-';
            if (neg) i++;
            int k = 0;
            for (; s.charAt(i) != ':'; i++) k = 10 * k + (s.charAt(i) - '0');
            long c = 0;
            for (i++; i < n && s.charAt(i) != ','; i++) c = 10 * c + (s.charAt(i) - '0');
            into.merge(neg ? -k : k, c, Long::sum);
            i++;
        }
    }

    /**
     * The drift figures of {@link #evaluate(Data, Key, Instant, Duration, Duration)} for many times at
     * once: for every measure checked for drift (name order), {psi[], js[]} at each of {@code ts}
     * (ascending, ms), NaN where drift is not judged (baseline under {@code minBaselineCount}
     * values, empty window). The window [t - W, t) and the baseline [t - W - B, t - W) slide over
     * the minutes as dense counts and the drift is computed from those arrays
     * ({@link Histograms#drift(long[], long[])}): the same doubles as evaluating each time apart,
     * without a map per minute range and time.
     */
    public Map<String, double[][]> driftSeries(Data d, Key key, long[] ts, Duration window, Duration baseline) {
        Map<String, double[][]> out = new LinkedHashMap<>();
        Map<String, TreeMap<Long, Agg>> measures = d.byKey.getOrDefault(key, Map.of());
        long w = window.toMillis(), b = baseline.toMillis();
        for (var e : new TreeMap<>(measures).entrySet()) {
            String name = e.getKey();
            if (name.isEmpty() || conv.notDrifting().contains(name)) continue;
            TreeMap<Long, Agg> minutes = e.getValue();
            double[] psi = new double[ts.length], js = new double[ts.length];
            java.util.Arrays.fill(psi, Double.NaN);
            java.util.Arrays.fill(js, Double.NaN);
            out.put(name, new double[][]{psi, js});
            int n = minutes.size();
            long[] pre = new long[n + 1];
            int i = 0;
            for (Agg a : minutes.values()) {
                pre[i + 1] = pre[i] + a.count;
                i++;
            }
            HistWindow win = new HistWindow(minutes), base = new HistWindow(win);
            for (int p = 0; p < ts.length; p++) {
                long te = ts[p], ws = te - w, bs = ws - b;
                int wlo = win.firstAtOrAfter(ws), whi = win.firstAtOrAfter(te), blo = win.firstAtOrAfter(bs);
                long wCount = pre[whi] - pre[wlo], bCount = pre[wlo] - pre[blo];
                if (bCount < conv.minBaselineCount() || wCount == 0) continue;
                double[] drift = Histograms.drift(win.dense(wlo, whi), base.dense(blo, wlo));
                psi[p] = drift[0];
                js[p] = drift[1];
            }
        }
        return out;
    }

    /** Health of {@code key} at time {@code t} with window W and baseline B (ending where the window starts). */
    public ModelHealth evaluate(Data d, Key key, Instant t, Duration window, Duration baseline) {
        return evaluate(d, key, t, window, baseline, true);
    }

    ModelHealth evaluate(Data d, Key key, Instant t, Duration window, Duration baseline, boolean withDrift) {
        Map<String, TreeMap<Long, Agg>> measures = d.byKey.getOrDefault(key, Map.of());
        long te = t.toEpochMilli(), ws = te - window.toMillis(), bs = ws - baseline.toMillis();
        List<String> notes = new ArrayList<>();
        Agg events = d.sum(measures.get(""), ws, te, false);
        double seconds = window.toMillis() / 1000.0;
        double throughput = events.count / seconds;
        Figure thr = conv.minThroughput() > 0
                ? new Figure(throughput, throughput < conv.minThroughput() ? "critical"
                : throughput < 2 * conv.minThroughput() ? "warn" : "ok", 2 * conv.minThroughput(), conv.minThroughput(), "1/s")
                : Figure.info(throughput, "1/s");
        Agg err = d.sum(measures.get(conv.errorMeasure()), ws, te, false);
        double errorRate = err.count == 0 ? Double.NaN : err.sum / err.count;
        if (err.count == 0) notes.add("no '" + conv.errorMeasure() + "' values in the window: error rate unknown");
        Agg lat = d.sum(measures.get(conv.latencyMeasure()), ws, te);
        if (lat.count == 0) notes.add("no '" + conv.latencyMeasure() + "' values in the window: latency unknown");
        double p50 = Histograms.quantile(lat.hist, 0.5), p95 = Histograms.quantile(lat.hist, 0.95),
                p99 = Histograms.quantile(lat.hist, 0.99);
        // freshness: end of the newest minute with events at or before t
        double fresh = Double.NaN;
        TreeMap<Long, Agg> counts = measures.get("");
        if (counts != null) {
            var last = counts.headMap(te, false).lastEntry();
            if (last != null) fresh = Math.max(0, (te - (last.getKey() + 60_000)) / 1000.0);
        }
        Figure freshness = Double.isNaN(fresh)
                ? new Figure(Double.NaN, "critical", conv.freshnessSeconds().warn(), conv.freshnessSeconds().critical(), "s")
                : Figure.of(fresh, conv.freshnessSeconds(), "s");
        if (Double.isNaN(fresh)) notes.add("no events of this model in the fetched range: freshness is critical");
        List<MeasureHealth> mh = new ArrayList<>();
        for (var e : new TreeMap<>(measures).entrySet()) {
            String name = e.getKey();
            if (name.isEmpty()) continue;
            Agg w = d.sum(e.getValue(), ws, te, withDrift && !conv.notDrifting().contains(name));
            double missing = events.count == 0 ? Double.NaN : Math.max(0, 1 - (double) w.count / events.count);
            Figure missingFig = Figure.of(missing, conv.missingRate(), "ratio");
            if (conv.notDrifting().contains(name) || !withDrift) {
                mh.add(new MeasureHealth(name, w.count, 0, w.count == 0 ? Double.NaN : w.sum / w.count, Double.NaN,
                        missingFig, null, null, withDrift ? "not checked for drift (configured)" : null));
                continue;
            }
            Agg b = d.sum(e.getValue(), bs, ws);
            String note = null;
            double[] drift;
            if (b.count < conv.minBaselineCount()) {
                drift = new double[]{Double.NaN, Double.NaN};
                note = "baseline has " + b.count + " values, fewer than " + conv.minBaselineCount() + ": drift not judged";
            } else if (w.count == 0) {
                drift = new double[]{Double.NaN, Double.NaN};
                note = "no values in the window: drift not judged";
            } else {
                drift = Histograms.drift(w.hist, b.hist);
            }
            mh.add(new MeasureHealth(name, w.count, b.count, w.count == 0 ? Double.NaN : w.sum / w.count,
                    b.count == 0 ? Double.NaN : b.sum / b.count, missingFig, Figure.of(drift[0], conv.psi(), "psi"),
                    Figure.of(drift[1], conv.js(), "js"), note));
        }
        Figure errFig = Figure.of(errorRate, conv.errorRate(), "ratio");
        Figure p99Fig = Figure.of(p99, conv.latencyP99Ms(), "ms");
        List<Figure> all = new ArrayList<>(List.of(thr, errFig, p99Fig, freshness));
        for (MeasureHealth m : mh) {
            all.add(m.missingRate());
            if (m.psi() != null) all.add(m.psi());
            if (m.jsDistance() != null) all.add(m.jsDistance());
        }
        String status = "ok";
        for (Figure f : all) {
            if (f.status().equals("critical")) status = "critical";
            else if (f.status().equals("warn") && !status.equals("critical")) status = "warn";
        }
        return new ModelHealth(key.model(), key.version(), status, Instant.ofEpochMilli(ws), Instant.ofEpochMilli(te), Instant.ofEpochMilli(bs),
                Instant.ofEpochMilli(ws), events.count, thr, errFig, Figure.info(p50, "ms"), Figure.info(p95, "ms"), p99Fig,
                freshness, mh, notes);
    }
}
