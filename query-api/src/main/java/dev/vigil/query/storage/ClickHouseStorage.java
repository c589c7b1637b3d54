package dev.vigil.query.storage;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

import dev.vigil.common.histogram.LogBuckets;
import dev.vigil.promql.Labels;
import dev.vigil.promql.Matcher;
import dev.vigil.promql.storage.Querier;
import dev.vigil.promql.storage.SelectHints;
import dev.vigil.promql.storage.SeriesData;
import dev.vigil.promql.storage.Storage;
import dev.vigil.query.api.DerivedSeriesProvider;
import dev.vigil.query.storage.EventSeriesMapping.EventMetric;
import dev.vigil.query.storage.EventSeriesMapping.Suffix;

/**
 * PromQL {@link Storage} over the aggregator's ClickHouse tables (docs/schema.md), confined to one
 * tenant per {@link #forTenant} view. Pushes into SQL: the tenant (always, as a query parameter the
 * PromQL text cannot reach), metric name, label matchers (=, !=, =~, !~ as parameters), the time
 * range, the rollup resolution (10 s / 1 m / 1 h, chosen so aligned windows stay exact), the
 * per-bucket merge of rollup rows (and of the log-bucket histograms), and, when the query rewriter
 * marks a selector with {@link #GROUP_MATCHER}, the cross-series sum of {@code sum by (...) (rate(...))}.
 *
 * <p>Events become counters with two samples per rollup bucket boundary {@code b} (at {@code b} and
 * {@code b + 1 ms}, both holding the total of buckets before {@code b}); see docs/query-api.md.
 */
public final class ClickHouseStorage {
    /** Pseudo-matcher set by {@link PushdownRewriter}: value = comma-separated labels to sum by. */
    public static final String GROUP_MATCHER = "__vigil_sum_by__";
    public static final String SAMPLES = "vigil_samples";
    /** The hours of vigil_rollup_1h that hold every series seen in [from, to) (its label sets). */
    private static final String HOURLY_RANGE = " AND bucket >= toStartOfHour(toDateTime({from:Int64}, 'UTC')) AND bucket < toDateTime({to:Int64}, 'UTC')";
    private static final String BUCKET_RANGE = " AND bucket >= toDateTime({from:Int64}, 'UTC') AND bucket < toDateTime({to:Int64}, 'UTC')";

    /** Tunables. */
    public record Settings(int baseBucketSeconds, long lookbackMs, long catalogueTtlMs, LongSupplier clock) {
        public static Settings defaults() {
            return new Settings(10, 300_000L, 10_000L, System::currentTimeMillis);
        }
    }

    private record Catalogue(long loadedAt, Map<String, List<EventMetric>> events, Set<String> sampleNames) {
        boolean has(String metricName) {
            return events.containsKey(metricName) || sampleNames.contains(metricName);
        }
    }

    /**
     * A query naming a metric the cached catalogue lacks reloads it once this old: a metric
     * stored for the first time is queryable as soon as it is stored, not a catalogue TTL later
     * (measured: the soak's first freshness probe waited the whole 10 s TTL), while a client
     * asking for names that do not exist costs at most one reload per tenant per second.
     */
    private static final long MISS_RELOAD_MS = 1_000L;

    private final ChReader ch;
    private final Settings settings;
    private final TableRetention retention;
    private final List<DerivedSeriesProvider> providers;
    private final Map<String, Catalogue> catalogues = new ConcurrentHashMap<>();
    private final Map<String, java.util.concurrent.atomic.AtomicLong> missReloads = new ConcurrentHashMap<>();

    public ClickHouseStorage(ChReader ch, Settings settings, List<DerivedSeriesProvider> providers) {
        this.ch = ch;
        this.settings = settings;
        this.retention = TableRetention.of(ch, settings.clock);
        // kept as given, not copied: QueryApi passes a live view that the modules' providers are
        // added to after the storage is built (a copy here was empty, so no derived series were served)
        this.providers = java.util.Collections.unmodifiableList(providers);
    }

    /** Whether unaggregated event selectors take the series path ({@code selectSeriesEvents}); tests compare it with the general path. */
    private volatile boolean seriesFastPath = true;

    /** Turns the series path of unaggregated event selectors off (tests: the general path's answers) or on (the default). */
    public ClickHouseStorage seriesFastPath(boolean on) {
        this.seriesFastPath = on;
        return this;
    }

    private final java.util.concurrent.atomic.AtomicLong seriesPathAnswers = new java.util.concurrent.atomic.AtomicLong();

    /** How many event selections the series path answered (tests: that it was taken). */
    public long seriesPathAnswers() {
        return seriesPathAnswers.get();
    }

    public ChReader reader() {
        return ch;
    }

    public Settings settings() {
        return settings;
    }

