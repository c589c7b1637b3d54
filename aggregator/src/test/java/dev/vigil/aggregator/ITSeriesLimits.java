package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import dev.vigil.common.model.Event;

/**
 * The series limits through the real pipeline: series over a tenant's limits are folded into their metric's overflow
 * series, so every event is still counted once; the overflow is stored and counted by tenant and metric, under at most
 * aggregator.limits.max-overflow-metrics names and __other__.
 */
class ITSeriesLimits {
    private static final String PREFIX = "lim.";

    private static Event ev(String tenant, String type, String pod, long now) {
        return new Event(tenant, now - 5_000, type, new TreeMap<>(Map.of("pod", pod)), new TreeMap<>(Map.of("x", 1.0)), null,
                new TreeMap<>(), null, now);
    }

    @Test
    void seriesOverTheLimitsAreFoldedAndCountedNotDropped() throws Exception {
        try (TestEnv env = new TestEnv("limits")) {
            env.createTopic(PREFIX + "events", 1); // one partition: the series arrive in the order sent
            env.createTopic(PREFIX + "samples", 1);
            env.createTopic(PREFIX + "both", 1);
            long now = System.currentTimeMillis();
            // t1 may keep 3 series, 2 of a metric: a1, a2 kept, a3, a4 over the metric's limit; b1 kept (3 in all);
            // then 24 new metrics, all over the tenant's limit. t2 stays under its limits.
            List<String[]> order = new ArrayList<>();
            for (String pod : new String[] {"1", "2", "3", "4"}) {
                order.add(new String[] {"t1", "a", pod});
            }
            order.add(new String[] {"t1", "b", "1"});
            for (char m = 'c'; m <= 'z'; m++) {
                order.add(new String[] {"t1", String.valueOf(m), "1"});
            }
            order.add(new String[] {"t2", "a", "1"});
            order.add(new String[] {"t2", "a", "2"});
            List<ProducerRecord<byte[], byte[]>> recs = new ArrayList<>();
            for (int round = 0; round < 10; round++) {
                for (String[] o : order) {
                    recs.add(EventGen.record(PREFIX + "events", ev(o[0], o[1], o[2], now)));
                }
            }
            // t3: one series whose events each carry one of ten measure names (an id in the name, say), with a limit of 5
            // (metric, measure) names a tenant: y0-y4 stored, the values of y5-y9 in the series' measure __other__
            for (int round = 0; round < 3; round++) {
                for (int m = 0; m < 10; m++) {
                    recs.add(EventGen.record(PREFIX + "events", new Event("t3", now - 5_000, "m", new TreeMap<>(Map.of("pod", "1")),
                            new TreeMap<>(Map.of("y" + m, 2.0)), null, new TreeMap<>(), null, now)));
                }
            }
            // t4: the same with a unit and an experiment: the experiments job's per-unit rows take the same limit (y5-y9 as
            // __other__), where until 2026-11-28 every measure name made rows of its own
            for (int round = 0; round < 3; round++) {
                for (int m = 0; m < 10; m++) {
                    recs.add(EventGen.record(PREFIX + "events", new Event("t4", now - 5_000, "m", new TreeMap<>(Map.of("pod", "1")),
                            new TreeMap<>(Map.of("y" + m, 2.0)), "u" + round, new TreeMap<>(Map.of("exp-1", "a")), null, now)));
                }
            }
            // t5-t9: tenants beyond the window's four (aggregator.limits.max-tenants): stored as their series __other__
            for (int t = 5; t <= 9; t++) {
                for (int i = 0; i < 5; i++) {
                    recs.add(EventGen.record(PREFIX + "events", new Event("t" + t, now - 5_000, "new-" + t + "-" + i,
                            new TreeMap<>(Map.of("pod", "p" + i)), new TreeMap<>(Map.of("x", 3.0)), null, new TreeMap<>(), null, now)));
                }
            }
            try (KafkaProducer<byte[], byte[]> p = env.producer()) {
                EventGen.sendAll(p, recs);
            }
            Map<String, String> aggEnv = env.aggregatorEnv(PREFIX);
            aggEnv.put("VIGIL_AGGREGATOR_LIMITS_MAX_SERIES_PER_TENANT", "3");
            aggEnv.put("VIGIL_AGGREGATOR_LIMITS_MAX_SERIES_PER_METRIC", "2");
            aggEnv.put("VIGIL_AGGREGATOR_LIMITS_MAX_OVERFLOW_METRICS", "2");
            aggEnv.put("VIGIL_AGGREGATOR_LIMITS_MAX_MEASURE_NAMES", "5");
            aggEnv.put("VIGIL_AGGREGATOR_LIMITS_MAX_TENANTS", "4");
            // unit_daily too: its per-unit rows take the same limit
            aggEnv.put("VIGIL_AGGREGATOR_DEFAULT_EXPERIMENT_ROLLUPS", "experiments,exposures,unit_daily");
            try (AggregatorMain.Running agg = env.startAggregator(aggEnv); ClickHouse ch = env.ch()) {
                String events = "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''";
                TestEnv.await("every event stored", Duration.ofSeconds(60), () -> TestEnv.longQuery(ch, events) >= recs.size());
                assertThat(TestEnv.longQuery(ch, events)).as("nothing dropped, nothing twice").isEqualTo(recs.size());
                assertThat(TestEnv.longQuery(ch, events + " AND tenant = 't1'")).isEqualTo(10L * 29);
                // t1's measure x under a, b, c and __other__: 4 names, within the limit
                assertThat(TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_rollup_10s WHERE tenant = 't1' AND measure = 'x'")).isEqualTo(10L * 29);
                String t3 = "SELECT sum(count) FROM vigil_rollup_10s WHERE tenant = 't3' AND name = 'm' AND measure ";
                assertThat(TestEnv.longQuery(ch, "SELECT count(DISTINCT measure) FROM vigil_rollup_10s WHERE tenant = 't3' AND measure != ''"))
                        .as("measure names stored for t3: five and __other__").isEqualTo(6);
                assertThat(TestEnv.longQuery(ch, t3 + "IN ('y0', 'y1', 'y2', 'y3', 'y4')")).isEqualTo(15);
                assertThat(TestEnv.longQuery(ch, t3 + "= '__other__'")).as("y5-y9's values, not dropped").isEqualTo(15);
                assertThat(TestEnv.longQuery(ch, "SELECT toInt64(sum(sum)) FROM vigil_rollup_10s WHERE tenant = 't3' AND measure = '__other__'")).isEqualTo(30);
                // t5-t9, beyond the four tenants: every event stored, as one series __other__ each, measure __other__
                assertThat(TestEnv.longQuery(ch, events + " AND tenant IN ('t5', 't6', 't7', 't8', 't9') AND name = '__other__'"
                        + " AND labels['__overflow__'] = 'true'")).isEqualTo(25);
                assertThat(TestEnv.longQuery(ch, "SELECT count(DISTINCT tenant, name, series_id) FROM vigil_rollup_10s WHERE tenant IN"
                        + " ('t5', 't6', 't7', 't8', 't9')")).isEqualTo(5);
                assertThat(TestEnv.longQuery(ch, "SELECT toInt64(sum(sum)) FROM vigil_rollup_10s WHERE tenant = 't7' AND measure = '__other__'"))
                        .isEqualTo(15);
                String units = "SELECT sum(count) FROM vigil_experiment_units WHERE tenant = 't4'";
                TestEnv.await("t4's unit rows stored", Duration.ofSeconds(60), () -> TestEnv.longQuery(ch, units + " AND measure = ''") >= 30);
                assertThat(TestEnv.longQuery(ch, units + " AND measure = ''")).isEqualTo(30);
                assertThat(TestEnv.longQuery(ch, "SELECT count(DISTINCT measure) FROM vigil_experiment_units WHERE tenant = 't4' AND measure != ''"))
                        .as("measure names in t4's unit rows: five and __other__").isEqualTo(6);
                assertThat(TestEnv.longQuery(ch, units + " AND measure IN ('y0', 'y1', 'y2', 'y3', 'y4')")).isEqualTo(15);
                assertThat(TestEnv.longQuery(ch, units + " AND measure = '__other__'")).as("y5-y9's values, not dropped").isEqualTo(15);
                String daily = "SELECT sum(count) FROM vigil_unit_daily WHERE tenant = 't4'";
                TestEnv.await("t4's unit_daily rows stored", Duration.ofSeconds(60), () -> TestEnv.longQuery(ch, daily + " AND measure = ''") >= 30);
                assertThat(TestEnv.longQuery(ch, "SELECT count(DISTINCT measure) FROM vigil_unit_daily WHERE tenant = 't4' AND measure != ''"))
                        .as("measure names in t4's unit_daily rows: five and __other__").isEqualTo(6);
                assertThat(TestEnv.longQuery(ch, daily + " AND measure = '__other__'")).isEqualTo(15);
                // t1's own series: a1, a2, b1; everything else in the overflow series of its metric
                assertThat(TestEnv.longQuery(ch, "SELECT count(DISTINCT name, series_id) FROM vigil_rollup_10s WHERE tenant = 't1' AND kind = 'event'"
                        + " AND measure = '' AND NOT has(mapKeys(labels), '__overflow__')")).isEqualTo(3);
                assertThat(TestEnv.longQuery(ch, events + " AND tenant = 't1' AND labels['__overflow__'] = 'true'")).isEqualTo(10L * 26);
                assertThat(TestEnv.longQuery(ch, events + " AND tenant = 't1' AND name = 'a' AND labels['__overflow__'] = 'true'")).isEqualTo(20);
                assertThat(TestEnv.longQuery(ch, events + " AND tenant = 't2' AND labels['__overflow__'] = 'true'")).isZero();
                // stored under at most max-overflow-metrics names (a, then c) and __other__: the tables stay bounded too
                assertThat(TestEnv.longQuery(ch, "SELECT count(DISTINCT name, series_id) FROM vigil_rollup_10s WHERE tenant = 't1' AND kind = 'event'"
                        + " AND measure = '' AND labels['__overflow__'] = 'true'")).isEqualTo(3);
                assertThat(TestEnv.longQuery(ch, events + " AND tenant = 't1' AND name = 'c' AND labels['__overflow__'] = 'true'")).isEqualTo(10);
                assertThat(TestEnv.longQuery(ch, events + " AND tenant = 't1' AND name = '__other__' AND labels['__overflow__'] = 'true'")).isEqualTo(230);
                assertThat(TestEnv.longQuery(ch, events + " AND tenant = 't1' AND name = 'd'")).isZero();
                // counted by tenant and metric: a, then c, and the other 23 metrics together
                String scrape = agg.registry.scrape();
                assertThat(scrape).contains(
                        "vigil_aggregator_series_overflow_total{job=\"events\",metric=\"a\",tenant=\"t1\"} 20.0",
                        "vigil_aggregator_series_overflow_total{job=\"events\",metric=\"c\",tenant=\"t1\"} 10.0",
                        "vigil_aggregator_series_overflow_total{job=\"events\",metric=\"__other__\",tenant=\"t1\"} 230.0");
                assertThat(scrape).doesNotContain("metric=\"d\",tenant=\"t1\"").doesNotContain("tenant=\"t2\"} ");
                assertThat(scrape).contains("vigil_aggregator_measure_overflow_total{job=\"events\",tenant=\"t3\"} 15.0",
                                "vigil_aggregator_measure_overflow_total{job=\"experiments\",tenant=\"t4\"} 15.0",
                        "vigil_aggregator_series_overflow_total{job=\"events\",metric=\"__other__\",tenant=\"__other__\"} 25.0",
                        "vigil_aggregator_measure_overflow_total{job=\"events\",tenant=\"__other__\"} 25.0")
                        .doesNotContain("vigil_aggregator_measure_overflow_total{job=\"events\",tenant=\"t1\"}");

                // a job with series and unit rollups (declared at runtime, from a topic of its own): t10's refused values
                // stored as __other__ in both tables, and each counted once (until 2026-11-28 once per rollup kind)
                new GoalStore(ch).put(Aggregator.KIND_JOB, "both", "{\"name\": \"both\", \"source\": \"" + PREFIX + "both\", \"kind\": \"events\","
                        + " \"rollups\": [\"series\", \"unit_daily\"], \"flush_interval\": \"1s\"}", false, "test");
                agg.aggregator.reconcile();
                List<ProducerRecord<byte[], byte[]>> both = new ArrayList<>();
                for (int round = 0; round < 3; round++) {
                    for (int m = 0; m < 10; m++) {
                        both.add(EventGen.record(PREFIX + "both", new Event("t10", now - 5_000, "m", new TreeMap<>(Map.of("pod", "1")),
                                new TreeMap<>(Map.of("y" + m, 2.0)), "u" + round, new TreeMap<>(), null, now)));
                    }
                }
                try (KafkaProducer<byte[], byte[]> p = env.producer()) {
                    EventGen.sendAll(p, both);
                }
                String t10 = "SELECT sum(count) FROM vigil_rollup_10s WHERE tenant = 't10' AND name = 'm' AND measure ";
                String t10daily = "SELECT sum(count) FROM vigil_unit_daily WHERE tenant = 't10' AND measure ";
                TestEnv.await("t10's rows stored", Duration.ofSeconds(60), () -> TestEnv.longQuery(ch, t10 + "= ''") >= 30
                        && TestEnv.longQuery(ch, t10daily + "= ''") >= 30);
                assertThat(TestEnv.longQuery(ch, t10 + "= '__other__'")).as("y5-y9's values in the series rows").isEqualTo(15);
                assertThat(TestEnv.longQuery(ch, t10daily + "= '__other__'")).as("and in the unit rows").isEqualTo(15);
                assertThat(TestEnv.longQuery(ch, "SELECT count(DISTINCT measure) FROM vigil_rollup_10s WHERE tenant = 't10' AND measure != ''"))
                        .isEqualTo(6);
                assertThat(agg.registry.scrape()).contains("vigil_aggregator_measure_overflow_total{job=\"both\",tenant=\"t10\"} 15.0");

                // tenants beyond max-tenants (4) arrive first in a window; t11 has limits of its own in the goal state and keeps
                // its own series, t12 (no limits of its own) is stored as its series __other__
                new GoalStore(ch).put(Aggregator.KIND_LIMITS, "t11", "{\"max_series\": 100, \"max_series_per_metric\": 100}", false, "test");
                agg.aggregator.reconcile();
                List<ProducerRecord<byte[], byte[]>> late = new ArrayList<>();
                for (String tenant : new String[] {"j1", "j2", "j3", "j4", "t11", "t12"}) {
                    late.add(EventGen.record(PREFIX + "events", new Event(tenant, now - 5_000, "late", new TreeMap<>(Map.of("pod", "1")),
                            new TreeMap<>(), null, new TreeMap<>(), null, now)));
                }
                try (KafkaProducer<byte[], byte[]> p = env.producer()) {
                    EventGen.sendAll(p, late);
                }
                TestEnv.await("the late tenants' events stored", Duration.ofSeconds(60),
                        () -> TestEnv.longQuery(ch, events + " AND tenant IN ('t11', 't12')") >= 2);
                assertThat(TestEnv.longQuery(ch, events + " AND tenant = 't11' AND name = 'late'")).as("t11's own series").isEqualTo(1);
                assertThat(TestEnv.longQuery(ch, events + " AND tenant = 't12' AND name = '__other__'")).isEqualTo(1);
            }
        }
    }
}
