package dev.vigil.common.schema;

import java.time.Duration;
import java.util.Map;

/**
 * The tables whose retention is configuration ({@code aggregator.retention.*}, docs/aggregator.md "Retention") and the
 * retention the migrations create them with: the aggregator's defaults, and what the query API assumes until it has read
 * the tables' TTLs. One place, so that the two services cannot disagree on a default.
 */
public final class Retentions {
    public static final String ROLLUP_10S = "vigil_rollup_10s";
    public static final String ROLLUP_1M = "vigil_rollup_1m";
    public static final String ROLLUP_1H = "vigil_rollup_1h";
    public static final String SAMPLES = "vigil_samples";

    public static final Duration ROLLUP_10S_DEFAULT = Duration.ofDays(7);
    public static final Duration ROLLUP_1M_DEFAULT = Duration.ofDays(90);
    public static final Duration ROLLUP_1H_DEFAULT = Duration.ofDays(730);
    public static final Duration SAMPLES_DEFAULT = Duration.ofDays(30);

    public static final Map<String, Duration> DEFAULTS = Map.of(ROLLUP_10S, ROLLUP_10S_DEFAULT, ROLLUP_1M, ROLLUP_1M_DEFAULT,
            ROLLUP_1H, ROLLUP_1H_DEFAULT, SAMPLES, SAMPLES_DEFAULT);

    private Retentions() {
    }
}