    /** The storage as seen by one tenant for one query. */
    public Storage forTenant(String tenant, QueryGuard guard) {
        if (tenant == null || tenant.isEmpty()) {
            throw new IllegalArgumentException("tenant required");
        }
        return (mint, maxt) -> new TenantQuerier(tenant, guard == null ? QueryGuard.unlimited() : guard, mint, maxt);
    }

    public void invalidateCatalogue() {
        catalogues.clear();
    }

    // ------------------------------------------------------------------ catalogue

    private Catalogue catalogue(String tenant, QueryGuard guard) {
        return catalogue(tenant, guard, null);
    }

    /** @param wanted a metric name the query asks for by equality, or null */
    private Catalogue catalogue(String tenant, QueryGuard guard, String wanted) {
        Catalogue c = catalogues.get(tenant);
        long now = System.currentTimeMillis();
        if (c != null && now - c.loadedAt < settings.catalogueTtlMs) {
            if (wanted == null || c.has(wanted)) {
                return c;
            }
            // a miss: one reload per tenant per MISS_RELOAD_MS, whoever asks and however many
            // missing names one query names; the others answer from the catalogue they have
            java.util.concurrent.atomic.AtomicLong last = missReloads.computeIfAbsent(tenant, t -> new java.util.concurrent.atomic.AtomicLong());
            long prev = last.get();
            if (now - prev < MISS_RELOAD_MS || !last.compareAndSet(prev, now)) {
                return c;
            }
        }
        Map<String, List<EventMetric>> events = new TreeMap<>();
        ch.select("SELECT name, measure FROM vigil_rollup_1h WHERE tenant = {tenant:String} AND kind = 'event' GROUP BY name, measure",
                Map.of("tenant", tenant), guard, r -> {
                    for (EventMetric m : EventSeriesMapping.metricsOf(r.getString("name"), r.getString("measure"))) {
                        events.computeIfAbsent(m.metricName(), k -> new ArrayList<>()).add(m);
                    }
                });
        Set<String> names = new java.util.TreeSet<>();
        ch.select("SELECT DISTINCT name FROM " + SAMPLES + " WHERE tenant = {tenant:String}", Map.of("tenant", tenant), guard,
                r -> names.add(r.getString("name")));
        // stamped when loaded, not when asked: a slow load is not born stale
        Catalogue fresh = new Catalogue(System.currentTimeMillis(), events, names);
        catalogues.merge(tenant, fresh, (old, nu) -> old.loadedAt > nu.loadedAt ? old : nu);
        return fresh;
    }

    /** Metric names of the tenant (event-derived, raw samples, derived providers), sorted. */
    public List<String> metricNames(String tenant, QueryGuard guard) {
        Catalogue c = catalogue(tenant, guard);
        Set<String> out = new java.util.TreeSet<>(c.events.keySet());
        out.addAll(c.sampleNames);
        for (DerivedSeriesProvider p : providers) {
            out.addAll(p.metricNames());
        }
        return new ArrayList<>(out);
    }

    /** Prometheus metadata (type, help) of the event-derived metrics. */
    public Map<String, EventMetric> eventMetrics(String tenant, QueryGuard guard) {
        Map<String, EventMetric> out = new TreeMap<>();
        catalogue(tenant, guard).events.forEach((k, v) -> out.put(k, v.get(0)));
        return out;
    }

    public Set<String> sampleNames(String tenant, QueryGuard guard) {
        return catalogue(tenant, guard).sampleNames;
    }

    // ------------------------------------------------------------------ resolution choice

    /** A rollup table and its bucket width. */
    public record Resolution(String table, long bucketMs) {
    }

    /**
     * The coarsest rollup table whose bucket divides the step, the range and the evaluation
     * timestamps (so every window (t - range, t] is a union of whole buckets: exact results) and
     * that holds every row from the start on ({@link TableRetention#completeSince}: its retention, and what it dropped
     * before a retention was made longer); otherwise the finest table that does.
     */
    public Resolution chooseResolution(SelectHints h) {
        long base = settings.baseBucketSeconds * 1000L;
        Resolution r10 = new Resolution(TableRetention.ROLLUP_10S, base);
        Resolution r1m = new Resolution(TableRetention.ROLLUP_1M, 60_000L);
        Resolution r1h = new Resolution(TableRetention.ROLLUP_1H, 3_600_000L);
        List<Resolution> allowed = new ArrayList<>();
        // a margin inside the TTL (an hour for the 10 s table, a day for the 1 m table; a tenth of a short retention)
        if (h.start() >= retention.completeSince(TableRetention.ROLLUP_10S, 3_600_000L)) {
            allowed.add(r10);
        }
        if (h.start() >= retention.completeSince(TableRetention.ROLLUP_1M, 86_400_000L)) {
            allowed.add(r1m);
        }
        allowed.add(r1h);
        long width = h.range() > 0 ? h.range() : settings.lookbackMs;
        long firstT = h.start() - 1 + width;
        for (int i = allowed.size() - 1; i >= 0; i--) {
            Resolution r = allowed.get(i);
            long b = r.bucketMs;
            boolean stepOk = h.step() <= 1 || h.step() % b == 0;
            boolean rangeOk = h.range() == 0 || h.range() % b == 0;
            boolean alignOk = Math.floorMod(firstT, b) == 0;
            if (stepOk && rangeOk && alignOk) {
                return r;
            }
        }
        return allowed.get(0);
    }

