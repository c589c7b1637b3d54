package dev.vigil.query.health;

import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;

import dev.vigil.promql.Labels;
import dev.vigil.promql.Matcher;
import dev.vigil.promql.storage.SelectHints;
import dev.vigil.promql.storage.SeriesData;
import dev.vigil.query.api.DerivedSeriesProvider;

/**
 * ML-health figures as PromQL series, evaluated at points spaced by max(60 s, query step,
 * range / 240), aligned to the minute, within [start, min(end, now)]:
 * <ul>
 *   <li>{@code vigil_model_throughput{model}} calls/s, {@code vigil_model_error_rate{model}},
 *       {@code vigil_model_latency_p99_ms{model}}: over the series window (5 min) before each point;</li>
 *   <li>{@code vigil_model_freshness_seconds{model}}: age of the newest event at each point;</li>
 *   <li>{@code vigil_model_drift_psi{model,measure}}, {@code vigil_model_js_distance{model,measure}}:
 *       the health window (1 h) before each point against the baseline (24 h) before that.</li>
 * </ul>
 * Series are per model (all versions together, no {@code version} label) unless the selector has a
 * {@code version} matcher that does not match the empty string (e.g. {@code version="v2"} or
 * {@code version!=""}): then they are per model and version.
 */
public final class ModelHealthSeries implements DerivedSeriesProvider {
    public static final String DRIFT_PSI = "vigil_model_drift_psi", JS_DISTANCE = "vigil_model_js_distance",
            ERROR_RATE = "vigil_model_error_rate", LATENCY_P99 = "vigil_model_latency_p99_ms",
            FRESHNESS = "vigil_model_freshness_seconds", THROUGHPUT = "vigil_model_throughput";
    static final int MAX_POINTS = 240;

    private final ModelHealthService service;
    private final Clock clock;
    private final ConcurrentHashMap<Figures, CompletableFuture<List<SeriesData>>> inFlight = new ConcurrentHashMap<>();

    public ModelHealthSeries(ModelHealthService service, Clock clock) {
        this.service = service;
        this.clock = clock;
    }

    @Override
    public Set<String> metricNames() {
        return Set.of(DRIFT_PSI, JS_DISTANCE, ERROR_RATE, LATENCY_P99, FRESHNESS, THROUGHPUT);
    }

    @Override
    public List<SeriesData> select(String tenant, SelectHints hints, List<Matcher> matchers) {
        HealthConventions conv = service.conventions();
        Set<String> names = new java.util.TreeSet<>();
        String model = null, version = null;
        boolean perVersion = false;
        for (String n : metricNames()) {
            boolean ok = true;
            for (Matcher m : matchers) if (m.name().equals(Labels.METRIC_NAME) && !m.matches(n)) ok = false;
            if (ok) names.add(n);
        }
        for (Matcher m : matchers) {
            if (m.name().equals("model") && m.type() == Matcher.Type.EQ) model = m.value();
            if (m.name().equals("version")) {
                if (!m.matchesEmpty()) perVersion = true;
                if (m.type() == Matcher.Type.EQ) version = m.value();
            }
        }
        List<SeriesData> out = new ArrayList<>();
        List<Long> ts = points(hints, clock.millis());
        if (names.isEmpty() || ts.isEmpty()) return out;
        boolean drift = names.contains(DRIFT_PSI) || names.contains(JS_DISTANCE);
        boolean fast = names.contains(THROUGHPUT) || names.contains(ERROR_RATE) || names.contains(LATENCY_P99) || names.contains(FRESHNESS);
        List<SeriesData> all = shared(new Figures(tenant, model, version, perVersion, List.copyOf(ts), drift, names.contains(LATENCY_P99), fast));
        for (SeriesData sd : all) {
            if (!names.contains(sd.labels().metricName())) continue;
            boolean match = true;
            for (Matcher m : matchers) if (!m.matches(sd.labels())) match = false;
            if (match) out.add(sd);
        }
        return out;
    }

    /** The evaluation times of a selection: spaced by max(60 s, step, range / 240) rounded up to whole minutes, ending at min(end, now). */
    static List<Long> points(SelectHints hints, long now) {
        long end = Math.min(hints.end(), now), start = hints.start();
        List<Long> ts = new ArrayList<>();
        if (start > end) return ts;
        long spacing = Math.max(60_000, Math.max(hints.step(), (end - start) / MAX_POINTS));
        spacing = (spacing + 59_999) / 60_000 * 60_000;
        for (long t = end; t >= start && ts.size() < MAX_POINTS + 1; t -= spacing) ts.add(0, t);
        return ts;
    }

