package dev.vigil.aggregator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.config.Config;
import dev.vigil.common.config.ConfigException;
import dev.vigil.common.config.ConfigKey;
import dev.vigil.common.config.Sizes;
import dev.vigil.common.schema.Retentions;
import dev.vigil.common.schema.TtlClause;

/**
 * How long each resolution keeps its rows: the tables' TTLs, set from configuration at startup
 * (after the migrations, which create the tables with the defaults below). A table whose TTL
 * differs is changed with {@code ALTER TABLE ... MODIFY TTL}; ClickHouse then recomputes the TTL of
 * the parts it already has in the background (a mutation), so a shorter retention also drops the
 * old parts that it now covers. The query API reads the TTLs back to choose its resolution.
 */
public final class Retention {
    private static final Logger log = LoggerFactory.getLogger(Retention.class);

    public static final ConfigKey<Duration> ROLLUP_10S = key("aggregator.retention.10s", Retentions.ROLLUP_10S_DEFAULT,
            "how long vigil_rollup_10s keeps its rows (the table's TTL; at most the 1 m table's)");
    public static final ConfigKey<Duration> ROLLUP_1M = key("aggregator.retention.1m", Retentions.ROLLUP_1M_DEFAULT,
            "how long vigil_rollup_1m keeps its rows (at most the 1 h table's)");
    public static final ConfigKey<Duration> ROLLUP_1H = key("aggregator.retention.1h", Retentions.ROLLUP_1H_DEFAULT,
            "how long vigil_rollup_1h keeps its rows");
    public static final ConfigKey<Duration> SAMPLES = key("aggregator.retention.samples", Retentions.SAMPLES_DEFAULT,
            "how long vigil_samples keeps raw samples (OTLP metrics, remote write)");

    /** The experiment tables: per-unit rows, per-unit totals, per-unit and per-variant histograms, unit daily totals, exposures. */
    static final List<String> EXPERIMENT_TABLES = List.of(Migrations.EXPERIMENT_UNITS, Migrations.UNIT_TOTALS, Migrations.UNIT_HIST,
            Migrations.VARIANT_HIST, Migrations.UNIT_DAILY, Migrations.EXPOSURES);
    public static final ConfigKey<Duration> EXPERIMENTS = ConfigKey.durationKey("aggregator.retention.experiments", "400d", Duration.ofDays(1),
            Duration.ofDays(3650), "how long the experiment tables keep their rows (" + String.join(", ", EXPERIMENT_TABLES) + "): by day"
                    + " for the per-unit rows and daily totals, by a unit's last day for its totals and histograms, by its last sight for"
                    + " the exposures (keep it longer than the longest experiment and its pre-period; docs/aggregator.md, Retention)");

    private static ConfigKey<Duration> key(String name, Duration dflt, String doc) {
        return ConfigKey.durationKey(name, Sizes.formatDuration(dflt), Duration.ofHours(1), Duration.ofDays(3650), doc);
    }

    public static final List<ConfigKey<?>> KEYS = List.of(ROLLUP_10S, ROLLUP_1M, ROLLUP_1H, SAMPLES, EXPERIMENTS);

    private Retention() {
    }

    /** The configured retention per table, checked: a finer resolution keeps its rows no longer than a coarser one. */
    public static Map<String, Duration> fromConfig(Config c) {
        Map<String, Duration> m = new LinkedHashMap<>();
        m.put(Migrations.ROLLUP_10S, whole(c.get(ROLLUP_10S), ROLLUP_10S));
        m.put(Migrations.ROLLUP_1M, whole(c.get(ROLLUP_1M), ROLLUP_1M));
        m.put(Migrations.ROLLUP_1H, whole(c.get(ROLLUP_1H), ROLLUP_1H));
        m.put(Migrations.SAMPLES, whole(c.get(SAMPLES), SAMPLES));
        for (String t : EXPERIMENT_TABLES) {
            m.put(t, whole(c.get(EXPERIMENTS), EXPERIMENTS));
        }
        if (c.get(ROLLUP_10S).compareTo(c.get(ROLLUP_1M)) > 0 || c.get(ROLLUP_1M).compareTo(c.get(ROLLUP_1H)) > 0) {
            // the query API answers a range too old for one resolution from the next coarser one
            throw new ConfigException("config keys " + ROLLUP_10S.name() + " (" + Sizes.formatDuration(c.get(ROLLUP_10S)) + ") <= "
                    + ROLLUP_1M.name() + " (" + Sizes.formatDuration(c.get(ROLLUP_1M)) + ") <= " + ROLLUP_1H.name() + " ("
                    + Sizes.formatDuration(c.get(ROLLUP_1H)) + ") must hold: a coarser resolution keeps its rows at least as long");
        }
        return m;
    }