    /** The rollup tables' retention as the query API last read it. */
    public TableRetention retention() {
        return retention;
    }

    // ------------------------------------------------------------------ querier

    private final class TenantQuerier implements Querier {
        private final String tenant;
        private final QueryGuard guard;
        private final long mint;
        private final long maxt;

        TenantQuerier(String tenant, QueryGuard guard, long mint, long maxt) {
            this.tenant = tenant;
            this.guard = guard;
            this.mint = mint;
            this.maxt = maxt;
        }

        @Override
        public List<SeriesData> select(SelectHints hints, List<Matcher> all) {
            guard.check();
            long start = Math.max(mint, hints.start());
            long end = Math.min(maxt, hints.end());
            SelectHints h = new SelectHints(start, end, hints.step(), hints.func(), hints.range(), hints.grouping(), hints.by());
            List<Matcher> matchers = new ArrayList<>();
            List<String> groupBy = null;
            for (Matcher m : all) {
                if (m.name().equals(GROUP_MATCHER)) {
                    groupBy = m.value().isEmpty() ? List.of() : List.of(m.value().split(","));
                } else {
                    matchers.add(m);
                }
            }
            List<Matcher> nameMatchers = matchers.stream().filter(m -> m.name().equals(Labels.METRIC_NAME)).toList();
            List<SeriesData> out = new ArrayList<>();
            if (end < start) {
                return out;
            }
            // computed series of other modules
            Set<String> derivedNames = new LinkedHashSet<>();
            // every provider with at least one matching name is asked once; it answers for all its
            // matching names (a regex selector may match several names of one provider)
            for (DerivedSeriesProvider p : providers) {
                Set<String> mine = new LinkedHashSet<>();
                for (String n : p.metricNames()) {
                    if (nameMatches(nameMatchers, n)) {
                        mine.add(n);
                    }
                }
                if (mine.isEmpty()) {
                    continue;
                }
                derivedNames.addAll(mine);
                for (SeriesData sd : p.select(tenant, h, matchers)) {
                    if (allMatch(matchers, sd.labels()) && mine.contains(sd.labels().metricName())) {
                        out.add(sd);
                    }
                }
            }
            String eqName = nameMatchers.stream().filter(m -> m.type() == Matcher.Type.EQ).map(Matcher::value).findFirst().orElse(null);
            if (eqName != null && derivedNames.contains(eqName)) {
                guard.addSeries(out.size());
                return out;
            }
            Catalogue cat = catalogue(tenant, guard, eqName);
            // event rollups as series
            List<EventMetric> eventMetrics = new ArrayList<>();
            if (eqName != null) {
                eventMetrics.addAll(cat.events.getOrDefault(eqName, List.of()));
            } else {
                cat.events.forEach((n, ms) -> {
                    if (nameMatches(nameMatchers, n)) {
                        eventMetrics.addAll(ms);
                    }
                });
            }
            for (EventMetric em : eventMetrics) {
                selectEvents(em, h, matchers, groupBy, out);
            }
            // raw samples: only if some sample name can match
            boolean anySample = eqName != null ? cat.sampleNames.contains(eqName)
                    : cat.sampleNames.stream().anyMatch(n -> nameMatches(nameMatchers, n));
            if (anySample) {
                selectSamples(h, matchers, nameMatchers, out);
            }
            return out;
        }

        private void selectSamples(SelectHints h, List<Matcher> matchers, List<Matcher> nameMatchers, List<SeriesData> out) {
            Map<String, Object> p = new HashMap<>();
            p.put("tenant", tenant);
            p.put("from", h.start());
            p.put("to", h.end());
            StringBuilder where = new StringBuilder("tenant = {tenant:String} AND ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND ts <= fromUnixTimestamp64Milli({to:Int64}, 'UTC')");
            int[] n = {0};
            for (Matcher m : nameMatchers) {
                where.append(" AND ").append(condition("name", m, p, n));
            }
            appendLabelConditions(where, matchers, p, n, Set.of());
            String sql = "SELECT any(name) AS mname, mapKeys(any(labels)) AS lk, mapValues(any(labels)) AS lv, groupArray(t) AS ts, groupArray(value) AS vs FROM ("
                    + "SELECT name, series_id, labels, toUnixTimestamp64Milli(ts) AS t, value FROM " + SAMPLES + " WHERE " + where
                    + " ORDER BY name, series_id, t LIMIT 1 BY name, series_id, t) GROUP BY name, series_id";
            List<SeriesData> local = new ArrayList<>();
            ch.select(sql, p, guard, r -> {
                Labels.Builder b = labelsOf(Cols.strings(r, "lk"), Cols.strings(r, "lv"));
                b.set(Labels.METRIC_NAME, r.getString("mname"));
                Labels l = b.build();
                if (!allMatch(matchers, l)) {
                    return;
                }
                long[] ts = Cols.longs(r, "ts");
                double[] vs = Cols.doubles(r, "vs");
                sortByTime(ts, vs);
                local.add(new SeriesData(l, ts, vs));
                guard.addSeries(1);
            });
            out.addAll(local);
        }

