package dev.vigil.aggregator;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.model.Event;

/** Deterministic event streams with known totals, and the expected rollups. */
final class EventGen {
    private EventGen() {
    }

    static Event event(Random rnd, int i, long now, boolean withId, String idPrefix) {
        String tenant = "t" + (1 + rnd.nextInt(3));
        boolean inference = rnd.nextInt(4) != 0;
        String type = inference ? "inference" : "purchase";
        SortedMap<String, String> dims = new TreeMap<>();
        SortedMap<String, Double> measures = new TreeMap<>();
        if (inference) {
            dims.put("model", "m" + rnd.nextInt(4));
            dims.put("region", "r" + rnd.nextInt(3));
            measures.put("latency_ms", Math.exp(3 + rnd.nextGaussian()));
            measures.put("error", rnd.nextInt(20) == 0 ? 1.0 : 0.0);
        } else {
            dims.put("region", "r" + rnd.nextInt(3));
            measures.put("amount", Math.round(rnd.nextDouble() * 10000) / 100.0);
        }
        long t = now - rnd.nextInt(20 * 60_000);
        if (rnd.nextInt(50) == 0) {
            t = now - 2 * 3_600_000L - rnd.nextInt(46 * 3_600_000);
        }
        String unit = null;
        SortedMap<String, String> exps = new TreeMap<>();
        if (rnd.nextInt(10) < 3) {
            int u = rnd.nextInt(500);
            unit = "u" + u;
            exps.put("exp-1", (u * 7919) % 2 == 0 ? "control" : "treatment");
            if (u % 3 == 0) {
                exps.put("exp-2", u % 2 == 0 ? "a" : "b");
            }
        }
        return new Event(tenant, t, type, dims, measures, unit, exps, withId ? idPrefix + i : null, now);
    }

    static ProducerRecord<byte[], byte[]> record(String topic, Event e) {
        return new ProducerRecord<>(topic, e.seriesKey().getBytes(StandardCharsets.UTF_8), RecordCodec.encode(e));
    }

    /** Expected totals of a series or unit key. */
    static final class Agg {
        long count;
        double sum;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        long minTime = Long.MAX_VALUE;
        final List<Double> values = new ArrayList<>();

        void add(double v, boolean keep) {
            count++;
            sum += v;
            min = Math.min(min, v);
            max = Math.max(max, v);
            if (keep) {
                values.add(v);
            }
        }
    }

    /** Expected rollups of accepted events. */
    static final class Expected {
        final Map<String, Agg> series = new TreeMap<>();      // tenant|type|measure|series_id
        final Map<String, Long> countsPerBucket = new TreeMap<>(); // tenant|type|series_id|bucket
        final Map<String, Agg> units = new TreeMap<>();       // tenant|exp|variant|type|measure|unit
        final Map<String, Agg> exposures = new TreeMap<>();   // tenant|exp|variant|unit
        long events;
        long unitEvents;  // events with a unit id, assigned or not (vigil_unit_daily)

        void add(Event e, int bucketSeconds) {
            events++;
            long sid = SeriesIds.seriesId(e.type(), e.dims());
            series.computeIfAbsent(e.tenant() + "|" + e.type() + "||" + sid, k -> new Agg()).add(1, false);
            long bucket = Math.floorDiv(e.timeMillis(), bucketSeconds * 1000L) * bucketSeconds;
            countsPerBucket.merge(e.tenant() + "|" + e.type() + "|" + sid + "|" + bucket, 1L, Long::sum);
            e.measures().forEach((m, v) -> series.computeIfAbsent(e.tenant() + "|" + e.type() + "|" + m + "|" + sid, k -> new Agg()).add(v, true));
            if (e.unitId() != null) {
                unitEvents++;
                e.experiments().forEach((x, var) -> {
                    units.computeIfAbsent(e.tenant() + "|" + x + "|" + var + "|" + e.type() + "||" + e.unitId(), k -> new Agg()).add(1, false);
                    e.measures().forEach((m, v) -> units.computeIfAbsent(e.tenant() + "|" + x + "|" + var + "|" + e.type() + "|" + m + "|" + e.unitId(),
                            k -> new Agg()).add(v, false));
                    Agg a = exposures.computeIfAbsent(e.tenant() + "|" + x + "|" + var + "|" + e.unitId(), k -> new Agg());
                    a.add(1, false);
                    a.minTime = Math.min(a.minTime, e.timeMillis());
                });
            }
        }
    }

    static void sendAll(KafkaProducer<byte[], byte[]> p, List<ProducerRecord<byte[], byte[]>> recs) throws Exception {
        List<java.util.concurrent.Future<?>> fs = new ArrayList<>();
        for (ProducerRecord<byte[], byte[]> r : recs) {
            fs.add(p.send(r));
        }
        p.flush();
        for (java.util.concurrent.Future<?> f : fs) {
            f.get();
        }
    }
}
