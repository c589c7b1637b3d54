package dev.vigil.query.health;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/** ModelHealthService's minute data: sliding-window sums equal direct merges; the histogram text parses exactly. */
class HistWindowTest {
    @Test
    void slidingSumsEqualDirectMerges() {
        Random r = new Random(11);
        TreeMap<Long, ModelHealthService.Agg> minutes = new TreeMap<>();
        for (long m = 0; m < 2000; m++) {
            if (r.nextInt(10) == 0) continue; // minutes without traffic
            ModelHealthService.Agg a = new ModelHealthService.Agg();
            for (int i = 0; i < 1 + r.nextInt(20); i++) {
                long c = 1 + r.nextInt(5);
                a.hist.merge(r.nextInt(300) - 150, c, Long::sum);
                a.count += c;
                a.sum += c * r.nextDouble();
            }
            minutes.put(m * 60_000, a);
        }
        ModelHealthService.Data d = new ModelHealthService.Data();
        long[] lengths = {5 * 60_000, 60 * 60_000, 24 * 60 * 60_000};
        for (int step = 0; step < 3000; step++) {
            long len = lengths[r.nextInt(lengths.length)];
            // mostly ascending ends (series points), sometimes a jump back or far ahead
            long to = step % 50 == 0 ? r.nextInt(2100) * 60_000L : (step % 2100) * 60_000L + r.nextInt(3) * 30_000L;
            ModelHealthService.Agg got = d.sum(minutes, to - len, to);
            TreeMap<Integer, Long> want = new TreeMap<>();
            long count = 0;
            double sum = 0;
            for (ModelHealthService.Agg a : minutes.subMap(to - len, true, to, false).values()) {
                a.hist.forEach((k, v) -> want.merge(k, v, Long::sum));
                count += a.count;
                sum += a.sum;
            }
            assertEquals(want, got.hist, "range ending " + to + " length " + len);
            assertEquals(count, got.count);
            assertEquals(sum, got.sum);
        }
    }

    @Test
    void parsesHistogramText() {
        TreeMap<Integer, Long> h = new TreeMap<>();
        ModelHealthService.parseHist("-3:2,5:10,-3:1,0:7,-2147483647:12345678901", h);
        assertEquals(new TreeMap<>(java.util.Map.of(-3, 3L, 5, 10L, 0, 7L, -2147483647, 12345678901L)), h);
    }
}