        private void selectEvents(EventMetric em, SelectHints h, List<Matcher> matchers, List<String> groupBy, List<SeriesData> out) {
            Resolution res = chooseResolution(h);
            long B = res.bucketMs;
            long lo = Math.floorDiv(h.start(), B) * B;
            long hi = Math.floorDiv(h.end(), B) * B;
            long fetchFrom = em.suffix().counter() ? lo : lo - B;
            long fetchTo = em.suffix().counter() ? hi : hi;
            if (fetchTo <= fetchFrom && em.suffix().counter()) {
                fetchTo = fetchFrom;
            }
            Map<String, Object> p = new HashMap<>();
            p.put("tenant", tenant);
            p.put("type", em.type());
            p.put("measure", em.measure());
            p.put("from", Math.floorDiv(fetchFrom, 1000));
            p.put("to", Math.floorDiv(fetchTo, 1000));
            String metric = "tenant = {tenant:String} AND kind = 'event' AND name = {type:String} AND measure = {measure:String}";
            StringBuilder labelConds = new StringBuilder();
            int[] n = {0};
            appendLabelConditions(labelConds, matchers, p, n, Set.of("le"));
            if (groupBy != null && em.suffix() != Suffix.BUCKET) {
                selectGroupedEvents(em, res, metric, labelConds.toString(), p, matchers, groupBy, lo, hi, out);
                return;
            }
            if (groupBy == null && em.suffix() != Suffix.BUCKET && seriesFastPath
                    && selectSeriesEvents(em, res, metric, labelConds.toString(), p, matchers, lo, hi, out)) {
                return;
            }
            StringBuilder where = new StringBuilder(metric).append(BUCKET_RANGE).append(labelConds);
            String key;
            String labExpr; // a row's labels (per group: the group's labels)
            if (groupBy == null) {
                key = "series_id";
                labExpr = "labels";
            } else if (groupBy.isEmpty()) {
                key = "toUInt8(0)";
                labExpr = "CAST(map(), 'Map(String, String)')";
            } else {
                StringBuilder k = new StringBuilder("tuple(");
                StringBuilder m = new StringBuilder("map(");
                for (int i = 0; i < groupBy.size(); i++) {
                    String param = "g" + i;
                    p.put(param, groupBy.get(i));
                    if (i > 0) {
                        k.append(", ");
                        m.append(", ");
                    }
                    k.append("labels[{").append(param).append(":String}]");
                    m.append("{").append(param).append(":String}, labels[{").append(param).append(":String}]");
                }
                key = k.append(")").toString();
                labExpr = m.append(")").toString();
            }
            String inner;
            String outerCols;
            if (em.suffix() == Suffix.BUCKET) {
                // the histogram rows as stored, not summed per bucket: emitHistogram adds up all rows
                // of a bucket anyway (integer counts, so the same totals), and a sumMap per (group,
                // bucket) was most of ClickHouse's time for a 6 h range of 10 s buckets
                inner = "SELECT " + key + " AS k, " + labExpr + " AS lab, toInt64(toUnixTimestamp(bucket)) * 1000 AS b, "
                        + "CAST(hist, 'Map(Int32, UInt64)') AS h FROM " + res.table + " WHERE " + where;
                outerCols = "groupArray(toInt64(length(h))) AS hn, arrayFlatten(groupArray(mapKeys(h))) AS hk, "
                        + "arrayFlatten(groupArray(arrayMap(x -> toInt64(x), mapValues(h)))) AS hv";
            } else {
                inner = "SELECT " + key + " AS k, any(" + labExpr + ") AS lab, toInt64(toUnixTimestamp(bucket)) * 1000 AS b, "
                        + mergedColumn(em.suffix()) + " AS c FROM " + res.table + " WHERE " + where + " GROUP BY k, bucket";
                outerCols = "groupArray(c) AS cs";
            }
            String sql = "SELECT mapKeys(any(lab)) AS lk, mapValues(any(lab)) AS lv, groupArray(b) AS bs, " + outerCols + " FROM ("
                    + inner + ") GROUP BY k";
            boolean grouped = groupBy != null;
            List<Object[]> hists = new ArrayList<>();
            ch.select(sql, p, guard, r -> {
                Labels.Builder lb = labelsOf(Cols.strings(r, "lk"), Cols.strings(r, "lv"));
                lb.set(Labels.METRIC_NAME, em.metricName());
                long[] bs = Cols.longs(r, "bs");
                if (em.suffix() == Suffix.BUCKET) {
                    hists.add(new Object[] {lb, bs, Cols.longs(r, "hn"), Cols.ints(r, "hk"), Cols.longs(r, "hv")});
                    return;
                }
                Labels l = lb.build();
                if (!grouped && !allMatch(matchers, l) || grouped && !matchesSynthetic(matchers, l)) {
                    return;
                }
                emitSeries(em, l, bs, Cols.doubles(r, "cs"), lo, hi, B, out);
            });
            if (!hists.isEmpty()) {
                // one le set for every series of the metric, so that sum by (le) adds like with like:
                // the upper bounds of the distinct keys and of the keys below them, sorted, distinct
                List<int[]> keyLists = new ArrayList<>(hists.size());
                for (Object[] hr : hists) {
                    keyLists.add((int[]) hr[3]);
                }
                int[] keys = distinctKeys(keyLists);
                double[] bounds = new double[2 * keys.length];
                int nbnd = 0;
                for (int hkey : keys) {
                    bounds[nbnd++] = LogBuckets.upperBound(hkey);
                    if (hkey != LogBuckets.ZERO_KEY) {
                        bounds[nbnd++] = LogBuckets.upperBound(hkey - 1);
                    }
                }
                Arrays.sort(bounds, 0, nbnd);
                double[] les = new double[nbnd + 1];
                int j = 0;
                for (int i = 0; i < nbnd; i++) {
                    if (j == 0 || Double.compare(bounds[i], les[j - 1]) != 0) {
                        les[j++] = bounds[i];
                    }
                }
                les[j++] = Double.POSITIVE_INFINITY;
                les = Arrays.copyOf(les, j);
                // the le index of each distinct key's upper bound
                int[] leOfKey = new int[keys.length];
                for (int i = 0; i < keys.length; i++) {
                    leOfKey[i] = Arrays.binarySearch(les, LogBuckets.upperBound(keys[i]));
                }
                for (Object[] hr : hists) {
                    emitHistogram((Labels.Builder) hr[0], (long[]) hr[1], (long[]) hr[2], (int[]) hr[3], (long[]) hr[4], les, keys, leOfKey,
                            lo, hi, B, matchers, grouped, out);
                }
            }
        }