    private static Duration whole(Duration d, ConfigKey<Duration> key) {
        if (d.toNanosPart() != 0) {
            throw new ConfigException("config key " + key.name() + " has invalid value " + d + "; accepted values: whole seconds, e.g. 36h, 7d");
        }
        return d;
    }

    /** A table whose TTL was changed: from (empty if it had none of the usual shape) and to. */
    public record Change(String table, Optional<Duration> from, Duration to) {
    }

    /**
     * Sets each table's TTL to {@code wanted}, keeping the expression rows age by; returns what changed.
     * Tables whose TTL already matches are not touched, so a restart with the same configuration costs one query; a
     * table whose TTL is of another shape (written by hand) is left as it is, with a warning.
     */
    public static List<Change> apply(ClickHouse ch, Map<String, Duration> wanted) throws Exception {
        Map<String, String> engines = new LinkedHashMap<>();
        StringBuilder in = new StringBuilder();
        for (String t : wanted.keySet()) {
            in.append(in.isEmpty() ? "" : ", ").append(ClickHouse.q(t));
        }
        for (Map<String, Object> row : ch.query("SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN ("
                + in + ")")) {
            engines.put(String.valueOf(row.get("name")), String.valueOf(row.get("engine_full")));
        }
        List<Change> changes = new ArrayList<>();
        for (Map.Entry<String, Duration> w : wanted.entrySet()) {
            String table = w.getKey();
            String engine = engines.get(table);
            if (engine == null) {
                throw new IllegalStateException("table " + table + " does not exist (the migrations create it)");
            }
            Optional<TtlClause.Ttl> ttl = TtlClause.parse(engine);
            if (ttl.isPresent() && ttl.get().retention().equals(w.getValue())) {
                continue;
            }
            if (ttl.isEmpty() && TtlClause.hasTtl(engine)) {
                // a TTL of another shape (a move to a volume, a WHERE, months): an operator's, which a MODIFY TTL would
                // replace whole; left as it is, and said so at every start
                log.warn("event=retention_not_applied table={} wanted={} reason=\"the table's TTL is not of the form <column> + INTERVAL n"
                        + " UNIT (changed by hand?); change it by hand, or reset it to that form to let the aggregator manage it\" engine=\"{}\"",
                        table, Sizes.formatDuration(w.getValue()), engine);
                continue;
            }
            String expression = ttl.map(TtlClause.Ttl::expression).orElse(defaultExpression(table));
            ch.execute("ALTER TABLE " + table + " MODIFY TTL " + expression + " + " + TtlClause.interval(w.getValue()));
            Change c = new Change(table, ttl.map(TtlClause.Ttl::retention), w.getValue());
            log.info("event=retention_changed table={} from={} to={}", table,
                    c.from().map(Sizes::formatDuration).orElse("unknown (" + engine + ")"), Sizes.formatDuration(c.to()));
            changes.add(c);
        }
        return changes;
    }

    /** The column rows age by, as the migrations define it (for a table whose TTL was removed or rewritten by hand). */
    private static String defaultExpression(String table) {
        return switch (table) {
            case Migrations.SAMPLES -> "toDateTime(ts)";
            case Migrations.EXPERIMENT_UNITS, Migrations.UNIT_DAILY -> "day";
            case Migrations.UNIT_TOTALS, Migrations.UNIT_HIST, Migrations.VARIANT_HIST -> "last_day";
            case Migrations.EXPOSURES -> "toDateTime(last_seen)";
            default -> "bucket";
        };
    }
}
