package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.histogram.LogHistogram;
import dev.vigil.common.model.Event;
import dev.vigil.common.model.Sample;

/**
 * A generated stream with known totals goes through real Kafka and the aggregator into real
 * ClickHouse; every rollup read back matches exactly (quantiles within 1%), client retries are
 * dropped, and poison/late/future records are dead-lettered with their reason and source.
 */
class ITAggregatorExactness {
    static TestEnv env;
    static AggregatorMain.Running agg;
    static final String PREFIX = "vigil.";
    static final EventGen.Expected expected = new EventGen.Expected();
    static final int N = 40_000;
    static final int RETRIES = 3_000;
    static final int SAMPLES = 4_000;
    /** Samples whose value is NaN or infinite: stored raw, in no rollup, counted. */
    static final int NON_FINITE = 30;
    static double sampleSum;
    static Map<String, Long> dlqExpected = new TreeMap<>();
    /** Events with a client id and a unit: the ids the experiments job (unit rollups only) remembers. */
    static long idsWithUnit;

    @BeforeAll
    static void setUp() throws Exception {
        env = new TestEnv("exact");
        env.createTopic(PREFIX + "events", 4);
        env.createTopic(PREFIX + "samples", 2);
        long now = System.currentTimeMillis();
        Random rnd = new Random(42);
        List<ProducerRecord<byte[], byte[]>> recs = new ArrayList<>();
        List<Event> withIds = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            Event e = EventGen.event(rnd, i, now, i % 2 == 0, "evt-");
            expected.add(e, 10);
            recs.add(EventGen.record(PREFIX + "events", e));
            if (e.eventId() != null) {
                withIds.add(e);
                if (e.unitId() != null) {
                    idsWithUnit++;
                }
            }
        }
        // client retries of already-sent events: same ids, same keys (same partition)
        for (int i = 0; i < RETRIES; i++) {
            Event e = withIds.get(rnd.nextInt(withIds.size()));
            recs.add(EventGen.record(PREFIX + "events", e));
        }
        for (int i = 0; i < 50; i++) {
            recs.add(new ProducerRecord<>(PREFIX + "events", ("poison" + i).getBytes(StandardCharsets.UTF_8),
                    ("not a record " + i).getBytes(StandardCharsets.UTF_8)));
        }
        for (int i = 0; i < 20; i++) {
            Event e = EventGen.event(rnd, i, now, false, "");
            recs.add(EventGen.record(PREFIX + "events", new Event(e.tenant(), now - 40L * 86_400_000, e.type(), e.dims(), e.measures(),
                    null, e.experiments(), null, now)));
        }
        for (int i = 0; i < 10; i++) {
            Event e = EventGen.event(rnd, i, now, false, "");
            recs.add(EventGen.record(PREFIX + "events", new Event(e.tenant(), now + 5 * 3_600_000L, e.type(), e.dims(), e.measures(),
                    null, e.experiments(), null, now)));
        }
        dlqExpected.put("undecodable", 50L);
        dlqExpected.put("beyond_retention", 20L);
        dlqExpected.put("future_timestamp", 10L);
        Collections.shuffle(recs, rnd);
        for (int i = 0; i < SAMPLES; i++) {
            TreeMap<String, String> labels = new TreeMap<>(Map.of("instance", "i" + (i % 7), "job", "node"));
            double v = i % 13 + 0.5;
            sampleSum += v;
            Sample s = new Sample("t" + (1 + i % 2), "node_load", labels, now - i * 100L, v);
            recs.add(new ProducerRecord<>(PREFIX + "samples", s.seriesKey().getBytes(StandardCharsets.UTF_8), RecordCodec.encode(s)));
        }
        double[] nonFinite = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
        for (int i = 0; i < NON_FINITE; i++) {
            Sample s = new Sample("t1", "node_gone", new TreeMap<>(Map.of("instance", "i" + i)), now - i * 100L, nonFinite[i % 3]);
            recs.add(new ProducerRecord<>(PREFIX + "samples", s.seriesKey().getBytes(StandardCharsets.UTF_8), RecordCodec.encode(s)));
        }
        try (KafkaProducer<byte[], byte[]> p = env.producer()) {
            EventGen.sendAll(p, recs);
        }
        Map<String, String> aggEnv = env.aggregatorEnv(PREFIX);
        aggEnv.put("VIGIL_AGGREGATOR_DEFAULT_EXPERIMENT_ROLLUPS", "experiments,exposures,unit_daily");
        agg = env.startAggregator(aggEnv);
    }

    @AfterAll
    static void tearDown() {
        if (agg != null) {
            agg.close();
        }
        if (env != null) {
            env.close();
        }
    }

    /**
     * Keys (series, measure, coarse bucket) whose count, sum, min, max or histogram differ between the 10 s rows
     * rolled up in SQL (what the views computed) and {@code table}: 0 when the coarse table holds exactly the 10 s data.
     */
    static long coarseRowsThatDiffer(ClickHouse ch, String table, String truncate) {
        String cols = "sum(count) c, sum(sum) s, min(min) lo, max(max) hi, toString(sumMap(hist)) h";
        String key = "tenant, kind, name, measure, series_id, b";
        return TestEnv.longQuery(ch, "SELECT count() FROM (SELECT " + key.replace(", b", ", " + truncate + " AS b") + ", " + cols
                + " FROM vigil_rollup_10s GROUP BY " + key + ") x FULL OUTER JOIN (SELECT " + key.replace(", b", ", bucket AS b") + ", " + cols
                + " FROM " + table + " GROUP BY " + key + ") y USING (" + key + ") "
                + "WHERE x.c != y.c OR abs(x.s - y.s) > 1e-9 * greatest(1, abs(x.s)) OR x.lo != y.lo OR x.hi != y.hi OR x.h != y.h");
    }

    @Test
    void everythingIsCountedExactlyOnce() throws Exception {
        try (ClickHouse ch = env.ch()) {
            TestEnv.await("all events rolled up", Duration.ofSeconds(120), () -> TestEnv.longQuery(ch,
                    "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'event' AND measure = ''") == expected.events
                    && TestEnv.longQuery(ch, "SELECT count() FROM vigil_samples") == SAMPLES + NON_FINITE);
            // let any straggling (wrong) flush land before asserting equality
            TestEnv.await("jobs idle", Duration.ofSeconds(60), () -> agg.aggregator.jobStatus().stream()
                    .allMatch(j -> ((Number) j.get("lag")).longValue() == 0 && ((Number) j.get("queued_flushes")).intValue() == 0));
            Thread.sleep(1000);

            // series rollups, totals per series and measure
            Map<String, String[]> got = new HashMap<>();
            ch.forEach("SELECT tenant, name, measure, reinterpretAsInt64(series_id), sum(count), sum(sum), min(min), max(max), toString(sumMap(hist)) "
                    + "FROM vigil_rollup_10s WHERE kind = 'event' GROUP BY tenant, name, measure, series_id", rs -> {
                        String key = rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getString(3) + "|" + Long.toUnsignedString(rs.getLong(4));
                        got.put(key, new String[] {rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getString(9)});
                    });
            Map<String, String> expectedKeys = new HashMap<>();
            expected.series.keySet().forEach(k -> {
                String[] p = k.split("\\|");
                expectedKeys.put(p[0] + "|" + p[1] + "|" + p[2] + "|" + Long.toUnsignedString(Long.parseLong(p[3])), k);
            });
            assertThat(got.keySet()).containsExactlyInAnyOrderElementsOf(expectedKeys.keySet());
            int quantilesChecked = 0;
            for (Map.Entry<String, String> e : expectedKeys.entrySet()) {
                EventGen.Agg x = expected.series.get(e.getValue());
                String[] g = got.get(e.getKey());
                assertThat(Long.parseLong(g[0])).as("count of %s", e.getKey()).isEqualTo(x.count);
                assertThat(Double.parseDouble(g[1])).as("sum of %s", e.getKey()).isCloseTo(x.sum, within(1e-9 * Math.max(1, Math.abs(x.sum))));
                if (!e.getKey().split("\\|", -1)[2].isEmpty()) {
                    assertThat(Double.parseDouble(g[2])).as("min of %s", e.getKey()).isEqualTo(x.min);
                    assertThat(Double.parseDouble(g[3])).as("max of %s", e.getKey()).isEqualTo(x.max);
                    LogHistogram h = parseHist(g[4]);
                    assertThat(h.count()).isEqualTo(x.count);
                    List<Double> sorted = new ArrayList<>(x.values);
                    Collections.sort(sorted);
                    for (double q : new double[] {0.5, 0.9, 0.99}) {
                        double exact = sorted.get((int) Math.max(0, Math.ceil(q * sorted.size()) - 1));
                        double est = h.quantile(q);
                        if (exact == 0) {
                            assertThat(est).isEqualTo(0.0);
                        } else {
                            assertThat(Math.abs(est - exact) / Math.abs(exact)).as("q%s of %s: %s vs %s", q, e.getKey(), est, exact)
                                    .isLessThanOrEqualTo(0.01);
                        }
                        quantilesChecked++;
                    }
                }
            }
            assertThat(quantilesChecked).isGreaterThan(100);

            // event counts per bucket
            Map<String, Long> buckets = new TreeMap<>();
            ch.forEach("SELECT tenant, name, reinterpretAsInt64(series_id), toUnixTimestamp(bucket), sum(count) FROM vigil_rollup_10s "
                    + "WHERE kind = 'event' AND measure = '' GROUP BY tenant, name, series_id, bucket", rs ->
                    buckets.put(rs.getString(1) + "|" + rs.getString(2) + "|" + rs.getLong(3) + "|" + rs.getLong(4), rs.getLong(5)));
            assertThat(buckets).isEqualTo(expected.countsPerBucket);

            // coarser resolutions kept by ClickHouse hold the same totals
            for (String t : List.of("vigil_rollup_1m", "vigil_rollup_1h")) {
                assertThat(TestEnv.longQuery(ch, "SELECT sum(count) FROM " + t + " WHERE kind = 'event' AND measure = ''")).as(t).isEqualTo(expected.events);
                assertThat(TestEnv.longQuery(ch, "SELECT count() FROM (SELECT series_id, bucket FROM " + t + " WHERE kind = 'event' AND measure = '' "
                        + "GROUP BY series_id, bucket HAVING sum(count) > 0)")).as(t).isGreaterThan(0);
            }
            // the 1 m and 1 h rows (written by the aggregator since migration 9) hold exactly the 10 s rows rolled up
            assertThat(coarseRowsThatDiffer(ch, "vigil_rollup_1m", "toStartOfMinute(bucket)")).as("10 s rolled to minutes against the 1 m table").isZero();
            assertThat(coarseRowsThatDiffer(ch, "vigil_rollup_1h", "toStartOfHour(bucket)")).as("10 s rolled to hours against the 1 h table").isZero();
            assertThat(TestEnv.longQuery(ch, "SELECT count() FROM vigil_rollup_10s WHERE rolled_up = 0")).as("10 s rows left to the views").isZero();

            // per-unit experiment sums
            Map<String, double[]> units = new HashMap<>();
            ch.forEach("SELECT tenant, experiment, variant, type, measure, unit_id, sum(count), sum(sum) FROM vigil_experiment_units "
                    + "GROUP BY tenant, experiment, variant, type, measure, unit_id", rs ->
                    units.put(String.join("|", rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6)),
                            new double[] {rs.getLong(7), rs.getDouble(8)}));
            assertThat(units.keySet()).containsExactlyInAnyOrderElementsOf(expected.units.keySet());
            expected.units.forEach((k, a) -> {
                assertThat((long) units.get(k)[0]).as("unit count %s", k).isEqualTo(a.count);
                assertThat(units.get(k)[1]).as("unit sum %s", k).isCloseTo(a.sum, within(1e-9 * Math.max(1, Math.abs(a.sum))));
            });

            // per-unit totals (materialized view) and per-unit histograms agree with the per-day rows, unit by unit
            assertThat(TestEnv.longQuery(ch, "SELECT count() FROM (SELECT tenant, experiment, variant, unit_id, "
                    + Migrations.STATS_KEY + " AS k, sum(count) AS c, sum(sum) AS s FROM vigil_experiment_units GROUP BY ALL) x "
                    + "FULL OUTER JOIN (SELECT tenant, experiment, variant, unit_id, k, c, s FROM vigil_experiment_unit_totals FINAL "
                    + "ARRAY JOIN stats.1 AS k, stats.2 AS c, stats.3 AS s) y USING (tenant, experiment, variant, unit_id, k) "
                    + "WHERE x.c != y.c OR abs(x.s - y.s) > 1e-9 * greatest(1, abs(x.s))")).as("unit totals that differ").isZero();
            assertThat(TestEnv.longQuery(ch, "SELECT count() FROM (SELECT tenant, experiment, variant, type, measure, unit_id, sum(count) AS c "
                    + "FROM vigil_experiment_units WHERE measure != '' GROUP BY ALL) x FULL OUTER JOIN (SELECT tenant, experiment, variant, type, "
                    + "measure, unit_id, arraySum(mapValues(sumMap(hist))) AS c FROM vigil_experiment_unit_hist GROUP BY ALL) y "
                    + "USING (tenant, experiment, variant, type, measure, unit_id) WHERE x.c != y.c")).as("unit histograms whose counts differ").isZero();
            // every event with a unit, assigned or not, in the experiment-independent daily rollup (CUPED pre-period)
            assertThat(TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_unit_daily WHERE measure = ''")).isEqualTo(expected.unitEvents);

            // exposures: first time a unit saw a variant
            Map<String, long[]> expo = new HashMap<>();
            ch.forEach("SELECT tenant, experiment, variant, unit_id, toUnixTimestamp64Milli(min(first_seen)), sum(events) FROM vigil_exposures "
                    + "GROUP BY tenant, experiment, variant, unit_id", rs ->
                    expo.put(String.join("|", rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)), new long[] {rs.getLong(5), rs.getLong(6)}));
            assertThat(expo.keySet()).containsExactlyInAnyOrderElementsOf(expected.exposures.keySet());
            expected.exposures.forEach((k, a) -> {
                assertThat(expo.get(k)[0]).as("first_seen %s", k).isEqualTo(a.minTime);
                assertThat(expo.get(k)[1]).as("events %s", k).isEqualTo(a.count);
            });

            // samples: raw and rolled up
            assertThat(TestEnv.longQuery(ch, "SELECT sum(count) FROM vigil_rollup_10s WHERE kind = 'sample'")).isEqualTo(SAMPLES);
            Double s = ch.query("SELECT sum(value) AS s FROM vigil_samples WHERE name = 'node_load'").getFirst().get("s") instanceof Number n ? n.doubleValue() : null;
            assertThat(s).isCloseTo(sampleSum, within(1e-6));

            // client retries were dropped, and the seen ids were stored for recovery
            // (each job remembers the ids of the events it stores: all for events, those with a unit for experiments)
            // (as marks: one bit per record whose id was accepted)
            assertThat(markedIds(ch, "events")).isEqualTo(N / 2);
            assertThat(markedIds(ch, "experiments")).isEqualTo(idsWithUnit);
        }
        // dead letters: reason and source in headers
        List<ConsumerRecord<byte[], byte[]>> dlq = env.readAll(PREFIX + "dead-letters", Duration.ofSeconds(30));
        // every job reading the topic dead-letters what it cannot store, once each (header vigil.dlq.job)
        Map<String, Map<String, Long>> byJob = new TreeMap<>();
        for (ConsumerRecord<byte[], byte[]> r : dlq) {
            byJob.computeIfAbsent(header(r, "vigil.dlq.job"), j -> new TreeMap<>()).merge(header(r, "vigil.dlq.reason"), 1L, Long::sum);
            assertThat(header(r, "vigil.dlq.source.topic")).isEqualTo(PREFIX + "events");
            assertThat(Long.parseLong(header(r, "vigil.dlq.source.offset"))).isNotNegative();
            assertThat(header(r, "vigil.dlq.source.partition")).isNotEmpty();
        }
        assertThat(byJob).isEqualTo(Map.of("events", dlqExpected, "experiments", dlqExpected));
        String metrics = agg.registry.scrape();
        assertThat(metrics).contains("vigil_aggregator_dead_letters_total{job=\"events\",reason=\"undecodable\"} 50.0");
        assertThat(metrics).contains("vigil_aggregator_client_duplicates_total{job=\"events\"} " + RETRIES + ".0");
        assertThat(metrics).contains("vigil_aggregator_lag_records{job=\"events\",partition=\"0\"}");
        assertThat(metrics).contains("vigil_aggregator_freshness_seconds{job=\"events\"}");
        // the non-finite samples: raw only, and counted where the series rollup skipped them
        assertThat(metrics).contains("vigil_aggregator_samples_not_rolled_up_total{job=\"samples\",reason=\"non_finite\"} " + NON_FINITE + ".0");
    }

    static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    static LogHistogram parseHist(String s) {
        LogHistogram h = new LogHistogram();
        String body = s.substring(1, s.length() - 1);
        if (!body.isEmpty()) {
            for (String kv : body.split(",")) {
                int c = kv.indexOf(':');
                h.addBucket(Integer.parseInt(kv.substring(0, c)), Long.parseLong(kv.substring(c + 1)));
            }
        }
        return h;
    }

    /** Records marked as carrying an accepted client id in the job's stored flushes; each row's bits match its count. */
    static long markedIds(ClickHouse ch, String job) throws Exception {
        long[] total = {0};
        ch.forEach("SELECT start_offset, hex(marks), ids FROM vigil_seen_id_marks WHERE job = '" + job + "'", rs -> {
            long[] bits = {0};
            FlushBuffer.SeenMarks.decode(rs.getLong(1), java.util.HexFormat.of().parseHex(rs.getString(2)), o -> bits[0]++);
            assertThat(bits[0]).as("bits set in a row of %s vs its ids column", job).isEqualTo(rs.getLong(3));
            total[0] += bits[0];
        });
        return total[0];
    }
}