        /**
         * One series per series_id (no pushdown; count/sum/min/max, not histogram buckets), the same
         * rows and values as the general path of {@link #selectEvents}: the label sets come from the
         * few rows of {@code vigil_rollup_1h} (a series_id stands for one label set, and the hourly
         * table holds every series of the finer ones, docs/schema.md), so the scan of the rollup
         * table reads ids, buckets and the merged column, never the label maps (reading and
         * carrying {@code any(labels)} through the per-bucket merge of 1.44 M rows was most of the
         * time of an unaggregated 1,000-series day). Label matchers select the series by id from
         * the hourly table. The per-bucket merge is the general path's ({@code sum(count)} etc. per
         * series and bucket), and the buckets are put in time order by their slot, not sorted.
         *
         * @return false (nothing added) when a series of the rollup rows has no label set in the
         *     hourly table, so the caller answers by the general path instead
         */
        private boolean selectSeriesEvents(EventMetric em, Resolution res, String metric, String labelConds, Map<String, Object> p,
                                           List<Matcher> matchers, long lo, long hi, List<SeriesData> out) {
            String hourlyWhere = metric + HOURLY_RANGE + labelConds;
            String hourly = "SELECT series_id FROM vigil_rollup_1h WHERE " + hourlyWhere;
            String labelSql = "SELECT toInt64(series_id) AS k, mapKeys(any(labels)) AS lk, mapValues(any(labels)) AS lv FROM vigil_rollup_1h WHERE "
                    + hourlyWhere + " GROUP BY series_id";
            java.util.HashMap<Long, Labels> labels = new java.util.HashMap<>();
            ch.select(labelSql, p, guard, r -> {
                Labels.Builder lb = labelsOf(Cols.strings(r, "lk"), Cols.strings(r, "lv"));
                lb.set(Labels.METRIC_NAME, em.metricName());
                labels.put(r.getLong(1), lb.build());
            });
            String agg = mergedColumn(em.suffix());
            String filter = labelConds.isEmpty() ? "" : " AND series_id IN (" + hourly + ")";
            String sql = "SELECT k, groupArray(b) AS bs, groupArray(c) AS cs FROM (SELECT toInt64(series_id) AS k, toInt64(toUnixTimestamp(bucket)) * 1000 AS b, "
                    + agg + " AS c FROM " + res.table + " WHERE " + metric + BUCKET_RANGE + filter + " GROUP BY k, bucket) GROUP BY k";
            long from = (Long) p.get("from") * 1000L;
            long to = (Long) p.get("to") * 1000L;
            long B = res.bucketMs;
            List<SeriesData> local = new ArrayList<>();
            boolean[] missing = {false};
            ch.select(sql, p, guard, r -> {
                if (missing[0]) {
                    return;
                }
                Labels l = labels.get(r.getLong(1));
                if (l == null) {
                    missing[0] = true;
                    return;
                }
                if (!allMatch(matchers, l)) {
                    return;
                }
                long[] bs = Cols.longs(r, "bs");
                double[] cs = Cols.doubles(r, "cs");
                bucketOrder(bs, cs, from, to, B);
                emitSeries(em, l, bs, cs, lo, hi, B, local);
            });
            if (missing[0]) {
                guard.addSeries(-local.size());
                return false;
            }
            out.addAll(local);
            seriesPathAnswers.incrementAndGet();
            return true;
        }

