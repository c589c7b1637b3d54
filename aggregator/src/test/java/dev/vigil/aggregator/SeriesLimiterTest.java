package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

class SeriesLimiterTest {
    private static Map<String, Double> overflowByMetric(SimpleMeterRegistry reg, String tenant) {
        Map<String, Double> m = new HashMap<>();
        for (Counter c : reg.find("vigil_aggregator_series_overflow").tag("tenant", tenant).counters()) {
            m.put(c.getId().getTag("metric"), c.count());
        }
        return m;
    }

    @Test
    void admitsUpToTheTenantAndMetricLimitsAndCountsTheRest() {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        SeriesLimiter l = new SeriesLimiter("events", t -> new TenantLimits(3, 2), reg, 3_600_000L, 100, 10_000);
        assertThat(l.overflowMetric("acme", "a", 1)).isNull();
        assertThat(l.overflowMetric("acme", "a", 2)).isNull();
        assertThat(l.overflowMetric("acme", "a", 3)).as("third series of a: over max_series_per_metric").isEqualTo("a");
        assertThat(l.overflowMetric("acme", "a", 1)).as("an admitted series stays admitted").isNull();
        assertThat(l.overflowMetric("acme", "b", 4)).isNull();
        assertThat(l.overflowMetric("acme", "c", 5)).as("a fourth series: over max_series").isEqualTo("c");
        assertThat(l.overflowMetric("other", "c", 5)).as("another tenant counts its own").isNull();
        assertThat(overflowByMetric(reg, "acme")).isEqualTo(Map.of("a", 1.0, "c", 1.0));
        assertThat(l.overflowTotal()).isEqualTo(2);
    }

