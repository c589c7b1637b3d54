package dev.vigil.aggregator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import dev.vigil.common.config.Sizes;

/**
 * A declared rollup job (goal state, docs/aggregator.md): which topic it reads, what it writes,
 * and its bounds. Stored as JSON in {@code vigil_goal_state}; every field but {@code name},
 * {@code source} and {@code kind} has a default.
 *
 * @param name            job name ([a-z0-9_-]+): consumer group {@code <group-prefix><name>}
 * @param source          Kafka topic
 * @param kind            {@code events} or {@code samples} (how values are decoded)
 * @param rollups         events: subset of series, experiments (per-unit rows, totals, histograms), exposures,
 *                        unit_daily (per-unit daily totals of every event with a unit: the CUPED pre-period;
 *                        not in the default, see {@link #DEFAULT_EVENT_ROLLUPS}); samples: subset of raw, series
 * @param bucketSeconds   base rollup bucket (a divisor of 60)
 * @param maxAge          events/samples older than this (relative to their Kafka record time) are dead-lettered as beyond retention
 * @param labelAllowList  dims/labels kept in rollups (empty = all); others are aggregated away
 * @param flushInterval   flush a partition at least this often when it has data (e.g. 2s)
 * @param maxRecordsPerFlush flush a partition after this many records (1 to 100,000,000), or at flushInterval;
 *                        it bounds a crash's replay, while a flush's cost to ClickHouse is set by how often
 *                        flushes happen, so a fast partition is better flushed by time
 * @param consumers       consumer threads of this job in each aggregator instance (1 to 64, default 1):
 *                        Kafka spreads the topic's partitions over them, so more than the partition
 *                        count leaves some idle
 */
