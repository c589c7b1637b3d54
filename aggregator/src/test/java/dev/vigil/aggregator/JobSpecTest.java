package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

class JobSpecTest {
    private static JobSpec spec(String name, Integer bucketSeconds, Integer maxRecords) {
        return new JobSpec(name, "vigil.events", "events", null, bucketSeconds, null, null, null, maxRecords, null);
    }

    @Test
    void defaultsAreFilledIn() {
        JobSpec s = spec("events", null, null).normalized();
        assertThat(s.rollups()).isEqualTo(JobSpec.DEFAULT_EVENT_ROLLUPS);
        assertThat(s.bucketSeconds()).isEqualTo(10);
        assertThat(s.maxAge()).isEqualTo("7d");
        assertThat(s.flushInterval()).isEqualTo("2s");
        assertThat(s.maxRecordsPerFlush()).isEqualTo(5_000_000);
        assertThat(s.consumerCount()).isEqualTo(1);
    }

    @Test
    void maxRecordsPerFlushIsBoundedAndNamedWhenWrong() {
        // a fast partition may be flushed by time only: up to 100 M records between flushes
        assertThat(spec("fast", null, 100_000_000).normalized().maxRecordsPerFlush()).isEqualTo(100_000_000);
        assertThat(spec("one", null, 1).normalized().maxRecordsPerFlush()).isEqualTo(1);
        assertThatThrownBy(() -> spec("x", null, 100_000_001).normalized())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("max_records_per_flush must be in [1, 100000000], got 100000001");
        assertThatThrownBy(() -> spec("x", null, 0).normalized())
                .hasMessageContaining("max_records_per_flush").hasMessageContaining("got 0");
    }

    @Test
    void otherFieldsAreValidatedByName() {
        assertThatThrownBy(() -> spec("Bad Name", null, null).normalized()).hasMessageContaining("name must match");
        assertThatThrownBy(() -> spec("b", 7, null).normalized()).hasMessage("bucket_seconds must divide 60, got 7");
        assertThatThrownBy(() -> new JobSpec("r", "t", "events", List.of("raw"), null, null, null, null, null, null).normalized())
                .hasMessageContaining("rollups for kind events must be among");
    }
}
