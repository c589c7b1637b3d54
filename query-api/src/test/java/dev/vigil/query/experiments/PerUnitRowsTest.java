package dev.vigil.query.experiments;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

class PerUnitRowsTest {
    @Test
    void namesWithPercentSignsArePlacedVerbatimInEveryForm() {
        String where = "tenant = 't' AND experiment IN ('exp-50%d')";
        var values = List.of(PerUnitRows.Value.sum("c0", "stats.3[indexOf(stats.1, cityHash64('load%s|p%'))]"));
        for (var parts : List.of(PerUnitRows.Parts.NONE, new PerUnitRows.Parts("all_1_9_2", false), new PerUnitRows.Parts("all_1_9_2", true))) {
            String sql = PerUnitRows.sql("vigil_experiment_unit_totals", where, values, parts);
            assertThat(sql).contains("'exp-50%d'").contains("'load%s|p%'");
        }
    }
}
