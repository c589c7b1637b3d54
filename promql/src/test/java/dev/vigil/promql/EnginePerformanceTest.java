package dev.vigil.promql;

import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.engine.Value;
import dev.vigil.promql.storage.Appender;
import dev.vigil.promql.storage.InMemoryStorage;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** 1,000 series x 24 h (60 s samples) evaluated at a 60 s step. Prints timings; asserts a lenient bound. */
class EnginePerformanceTest {
    @Test
    void thousandSeriesOverADay() {
        InMemoryStorage s = new InMemoryStorage();
        Appender a = s.appender();
        long day = 86_400_000L;
        for (int i = 0; i < 1000; i++) {
            Labels l = Labels.of("__name__", "http_requests_total", "job", "job" + (i % 10), "instance", "i" + i);
            double v = 0;
            for (long t = 0; t <= day; t += 60_000) {
                v += i % 7 + 1;
                a.append(l, t, v);
            }
        }
        Engine e = new Engine();
        String[] queries = {
                "http_requests_total",
                "sum by (job) (rate(http_requests_total[5m]))",
                "http_requests_total / on(instance) group_left http_requests_total",
                "topk(5, rate(http_requests_total[5m]))",
                "avg_over_time(http_requests_total[10m])",
                "quantile(0.9, rate(http_requests_total[5m]))",
        };
        StringBuilder sb = new StringBuilder("\nPerformance (1000 series x 24h, step 60s; best of 15):\n");
        for (String q : queries) {
            long best = Long.MAX_VALUE;
            int n = 0;
            for (int rep = 0; rep < 15; rep++) {
                long t0 = System.nanoTime();
                Value.Matrix m = (Value.Matrix) e.rangeQuery(s, q, 0, day, 60_000).value();
                best = Math.min(best, System.nanoTime() - t0);
                n = m.series().size();
            }
            sb.append(String.format("  %-70s %6.1f ms  (%d series)%n", q, best / 1e6, n));
            assertThat(best / 1e6).isLessThan(5_000);
        }
        System.out.println(sb);
    }
}