@JsonIgnoreProperties(ignoreUnknown = false)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobSpec(
        @JsonProperty("name") String name,
        @JsonProperty("source") String source,
        @JsonProperty("kind") String kind,
        @JsonProperty("rollups") List<String> rollups,
        @JsonProperty("bucket_seconds") Integer bucketSeconds,
        @JsonProperty("max_age") String maxAge,
        @JsonProperty("label_allow_list") List<String> labelAllowList,
        @JsonProperty("flush_interval") String flushInterval,
        @JsonProperty("max_records_per_flush") Integer maxRecordsPerFlush,
        @JsonProperty("consumers") Integer consumers) {

    public static final Set<String> EVENT_ROLLUPS = Set.of("series", "experiments", "exposures", "unit_daily");
    /**
     * Rollups of an events job that names none. Not {@code unit_daily}: it writes up to a row per
     * event and measure when units are many (measured: 5.4 rows per event in the soak workload, whose
     * inference events carry one of a million user ids, and the aggregator fell behind at 48k ev/s);
     * enable it where CUPED needs the pre-period.
     */
    public static final List<String> DEFAULT_EVENT_ROLLUPS = List.of("experiments", "exposures", "series");
    public static final Set<String> SAMPLE_ROLLUPS = Set.of("raw", "series");
    /** Defaults and bounds of a spec's flush fields, also the seeded jobs' (AggregatorMain's config keys). */
    public static final String DEFAULT_FLUSH_INTERVAL = "2s";
    public static final int DEFAULT_MAX_RECORDS_PER_FLUSH = 5_000_000;
    public static final int MAX_MAX_RECORDS_PER_FLUSH = 100_000_000;

    /** Fills defaults and validates; throws IllegalArgumentException naming the field. */
    public JobSpec normalized() {
        if (name == null || !name.matches("[a-z0-9][a-z0-9_-]{0,62}")) {
            throw new IllegalArgumentException("name must match [a-z0-9][a-z0-9_-]{0,62}, got " + name);
        }
        if (source == null || source.isBlank()) {
            throw new IllegalArgumentException("source (a Kafka topic) is required");
        }
        if (!source.matches("[a-zA-Z0-9._-]{1,249}")) {
            // Kafka's own rule: the job would only fail later, on its first poll
            throw new IllegalArgumentException("source must be a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -), got '" + source + "'");
        }
        if (!"events".equals(kind) && !"samples".equals(kind)) {
            throw new IllegalArgumentException("kind must be events or samples, got " + kind);
        }
        Set<String> allowed = "events".equals(kind) ? EVENT_ROLLUPS : SAMPLE_ROLLUPS;
        List<String> r = rollups != null && !rollups.isEmpty() ? rollups
                : "events".equals(kind) ? DEFAULT_EVENT_ROLLUPS : List.copyOf(new java.util.TreeSet<>(allowed));
        for (String x : r) {
            if (!allowed.contains(x)) {
                throw new IllegalArgumentException("rollups for kind " + kind + " must be among " + allowed + ", got " + x);
            }
        }
        int b = bucketSeconds == null ? 10 : bucketSeconds;
        if (b <= 0 || 60 % b != 0) {
            throw new IllegalArgumentException("bucket_seconds must divide 60, got " + b);
        }
        String age = maxAge == null ? "7d" : maxAge.strip();
        within("max_age", age, Duration.ofSeconds(b), MAX_MAX_AGE);
        String fi = flushInterval == null ? DEFAULT_FLUSH_INTERVAL : flushInterval.strip();
        within("flush_interval", fi, MIN_FLUSH_INTERVAL, MAX_FLUSH_INTERVAL);
        List<String> allow = new ArrayList<>();
        for (String l : labelAllowList == null ? List.<String>of() : labelAllowList) {
            if (l == null || !l.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new IllegalArgumentException("label_allow_list entries must be label names ([A-Za-z_][A-Za-z0-9_]*), got '" + l + "'");
            }
            if (!allow.contains(l)) {
                allow.add(l);
            }
        }
        int mr = maxRecordsPerFlush == null ? DEFAULT_MAX_RECORDS_PER_FLUSH : maxRecordsPerFlush;
        if (mr < 1 || mr > MAX_MAX_RECORDS_PER_FLUSH) {
            throw new IllegalArgumentException("max_records_per_flush must be in [1, " + MAX_MAX_RECORDS_PER_FLUSH + "], got " + mr);
        }
        int c = consumers == null ? 1 : consumers;
        if (c < 1 || c > 64) {
            throw new IllegalArgumentException("consumers must be in [1, 64], got " + c);
        }
        // 1 is stored as absent: instances of a version without this field (which refuse unknown
        // fields) keep reading the specs a newer instance writes, unless someone asks for more
        return new JobSpec(name, source, kind, List.copyOf(new java.util.LinkedHashSet<>(r)), b, age, List.copyOf(allow), fi, mr,
                c == 1 ? null : c);
    }

    /** Bounds of the duration fields: a value outside them was stored and then overflowed when a worker started. */
    static final Duration MAX_MAX_AGE = Duration.ofDays(3650);
    static final Duration MIN_FLUSH_INTERVAL = Duration.ofMillis(1);
    static final Duration MAX_FLUSH_INTERVAL = Duration.ofHours(24);

    private static void within(String field, String value, Duration min, Duration max) {
        Duration d;
        try {
            d = Sizes.parseDuration(value);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(field + ": " + e.getMessage());
        }
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new IllegalArgumentException(field + " must be in [" + Sizes.formatDuration(min) + ", " + Sizes.formatDuration(max) + "], got " + value);
        }
    }

    /**
     * Rollups this job and {@code other} would both write from the same topic: each job stores
     * what it reads under its own deduplication tokens, so two such jobs count every event twice.
     */
    public List<String> overlap(JobSpec other) {
        // whatever their kinds: a topic holds one kind of record, so of two jobs of different kinds on one topic one
        // dead-letters every record as undecodable while the other counts them
        if (!source.equals(other.source)) {
            return List.of();
        }
        return rollups.stream().filter(other.rollups::contains).toList();
    }

    /** Consumer threads per instance (absent means 1). */
    public int consumerCount() {
        return consumers == null ? 1 : consumers;
    }

    public boolean has(String rollup) {
        return rollups.contains(rollup);
    }

    public Duration maxAgeDuration() {
        return Sizes.parseDuration(maxAge);
    }

    public Duration flushIntervalDuration() {
        return Sizes.parseDuration(flushInterval);
    }

    public static JobSpec events(String name, String topic) {
        return new JobSpec(name, topic, "events", null, null, null, null, null, null, null).normalized();
    }

    public static JobSpec samples(String name, String topic) {
        return new JobSpec(name, topic, "samples", null, null, null, null, null, null, null).normalized();
    }
}