    /** What one computation of the figures depends on (the series it gives are then filtered per request). */
    private record Figures(String tenant, String model, String version, boolean perVersion, List<Long> ts, boolean drift,
                           boolean latency, boolean fast) {
    }

    /**
     * The series of {@code f}, computed once for all requests that ask for the same figures while
     * the computation runs (a dashboard's PSI and JS panels, loaded together, read and evaluate the
     * same rollups; the result of one is the result of the other). Nothing is kept afterwards.
     */
    private List<SeriesData> shared(Figures f) {
        CompletableFuture<List<SeriesData>> mine = new CompletableFuture<>();
        CompletableFuture<List<SeriesData>> running = inFlight.putIfAbsent(f, mine);
        if (running != null) {
            try {
                return running.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for model figures", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof RuntimeException re) throw re;
                throw new IllegalStateException(e.getCause());
            }
        }
        try {
            List<SeriesData> r = compute(f);
            mine.complete(r);
            return r;
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            inFlight.remove(f, mine);
        }
    }

    /** Every figure's series (all names the computation yields, no matcher applied). */
    private List<SeriesData> compute(Figures f) {
        HealthConventions conv = service.conventions();
        List<Long> ts = f.ts();
        long end = ts.get(ts.size() - 1);
        Duration back = f.drift() ? conv.window().plus(conv.baseline()) : conv.seriesWindow().plus(Duration.ofHours(1));
        ModelHealthService.Data data;
        // the minutes in every point's baseline and no point's window: summed in ClickHouse
        Instant innerFrom = f.drift() ? Instant.ofEpochMilli(end).minus(back) : null;
        Instant innerTo = f.drift() ? Instant.ofEpochMilli(ts.get(0)).minus(conv.window()) : null;
        try {
            data = service.fetch(f.tenant(), f.model(), f.version(), f.perVersion(), Instant.ofEpochMilli(ts.get(0)).minus(back),
                    Instant.ofEpochMilli(end + 1), f.drift(), f.latency(), innerFrom, innerTo);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read model rollups: " + e.getMessage(), e);
        }
        List<SeriesData> out = new ArrayList<>();
        long[] times = ts.stream().mapToLong(Long::longValue).toArray();
        for (ModelHealthService.Key key : data.keys()) {
            Map<String, double[]> values = new LinkedHashMap<>(); // series label suffix -> values
            Map<String, double[][]> drift = f.drift() ? service.driftSeries(data, key, times, conv.window(), conv.baseline()) : Map.of();
            for (int i = 0; i < ts.size(); i++) {
                Instant t = Instant.ofEpochMilli(ts.get(i));
                if (f.fast()) { // the 5-minute figures, unless only drift was asked for
                    ModelHealthService.ModelHealth fast = service.evaluate(data, key, t, conv.seriesWindow(), Duration.ZERO, false);
                    put(values, THROUGHPUT, null, i, ts.size(), fast.throughputPerSecond().value());
                    put(values, ERROR_RATE, null, i, ts.size(), fast.errorRate().value());
                    put(values, LATENCY_P99, null, i, ts.size(), fast.latencyP99Ms().value());
                    put(values, FRESHNESS, null, i, ts.size(), fast.freshnessSeconds().value());
                }
                for (var m : drift.entrySet()) {
                    put(values, DRIFT_PSI, m.getKey(), i, ts.size(), m.getValue()[0][i]);
                    put(values, JS_DISTANCE, m.getKey(), i, ts.size(), m.getValue()[1][i]);
                }
            }
            for (var e : values.entrySet()) {
                String[] nm = e.getKey().split("\u0000", -1);
                Labels.Builder b = new Labels.Builder();
                b.set(Labels.METRIC_NAME, nm[0]);
                b.set("model", key.model());
                if (key.version() != null) b.set("version", key.version());
                if (nm.length > 1) b.set("measure", nm[1]);
                double[] v = e.getValue();
                int n = 0;
                long[] tt = new long[v.length];
                double[] vv = new double[v.length];
                for (int i = 0; i < v.length; i++) {
                    if (Double.isNaN(v[i])) continue; // no data at that point: no sample
                    tt[n] = ts.get(i);
                    vv[n++] = v[i];
                }
                if (n > 0) out.add(new SeriesData(b.build(), tt, vv, n));
            }
        }
        return out;
    }

    private static void put(Map<String, double[]> values, String name, String measure, int i, int size, double v) {
        String k = measure == null ? name : name + "\u0000" + measure;
        double[] arr = values.computeIfAbsent(k, x -> {
            double[] a = new double[size];
            java.util.Arrays.fill(a, Double.NaN);
            return a;
        });
        arr[i] = v;
    }
}
