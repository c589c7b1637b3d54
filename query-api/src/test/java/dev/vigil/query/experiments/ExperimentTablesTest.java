package dev.vigil.query.experiments;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import dev.vigil.aggregator.Migrations;

/** The reports read the aggregator's tables by name and key expression: both sides must agree. */
class ExperimentTablesTest {
    @Test
    void namesAndStatsKeyMatchTheAggregatorsMigrations() {
        assertThat(ExperimentTables.UNIT_TOTALS).isEqualTo(Migrations.UNIT_TOTALS);
        assertThat(ExperimentTables.UNIT_HIST).isEqualTo(Migrations.UNIT_HIST);
        assertThat(ExperimentTables.VARIANT_HIST).isEqualTo(Migrations.VARIANT_HIST);
        assertThat(ExperimentTables.UNIT_DAILY).isEqualTo(Migrations.UNIT_DAILY);
        assertThat(ExperimentTables.STATS_KEY_OF_COLUMNS).isEqualTo(Migrations.STATS_KEY);
    }
}