        /**
         * The cross-series sum of a marked selector (not histogram buckets), one flat row per group
         * and bucket. The rollup rows are not asked for their label maps: the series (a series_id
         * stands for one label set, docs/schema.md) are chosen and labelled with their group by
         * the label matchers over the few rows of the hourly table, and joined to the rollup rows
         * by series_id, so the scan of the rollup table reads ids, buckets and the aggregated column only.
         */
        private void selectGroupedEvents(EventMetric em, Resolution res, String metric, String labelConds, Map<String, Object> p,
                                         List<Matcher> matchers, List<String> groupBy, long lo, long hi, List<SeriesData> out) {
            StringBuilder keys = new StringBuilder();
            StringBuilder seriesKeys = new StringBuilder();
            StringBuilder groupCols = new StringBuilder();
            for (int i = 0; i < groupBy.size(); i++) {
                p.put("g" + i, groupBy.get(i));
                keys.append("m.k").append(i).append(" AS k").append(i).append(", ");
                seriesKeys.append(", any(labels[{g").append(i).append(":String}]) AS k").append(i);
                groupCols.append("k").append(i).append(", ");
            }
            String agg = mergedColumn(em.suffix());
            String from = res.table;
            if (!groupBy.isEmpty() || !labelConds.isEmpty()) {
                from += " AS r INNER JOIN (SELECT series_id" + seriesKeys + " FROM vigil_rollup_1h WHERE " + metric + HOURLY_RANGE + labelConds
                        + " GROUP BY series_id) AS m ON r.series_id = m.series_id";
            }
            String sql = "SELECT " + keys + "toInt64(toUnixTimestamp(bucket)) * 1000 AS b, " + agg + " AS c FROM " + from
                    + " WHERE " + metric + BUCKET_RANGE + " GROUP BY " + groupCols + "bucket";
            int ng = groupBy.size();
            Map<List<String>, Points> groups = new LinkedHashMap<>();
            ch.select(sql, p, guard, r -> {
                String[] kv = new String[ng];
                for (int i = 0; i < ng; i++) {
                    kv[i] = r.getString(i + 1);
                }
                groups.computeIfAbsent(Arrays.asList(kv), k -> new Points()).add(r.getLong(ng + 1), r.getDouble(ng + 2));
            });
            for (Map.Entry<List<String>, Points> g : groups.entrySet()) {
                Labels.Builder lb = labelsOf(groupBy.toArray(String[]::new), g.getKey().toArray(String[]::new));
                lb.set(Labels.METRIC_NAME, em.metricName());
                Labels l = lb.build();
                if (!matchesSynthetic(matchers, l)) {
                    continue;
                }
                Points pts = g.getValue();
                emitSeries(em, l, Arrays.copyOf(pts.t, pts.n), Arrays.copyOf(pts.v, pts.n), lo, hi, res.bucketMs, out);
            }
        }

        /** One series of a count/sum/min/max row set: a synthesized counter, or one sample per bucket end. */
        private void emitSeries(EventMetric em, Labels l, long[] bs, double[] cs, long lo, long hi, long B, List<SeriesData> out) {
            sortByTime(bs, cs);
            guard.addSeries(1);
            if (em.suffix().counter()) {
                out.add(counter(l, bs, cs, lo, hi, B));
            } else {
                long[] ts = new long[bs.length];
                for (int i = 0; i < bs.length; i++) {
                    ts[i] = bs[i] + B;
                }
                out.add(new SeriesData(l, ts, cs));
            }
        }