    /**
     * Ever new tenants (only a writer other than the gateway sends them): beyond max-tenants in the window they keep no
     * state and are stored as their series __other__ with measure __other__, counted under tenant __other__; the tenants
     * the window tracks keep their own limits; a new window tracks anew.
     */
    @Test
    void tenantsBeyondTheLimitKeepNoStateAndAreStoredAsOtherSeries() throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        SeriesLimiter l = new SeriesLimiter("events", t -> new TenantLimits(100, 100), reg, 200L, 100, 10_000, 2);
        assertThat(l.overflowMetric("a", "m", 1)).isNull();
        assertThat(l.overflowMetric("b", "m", 1)).isNull();
        for (int i = 0; i < 1_000; i++) {
            assertThat(l.overflowMetric("new-" + i, "m", 1)).isEqualTo(SeriesLimiter.OTHER_METRICS);
            assertThat(l.measureName("new-" + i, "m", "x")).isEqualTo(FlushBuffer.OTHER_MEASURE);
        }
        assertThat(l.metricsRemembered("new-5")).as("no state for a tenant beyond the limit").isZero();
        assertThat(l.overflowMetric("a", "m", 2)).as("a tracked tenant keeps its own limits").isNull();
        assertThat(l.measureName("b", "m", "x")).isEqualTo("x");
        assertThat(overflowByMetric(reg, SeriesLimiter.OTHER_TENANTS)).isEqualTo(Map.of(SeriesLimiter.OTHER_METRICS, 1_000.0));
        assertThat(reg.find("vigil_aggregator_measure_overflow").tag("tenant", SeriesLimiter.OTHER_TENANTS).counter().count()).isEqualTo(1_000.0);
        assertThat(reg.find("vigil_aggregator_series_overflow").counters()).as("one counter whatever the tenants").hasSize(1);
        Thread.sleep(250); // the next window
        l.epoch();
        assertThat(l.overflowMetric("new-7", "m", 1)).as("tracked in a new window").isNull();
    }

    /** A tenant with limits of its own in the goal state keeps its state however many others filled the window first. */
    @Test
    void aDeclaredTenantIsTrackedBeyondTheTenantLimit() {
        TenantLimits.Source limits = new TenantLimits.Source() {
            @Override
            public TenantLimits apply(String tenant) {
                return tenant.equals("vip") ? new TenantLimits(2, 2) : new TenantLimits(100, 100);
            }

            @Override
            public boolean declared(String tenant) {
                return tenant.equals("vip");
            }
        };
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        SeriesLimiter early = new SeriesLimiter("events", limits, reg, 3_600_000L, 100, 10_000, 2);
        assertThat(early.overflowMetric("vip", "m", 1)).isNull();
        assertThat(early.overflowMetric("a", "m", 1)).isNull();
        assertThat(early.overflowMetric("b", "m", 1)).as("the declared tenant took none of the two places").isNull();
        assertThat(early.overflowMetric("c", "m", 1)).isEqualTo(SeriesLimiter.OTHER_METRICS);

        SeriesLimiter l = new SeriesLimiter("events", limits, reg, 3_600_000L, 100, 10_000, 2);
        for (int i = 0; i < 10; i++) {
            l.overflowMetric("junk-" + i, "m", 1); // two tracked, eight beyond the limit
        }
        assertThat(l.overflowMetric("late", "m", 1)).as("an undeclared tenant beyond the limit").isEqualTo(SeriesLimiter.OTHER_METRICS);
        assertThat(l.overflowMetric("vip", "m", 1)).as("the declared tenant: its own series").isNull();
        assertThat(l.overflowMetric("vip", "m", 2)).isNull();
        assertThat(l.overflowMetric("vip", "m", 3)).as("and its own limits (2 series)").isEqualTo("m");
        assertThat(l.measureName("vip", "m", "x")).isEqualTo("x");
        assertThat(l.metricsRemembered("vip")).isEqualTo(1);
    }

    /**
     * A tenant at its limit sending ever new metric names (an id in the event type, say): nothing is remembered for
     * them, and the overflow is stored and counted under at most max-overflow-metrics names plus __other__ (counters
     * stay registered for the process' life, and each name is an overflow series in the tables: one per name would
     * grow without bound).
     */
    @Test
    void newMetricNamesOfAFullTenantCostNothingAndTheirCountersAreBounded() {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        SeriesLimiter l = new SeriesLimiter("events", t -> new TenantLimits(2, 2), reg, 3_600_000L, 3, 10_000);
        assertThat(l.overflowMetric("acme", "a", 1)).isNull();
        assertThat(l.overflowMetric("acme", "b", 2)).isNull();
        for (int i = 0; i < 10_000; i++) {
            assertThat(l.overflowMetric("acme", "signup_" + i, 100 + i)).as("stored under its own name, or with the others")
                    .isEqualTo(i < 3 ? "signup_" + i : SeriesLimiter.OTHER_METRICS);
        }
        assertThat(l.metricsRemembered("acme")).as("only the metrics with admitted series").isEqualTo(2);
        Map<String, Double> counted = overflowByMetric(reg, "acme");
        assertThat(counted).containsOnlyKeys("signup_0", "signup_1", "signup_2", SeriesLimiter.OTHER_METRICS);
        assertThat(counted.get(SeriesLimiter.OTHER_METRICS)).isEqualTo(9_997.0);
        assertThat(counted.values().stream().mapToDouble(Double::doubleValue).sum()).as("every value counted").isEqualTo(10_000.0);
        // a metric already reported keeps its own counter
        assertThat(l.overflowMetric("acme", "signup_1", 99_999)).isEqualTo("signup_1");
        assertThat(overflowByMetric(reg, "acme").get("signup_1")).isEqualTo(2.0);
        assertThat(l.overflowMetric("acme", "signup_5", 99_998)).as("and one that went with the others stays there")
                .isEqualTo(SeriesLimiter.OTHER_METRICS);
    }

    @Test
    void aNewWindowAdmitsAgain() throws InterruptedException {
        SeriesLimiter l = new SeriesLimiter("events", t -> new TenantLimits(1, 1), new SimpleMeterRegistry(), 50L, 100, 10_000);
        long epoch = l.epoch();
        assertThat(l.overflowMetric("acme", "a", 1)).isNull();
        assertThat(l.overflowMetric("acme", "a", 2)).isEqualTo("a");
        Thread.sleep(60); // the window is 50 ms
        assertThat(l.epoch()).isGreaterThan(epoch);
        assertThat(l.overflowMetric("acme", "a", 2)).isNull();
    }

    /** A tenant's (metric, measure) names past max-measure-names are stored as the series' measure __other__, counted. */
    @Test
    void measureNamesPastTheTenantsLimitGoToOtherAndAreCounted() {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        SeriesLimiter l = new SeriesLimiter("events", t -> new TenantLimits(100, 100), reg, 3_600_000L, 100, 3);
        assertThat(l.measureName("acme", "req", "latency_ms")).isEqualTo("latency_ms");
        assertThat(l.measureName("acme", "req", "bytes")).isEqualTo("bytes");
        assertThat(l.measureName("acme", "job", "latency_ms")).as("a pair: the same measure of another metric counts").isEqualTo("latency_ms");
        assertThat(l.measureName("acme", "req", "id_1234")).isEqualTo(FlushBuffer.OTHER_MEASURE);
        assertThat(l.measureName("acme", "req", "bytes")).as("a stored name stays stored").isEqualTo("bytes");
        assertThat(l.measureName("other", "req", "id_1234")).as("each tenant its own names").isEqualTo("id_1234");
        double refused = reg.get("vigil_aggregator_measure_overflow").tag("tenant", "acme").counter().count();
        assertThat(l.measureName("acme", "req", FlushBuffer.OTHER_MEASURE)).as("a value already refused for another rollup")
                .isEqualTo(FlushBuffer.OTHER_MEASURE);
        assertThat(reg.get("vigil_aggregator_measure_overflow").tag("tenant", "acme").counter().count()).as("not counted twice")
                .isEqualTo(refused);
        assertThat(l.measureName("fresh", "req", FlushBuffer.OTHER_MEASURE)).isEqualTo(FlushBuffer.OTHER_MEASURE);
        assertThat(l.measureName("fresh", "req", "a")).isEqualTo("a");
        assertThat(l.measureName("fresh", "req", "b")).isEqualTo("b");
        assertThat(l.measureName("fresh", "req", "c")).as("__other__ took no place in the limit of 3").isEqualTo("c");
        assertThat(l.measureName("fresh", "req", "d")).isEqualTo(FlushBuffer.OTHER_MEASURE);

        // through a flush buffer: ten measures, three names stored, the other values in __other__, every value counted once
        FlushBuffer buf = new FlushBuffer(new SeriesLimiter("events", t -> new TenantLimits(100, 100), reg, 3_600_000L, 100, 3)::measureName);
        FlushBuffer.SeriesRef ref = new FlushBuffer.SeriesRef("t", FlushBuffer.KIND_EVENT, "req", 1L, new java.util.TreeMap<>());
        FlushBuffer.Group g = buf.group(ref, 0);
        for (int round = 0; round < 2; round++) {
            for (int m = 0; m < 10; m++) {
                buf.addValue(buf.row(g, ("m" + m).intern(), m), 1.0);
            }
        }
        Map<String, Long> counts = new HashMap<>();
        for (int i = 0; i < g.n; i++) {
            counts.put(g.rows[i].measure, g.rows[i].count);
        }
        assertThat(counts).isEqualTo(Map.of("m0", 2L, "m1", 2L, "m2", 2L, FlushBuffer.OTHER_MEASURE, 14L));
        assertThat(reg.find("vigil_aggregator_measure_overflow").tag("tenant", "t").counter().count()).isEqualTo(14.0);
    }

    /** A worker restarted (or replaced by a new version) finds the counters of the one before: no new ones, same names. */
    @Test
    void aRestartedLimiterKeepsTheReportedNamesAndAddsNoCounters() {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        SeriesLimiter first = new SeriesLimiter("events", t -> new TenantLimits(1, 1), reg, 3_600_000L, 2, 10_000);
        assertThat(first.overflowMetric("acme", "a", 1)).isNull();
        for (int m = 0; m < 4; m++) {
            assertThat(first.overflowMetric("acme", "m" + m, 100 + m)).isEqualTo(m < 2 ? "m" + m : SeriesLimiter.OTHER_METRICS);
        }
        SeriesLimiter again = new SeriesLimiter("events", t -> new TenantLimits(1, 1), reg, 3_600_000L, 2, 10_000);
        assertThat(again.overflowMetric("acme", "a", 1)).isNull();
        assertThat(again.overflowMetric("acme", "m1", 201)).as("stored under its own name, as before the restart").isEqualTo("m1");
        for (int m = 4; m < 8; m++) {
            assertThat(again.overflowMetric("acme", "m" + m, 100 + m)).isEqualTo(SeriesLimiter.OTHER_METRICS);
        }
        assertThat(overflowByMetric(reg, "acme")).isEqualTo(Map.of("m0", 1.0, "m1", 2.0, SeriesLimiter.OTHER_METRICS, 6.0));
    }
}
