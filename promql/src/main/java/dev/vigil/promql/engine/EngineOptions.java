package dev.vigil.promql.engine;

/**
 * Engine configuration. lookbackDeltaMs: how far back an instant selector looks (default 5m);
 * maxSamples: maximum samples held in memory per query; defaultSubqueryStepMs: step of subqueries
 * without explicit step (Prometheus uses the global evaluation interval, default 1m).
 */
public record EngineOptions(long lookbackDeltaMs, long maxSamples, long defaultSubqueryStepMs, long timeoutMs) {
    public static EngineOptions defaults() { return new EngineOptions(300_000L, 50_000_000L, 60_000L, 120_000L); }

    public EngineOptions withLookbackDelta(long ms) { return new EngineOptions(ms, maxSamples, defaultSubqueryStepMs, timeoutMs); }
    public EngineOptions withMaxSamples(long n) { return new EngineOptions(lookbackDeltaMs, n, defaultSubqueryStepMs, timeoutMs); }
}