        /** The le bounds: every key's upper bound and the one below it (so interpolation stays inside one 1% bucket). */
        private void emitHistogram(Labels.Builder lb, long[] bs, long[] hn, int[] hk, long[] hv, double[] les, int[] keys, int[] leOfKey,
                                   long lo, long hi, long B, List<Matcher> matchers, boolean grouped, List<SeriesData> out) {
            int nl = les.length;
            // rows sorted by bucket, with their histogram slices
            int rows = bs.length;
            int[] off = new int[rows + 1];
            for (int i = 0; i < rows; i++) {
                off[i + 1] = off[i] + (int) hn[i];
            }
            Integer[] order = new Integer[rows];
            for (int i = 0; i < rows; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Long.compare(bs[a], bs[b]));
            int nb = (int) ((hi - lo) / B) + 1;
            double[][] vals = new double[nl][2 * nb];
            long[] ts = new long[2 * nb];
            double[] cum = new double[nl];
            double[] delta = new double[nl];
            int ri = 0;
            for (int k = 0; k < nb; k++) {
                long b = lo + k * B;
                // every row before b not yet counted (several per bucket: series, unmerged parts);
                // counts are integers, so the order of the additions does not matter
                boolean added = false;
                while (ri < rows && bs[order[ri]] < b) {
                    int row = order[ri++];
                    if (!added) {
                        Arrays.fill(delta, 0);
                        added = true;
                    }
                    for (int q = off[row]; q < off[row + 1]; q++) {
                        delta[leOfKey[Arrays.binarySearch(keys, hk[q])]] += hv[q];
                    }
                }
                if (added) {
                    double run = 0;
                    for (int q = 0; q < nl; q++) {
                        run += delta[q];
                        cum[q] += run;
                    }
                }
                ts[2 * k] = b;
                ts[2 * k + 1] = b + 1;
                for (int q = 0; q < nl; q++) {
                    vals[q][2 * k] = cum[q];
                    vals[q][2 * k + 1] = cum[q];
                }
            }
            for (int q = 0; q < nl; q++) {
                lb.set("le", EventSeriesMapping.formatLe(les[q]));
                Labels l = lb.build();
                if (!grouped && !allMatch(matchers, l) || grouped && !matchesSynthetic(matchers, l)) {
                    continue;
                }
                guard.addSeries(1);
                out.add(new SeriesData(l, ts, vals[q]));
            }
        }
    }

    /** The merge of a (non-histogram) event column over the rows of one series or group and bucket. */
    static String mergedColumn(Suffix suffix) {
        return switch (suffix) {
            case SUM -> "sum(sum)";
            case MIN -> "min(min)";
            case MAX -> "max(max)";
            default -> "toFloat64(sum(count))";
        };
    }

    /** The distinct values of the arrays, ascending. */
    static int[] distinctKeys(List<int[]> lists) {
        int min = Integer.MAX_VALUE, max = Integer.MIN_VALUE, total = 0;
        for (int[] a : lists) {
            for (int k : a) {
                min = Math.min(min, k);
                max = Math.max(max, k);
            }
            total += a.length;
        }
        if (total == 0) {
            return new int[0];
        }
        if ((long) max - min < (1L << 24)) {
            java.util.BitSet seen = new java.util.BitSet(max - min + 1);
            for (int[] a : lists) {
                for (int k : a) {
                    seen.set(k - min);
                }
            }
            int[] out = new int[seen.cardinality()];
            int j = 0;
            for (int b = seen.nextSetBit(0); b >= 0; b = seen.nextSetBit(b + 1)) {
                out[j++] = b + min;
            }
            return out;
        }
        int[] all = new int[total];
        int j = 0;
        for (int[] a : lists) {
            System.arraycopy(a, 0, all, j, a.length);
            j += a.length;
        }
        return Arrays.stream(all).sorted().distinct().toArray();
    }

    /** A growable list of (bucket, value) pairs. */
    private static final class Points {
        long[] t = new long[64];
        double[] v = new double[64];
        int n;

        void add(long ts, double value) {
            if (n == t.length) {
                t = Arrays.copyOf(t, 2 * n);
                v = Arrays.copyOf(v, 2 * n);
            }
            t[n] = ts;
            v[n++] = value;
        }
    }

    /** Cumulative counter with two samples per boundary b (at b and b+1ms), value = total of buckets before b. */
    static SeriesData counter(Labels l, long[] bs, double[] cs, long lo, long hi, long B) {
        int nb = (int) ((hi - lo) / B) + 1;
        long[] ts = new long[2 * nb];
        double[] vs = new double[2 * nb];
        double cum = 0;
        int ri = 0;
        for (int k = 0; k < nb; k++) {
            long b = lo + k * B;
            while (ri < bs.length && bs[ri] < b) {
                cum += cs[ri++];
            }
            ts[2 * k] = b;
            ts[2 * k + 1] = b + 1;
            vs[2 * k] = cum;
            vs[2 * k + 1] = cum;
        }
        return new SeriesData(l, ts, vs);
    }

    // ------------------------------------------------------------------ helpers

    private static Labels.Builder labelsOf(String[] k, String[] v) {
        Labels.Builder b = new Labels.Builder();
        for (int i = 0; i < k.length; i++) {
            b.set(k[i], v[i]);
        }
        return b;
    }

    static boolean nameMatches(List<Matcher> nameMatchers, String name) {
        for (Matcher m : nameMatchers) {
            if (!m.matches(name)) {
                return false;
            }
        }
        return true;
    }

    static boolean allMatch(List<Matcher> matchers, Labels l) {
        for (Matcher m : matchers) {
            if (!m.matches(l)) {
                return false;
            }
        }
        return true;
    }

