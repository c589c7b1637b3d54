package dev.vigil.query.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import dev.vigil.promql.Labels;
import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.engine.EngineOptions;
import dev.vigil.promql.engine.QueryContext;
import dev.vigil.promql.engine.QueryResult;
import dev.vigil.promql.engine.Series;
import dev.vigil.promql.engine.Value;
import dev.vigil.promql.storage.InMemoryStorage;
import dev.vigil.promql.storage.StaleNaN;

/**
 * {@link HistogramQuantilePath} against the engine on the same (in-memory) series: the same doubles
 * where it answers (raw scrape-like histograms with jitter, resets, gaps), and no answer where the
 * engine would sum several series, drop stale markers or annotate.
 */
class HistogramQuantilePathTest {
    static final Engine ENGINE = new Engine(EngineOptions.defaults());
    static final double[] LES = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Double.POSITIVE_INFINITY};

    /** A marked query as the rewriter writes it (in memory, {@code __vigil_sum_by__=""} matches every series). */
    static String q(double phi, String func, String sel, String range) {
        return "histogram_quantile(" + phi + ", sum by (le) (" + func + "(" + (sel.endsWith("{}") ? sel.replace("{}", "{__vigil_sum_by__=\"\"}") : sel.replace("}", ", __vigil_sum_by__=\"\"}")) + "[" + range + "])))";
    }

    static InMemoryStorage histogram(long seed, boolean resets, String extraLabel) {
        return histogram(new InMemoryStorage(), seed, resets, extraLabel);
    }

    static InMemoryStorage histogram(InMemoryStorage mem, long seed, boolean resets, String extraLabel) {
        var app = mem.appender();
        Random r = new Random(seed);
        double[] cum = new double[LES.length];
        for (long t = 0; t < 3 * 3_600_000L; t += 15_000 + r.nextInt(200) - 100) {
            if (r.nextInt(50) == 0) {
                continue; // a missed scrape
            }
            if (resets && r.nextInt(400) == 0) {
                java.util.Arrays.fill(cum, 0);
            }
            int n = r.nextInt(20);
            for (int i = 0; i < n; i++) {
                double v = Math.exp(r.nextGaussian() - 2);
                for (int k = 0; k < LES.length; k++) {
                    if (v <= LES[k]) {
                        cum[k]++;
                    }
                }
            }
            for (int k = 0; k < LES.length; k++) {
                String le = LES[k] == Double.POSITIVE_INFINITY ? "+Inf" : Double.toString(LES[k]);
                Labels l = extraLabel == null ? Labels.of("__name__", "req_seconds_bucket", "le", le)
                        : Labels.of("__name__", "req_seconds_bucket", "le", le, "instance", extraLabel);
                app.append(l, t, cum[k]);
            }
        }
        return mem;
    }

    static void assertSameAsEngine(InMemoryStorage mem, String query, long start, long end, long step) {
        HistogramQuantilePath.Plan plan = HistogramQuantilePath.plan(query);
        assertNotNull(plan, query);
        List<HistogramQuantilePath.Out> got = HistogramQuantilePath.rangeQuery(mem, QueryGuard.unlimited(), plan, start, end, step, 0);
        assertNotNull(got, query);
        QueryResult want = ENGINE.rangeQuery(mem, query, start, end, step, QueryContext.unlimited());
        assertEquals(List.of(), want.annotations().warnings());
        assertEquals(List.of(), want.annotations().infos());
        assertSame(((Value.Matrix) want.value()).series(), got, query);
    }

    static void assertSame(List<Series> want, List<HistogramQuantilePath.Out> got, String what) {
        assertEquals(want.size(), got.size(), what);
        for (int i = 0; i < want.size(); i++) {
            Series w = want.get(i);
            HistogramQuantilePath.Out g = got.get(i);
            assertEquals(w.labels(), g.labels(), what);
            assertEquals(w.size(), g.n(), what + " " + w.labels());
            for (int k = 0; k < w.size(); k++) {
                assertEquals(w.timestamp(k), g.t()[k], what);
                assertEquals(Double.doubleToLongBits(w.value(k)), Double.doubleToLongBits(g.v()[k]),
                        what + " " + w.labels() + " at " + w.timestamp(k) + ": " + w.value(k) + " vs " + g.v()[k]);
            }
        }
    }

    @Test
    void sameDoublesAsTheEngineOnScrapedHistograms() {
        for (long seed : new long[] {1, 2, 3}) {
            InMemoryStorage mem = histogram(seed, seed != 1, null);
            for (double phi : new double[] {0, 0.1, 0.5, 0.9, 0.99, 1}) {
                assertSameAsEngine(mem, q(phi, "rate", "req_seconds_bucket{}", "5m"), 600_000, 3 * 3_600_000L, 60_000);
                assertSameAsEngine(mem, q(phi, "increase", "{__name__=\"req_seconds_bucket\"}", "2m"), -300_000, 3 * 3_600_000L + 77_000, 17_000);
                assertSameAsEngine(mem, q(phi, "rate", "req_seconds_bucket{le!=\"0.5\"}", "90s"), 123_456, 2 * 3_600_000L, 10_000);
            }
        }
    }

    @Test
    void leavesToTheEngineWhatItCannotMirror() {
        long end = 3 * 3_600_000L;
        // two series per le: the engine's sum adds them
        InMemoryStorage two = histogram(histogram(4, false, "a"), 5, false, "b");
        String query = q(0.9, "rate", "req_seconds_bucket{}", "5m");
        assertNull(HistogramQuantilePath.rangeQuery(two, QueryGuard.unlimited(), HistogramQuantilePath.plan(query), 600_000, end, 60_000, 0));
        // ... unless they are grouped apart
        String byInstance = query.replace("sum by (le)", "sum by (le, instance)");
        assertSameAsEngine(two, byInstance, 600_000, end, 60_000);
        // a stale marker
        InMemoryStorage stale = histogram(6, false, null);
        stale.appender().append(Labels.of("__name__", "req_seconds_bucket", "le", "+Inf"), end + 1, StaleNaN.VALUE);
        assertNull(HistogramQuantilePath.rangeQuery(stale, QueryGuard.unlimited(), HistogramQuantilePath.plan(query), 600_000, end + 60_000, 60_000, 0));
        // a histogram that is not monotonic (the engine annotates it)
        InMemoryStorage bad = histogram(7, false, null);
        for (long t = 0; t < end; t += 15_000) {
            bad.appender().append(Labels.of("__name__", "req_seconds_bucket", "le", "0.75"), t, t / 15_000.0 * 100);
        }
        String badQ = q(0.5, "rate", "req_seconds_bucket{}", "5m");
        assertNull(HistogramQuantilePath.rangeQuery(bad, QueryGuard.unlimited(), HistogramQuantilePath.plan(badQ), 600_000, end, 60_000, 0));
        assertEquals(1, ENGINE.rangeQuery(bad, badQ, 600_000, end, 60_000, QueryContext.unlimited()).annotations().infos().size());
        // a malformed le
        InMemoryStorage nole = histogram(8, false, null);
        nole.appender().append(Labels.of("__name__", "req_seconds_bucket", "le", "x"), 1000, 1);
        assertNull(HistogramQuantilePath.rangeQuery(nole, QueryGuard.unlimited(), HistogramQuantilePath.plan(query), 0, end, 60_000, 0));
        // a bucket series without le (the engine's grouping gives it le="")
        InMemoryStorage noLe = histogram(10, false, null);
        for (long t = 0; t < end; t += 15_000) {
            noLe.appender().append(Labels.of("__name__", "req_seconds_bucket"), t, t / 15_000.0);
        }
        assertNull(HistogramQuantilePath.rangeQuery(noLe, QueryGuard.unlimited(), HistogramQuantilePath.plan(query), 600_000, end, 60_000, 0));
        ENGINE.rangeQuery(noLe, query, 600_000, end, 60_000, QueryContext.unlimited()); // and the engine answers it
        // two buckets with one bound ("1" and "1.0"): the engine adds their rates
        InMemoryStorage twoBounds = histogram(11, false, null);
        for (long t = 0; t < end; t += 15_000) {
            twoBounds.appender().append(Labels.of("__name__", "req_seconds_bucket", "le", "1.0"), t, t / 15_000.0);
        }
        assertNull(HistogramQuantilePath.rangeQuery(twoBounds, QueryGuard.unlimited(), HistogramQuantilePath.plan(query), 600_000, end, 60_000, 0));
        ENGINE.rangeQuery(twoBounds, query, 600_000, end, 60_000, QueryContext.unlimited());
        // too many samples for the limit: the engine decides
        assertNull(HistogramQuantilePath.rangeQuery(histogram(9, false, null), QueryGuard.unlimited(), HistogramQuantilePath.plan(query), 0, end, 60_000, 1000));
    }

    @Test
    void onlyTheExactShapeIsPlanned() {
        assertNotNull(HistogramQuantilePath.plan(q(0.5, "rate", "x_bucket{}", "5m")));
        assertNotNull(HistogramQuantilePath.plan("(" + q(0.5, "increase", "x_bucket{}", "5m") + ")"));
        for (String no : List.of(
                "histogram_quantile(0.5, sum by (le) (rate(x_bucket[5m])))", // not marked
                q(1.5, "rate", "x_bucket{}", "5m"), q(-0.1, "rate", "x_bucket{}", "5m"),
                q(0.5, "irate", "x_bucket{}", "5m"),
                "histogram_quantile(0.5, sum by (model) (rate(x_bucket{__vigil_sum_by__=\"model\"}[5m])))", // no le in the grouping
                "histogram_quantile(0.5, sum without (model) (rate(x_bucket{__vigil_sum_by__=\"\"}[5m])))",
                "histogram_quantile(0.5, max by (le) (rate(x_bucket{__vigil_sum_by__=\"\"}[5m])))",
                "histogram_quantile(0.5, sum by (le) (rate(x_bucket{__vigil_sum_by__=\"\"}[5m] offset 1m)))",
                "histogram_quantile(0.5, sum by (le) (rate(x_bucket{__vigil_sum_by__=\"\"}[5m]))) * 2",
                "histogram_quantile(scalar(y), sum by (le) (rate(x_bucket{__vigil_sum_by__=\"\"}[5m])))",
                "not promql (")) {
            assertNull(HistogramQuantilePath.plan(no), no);
        }
    }
}
