package dev.vigil.query;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Known events for the exactness tests: times, dims and latencies are generated with a fixed seed,
 * kept in memory (the truth) and written as 10 s rollup rows exactly as docs/schema.md specifies.
 */
public final class Fixture {
    /** One raw event. */
    public record Ev(String tenant, String type, SortedMap<String, String> dims, long timeMs, double latency) {
    }

    public static final String[] HOSTILE_MODELS = {"a'b", "c\\d", "') OR 1=1 --", "x.*", "q\"uote"};

    public final long end;     // exclusive end of the data, hour aligned
    public final long start;   // inclusive start
    public final List<Ev> events = new ArrayList<>();

    public Fixture(long end, long spanMs, int perTenant, long seed) {
        this.end = end;
        this.start = end - spanMs;
        Random r = new Random(seed);
        String[] models = {"m1", "m2"};
        String[] regions = {"eu", "us"};
        for (String tenant : List.of("acme", "other")) {
            int n = tenant.equals("acme") ? perTenant : perTenant / 4;
            for (int i = 0; i < n; i++) {
                SortedMap<String, String> dims = new TreeMap<>();
                dims.put("model", models[r.nextInt(models.length)]);
                dims.put("region", regions[r.nextInt(regions.length)]);
                long t = start + (long) (r.nextDouble() * spanMs);
                if (t % 10_000 == 0) {
                    t += 7;
                }
                // a bursty rate: more events in some minutes, so aligned-window errors would show
                if (r.nextInt(3) == 0) {
                    t = start + (t - start) / 600_000 * 600_000 + r.nextInt(120_000) + 1;
                }
                double lat = Math.exp(r.nextGaussian() * 0.8 + 4); // ~55 ms median, long tail
                events.add(new Ev(tenant, "inference", dims, t, lat));
            }
            for (String hostile : HOSTILE_MODELS) {
                SortedMap<String, String> dims = new TreeMap<>();
                dims.put("model", hostile);
                dims.put("region", "eu");
                for (int i = 0; i < 20; i++) {
                    events.add(new Ev(tenant, "inference", dims, start + 1 + r.nextInt((int) spanMs - 2), 10 + i));
                }
            }
        }
    }

    public void write(TestTables t) throws Exception {
        TestTables.Rollup roll = new TestTables.Rollup(10);
        for (Ev e : events) {
            roll.event(e.tenant, e.type, e.dims, e.timeMs, Map.of("latency_ms", e.latency));
        }
        t.insertRollups(roll.rows());
    }

    /** Events of the tenant with time in [from, to) whose dims contain all of {@code dims}. */
    public List<Ev> in(String tenant, long from, long to, Map<String, String> dims) {
        List<Ev> out = new ArrayList<>();
        for (Ev e : events) {
            if (e.tenant.equals(tenant) && e.timeMs >= from && e.timeMs < to && e.dims.entrySet().containsAll(dims.entrySet())) {
                out.add(e);
            }
        }
        return out;
    }

    /** The exact q-quantile (value at rank ceil(q n)) of the latencies. */
    public static double quantile(List<Ev> evs, double q) {
        double[] v = evs.stream().mapToDouble(Ev::latency).toArray();
        Arrays.sort(v);
        int idx = (int) Math.ceil(q * v.length) - 1;
        return v[Math.max(0, idx)];
    }
}
