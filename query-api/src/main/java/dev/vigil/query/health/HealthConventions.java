package dev.vigil.query.health;

import java.time.Duration;
import java.util.Set;

/**
 * How models appear in the event rollups and what counts as healthy (docs/ml-health.md).
 *
 * @param eventType         event type of model calls ({@code inference})
 * @param modelDim          dim naming the model ({@code model})
 * @param versionDim        dim naming the model version ({@code version})
 * @param latencyMeasure    measure holding the call latency in ms ({@code latency_ms})
 * @param errorMeasure      measure holding 1 for a failed call, 0 otherwise ({@code error})
 * @param notDrifting       measures not checked for drift (latency and error by default); every other
 *                          measure of the event type (score, features) is
 * @param window            default window of the health endpoint (1 h)
 * @param baseline          default baseline length, ending where the window starts (24 h)
 * @param seriesWindow      window of the throughput / error / latency series (5 min)
 * @param psi               PSI bands (warn 0.1, critical 0.25: the usual bands)
 * @param js                Jensen-Shannon distance bands (base 2, in [0, 1]; warn 0.1, critical 0.2)
 * @param errorRate         error-rate bands (warn 0.01, critical 0.05)
 * @param latencyP99Ms      p99 latency bands in ms (warn 500, critical 1000)
 * @param freshnessSeconds  age of the newest event (warn 300 s, critical 900 s)
 * @param missingRate       share of calls without a measure (warn 0.05, critical 0.2)
 * @param minThroughput     calls per second below which throughput is critical (warn at twice it; 0 = never)
 * @param minBaselineCount  values a baseline needs before drift is judged (100)
 */
public record HealthConventions(String eventType, String modelDim, String versionDim, String latencyMeasure,
                                String errorMeasure, Set<String> notDrifting, Duration window, Duration baseline,
                                Duration seriesWindow, Bands psi, Bands js, Bands errorRate, Bands latencyP99Ms,
                                Bands freshnessSeconds, Bands missingRate, double minThroughput, long minBaselineCount) {

    /** warn / critical thresholds of a figure where higher is worse. */
    public record Bands(double warn, double critical) {
        public String status(double v) {
            if (Double.isNaN(v)) return "unknown";
            return v >= critical ? "critical" : v >= warn ? "warn" : "ok";
        }
    }

    public static HealthConventions defaults() {
        return new HealthConventions("inference", "model", "version", "latency_ms", "error",
                Set.of("latency_ms", "error"), Duration.ofHours(1), Duration.ofHours(24), Duration.ofMinutes(5),
                new Bands(0.1, 0.25), new Bands(0.1, 0.2), new Bands(0.01, 0.05), new Bands(500, 1000),
                new Bands(300, 900), new Bands(0.05, 0.2), 0, 100);
    }
}