    /** For grouped (summed) series only the synthetic labels (name, le) can be checked; the rest were applied in SQL. */
    private static boolean matchesSynthetic(List<Matcher> matchers, Labels l) {
        for (Matcher m : matchers) {
            if ((m.name().equals("le") || m.name().equals(Labels.METRIC_NAME)) && !m.matches(l)) {
                return false;
            }
        }
        return true;
    }

    /** Label matchers as SQL conditions on the labels map; names and values are query parameters. */
    static void appendLabelConditions(StringBuilder where, List<Matcher> matchers, Map<String, Object> p, int[] n, Set<String> skip) {
        for (Matcher m : matchers) {
            if (m.name().equals(Labels.METRIC_NAME) || m.name().equals(GROUP_MATCHER) || skip.contains(m.name())) {
                continue;
            }
            String kp = "k" + n[0]++;
            p.put(kp, m.name());
            where.append(" AND ").append(condition("labels[{" + kp + ":String}]", m, p, n));
        }
    }

    static String condition(String column, Matcher m, Map<String, Object> p, int[] n) {
        String vp = "v" + n[0]++;
        switch (m.type()) {
            case EQ -> {
                p.put(vp, m.value());
                return column + " = {" + vp + ":String}";
            }
            case NEQ -> {
                p.put(vp, m.value());
                return column + " != {" + vp + ":String}";
            }
            case RE -> {
                p.put(vp, "^(?s:" + m.value() + ")$");
                return "match(" + column + ", {" + vp + ":String})";
            }
            default -> {
                p.put(vp, "^(?s:" + m.value() + ")$");
                return "NOT match(" + column + ", {" + vp + ":String})";
            }
        }
    }

    /**
     * Puts distinct bucket starts (multiples of {@code B} in {@code [from, to)}, one row per bucket)
     * in time order by their slot; anything else is sorted by {@link #sortByTime}. Same result.
     */
    static void bucketOrder(long[] bs, double[] cs, long from, long to, long B) {
        int n = bs.length;
        boolean sorted = true;
        for (int i = 1; i < n; i++) {
            if (bs[i] < bs[i - 1]) {
                sorted = false;
                break;
            }
        }
        if (sorted) {
            return;
        }
        long slots = to > from && B > 0 ? (to - from) / B : 0;
        if (slots <= 0 || slots > 4L * n + 1024) {
            sortByTime(bs, cs);
            return;
        }
        int[] at = new int[(int) slots];
        for (int i = 0; i < n; i++) {
            long d = bs[i] - from;
            if (d < 0 || d % B != 0 || d / B >= slots || at[(int) (d / B)] != 0) {
                sortByTime(bs, cs);
                return;
            }
            at[(int) (d / B)] = i + 1;
        }
        long[] b2 = new long[n];
        double[] c2 = new double[n];
        int j = 0;
        for (int s = 0; s < at.length; s++) {
            if (at[s] != 0) {
                b2[j] = bs[at[s] - 1];
                c2[j++] = cs[at[s] - 1];
            }
        }
        System.arraycopy(b2, 0, bs, 0, n);
        System.arraycopy(c2, 0, cs, 0, n);
    }

    static void sortByTime(long[] ts, double[] vs) {
        boolean sorted = true;
        for (int i = 1; i < ts.length; i++) {
            if (ts[i] < ts[i - 1]) {
                sorted = false;
                break;
            }
        }
        if (sorted) {
            return;
        }
        Integer[] idx = new Integer[ts.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> Long.compare(ts[a], ts[b]));
        long[] t2 = new long[ts.length];
        double[] v2 = new double[vs.length];
        for (int i = 0; i < idx.length; i++) {
            t2[i] = ts[idx[i]];
            v2[i] = vs[idx[i]];
        }
        System.arraycopy(t2, 0, ts, 0, ts.length);
        System.arraycopy(v2, 0, vs, 0, vs.length);
    }

    /** Distinct label sets of matching series (for /api/v1/series, /labels, /label/x/values). */
    public List<Labels> series(String tenant, QueryGuard guard, List<List<Matcher>> selectors, long start, long end, int limit) {
        LinkedHashMap<Labels, Boolean> out = new LinkedHashMap<>();
        Storage s = forTenant(tenant, guard);
        for (List<Matcher> sel : selectors) {
            try (Querier q = s.querier(start, end)) {
                for (SeriesData sd : q.select(new SelectHints(start, end, 0, "series", 0, List.of(), false), sel)) {
                    Labels l = sd.labels();
                    if (l.has("le") && l.metricName().endsWith("_bucket")) {
                        // one entry per histogram series is enough for discovery; keep the le label set too
                    }
                    out.put(l, Boolean.TRUE);
                    if (limit > 0 && out.size() >= limit) {
                        return new ArrayList<>(out.keySet());
                    }
                }
            }
        }
        return new ArrayList<>(out.keySet());
    }
}
