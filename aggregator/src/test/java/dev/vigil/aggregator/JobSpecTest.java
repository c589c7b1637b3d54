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

    private static JobSpec with(String source, String maxAge, String flushInterval, List<String> labels) {
        return new JobSpec("j", source, "events", List.of("series", "series"), null, maxAge, labels, flushInterval, null, null);
    }

    /** Values that were stored and then broke the worker, or the whole aggregator's start, are refused when declared. */
    @Test
    void durationsTopicsAndLabelsAreCheckedWhenDeclared() {
        // a flush interval no clock reaches overflowed when the worker converted it (and the aggregator did not start)
        assertThatThrownBy(() -> with("vigil.events", null, "9223372036854775807ms", null).normalized())
                .hasMessageStartingWith("flush_interval must be in [1ms, 1d]");
        assertThatThrownBy(() -> with("vigil.events", null, "200000d", null).normalized()).hasMessageStartingWith("flush_interval");
        assertThatThrownBy(() -> with("vigil.events", null, "0ms", null).normalized()).hasMessageStartingWith("flush_interval");
        assertThatThrownBy(() -> with("vigil.events", null, "soon", null).normalized()).hasMessageStartingWith("flush_interval: ");
        // max_age: at least one bucket (0s dead-lettered every event), at most ten years
        assertThatThrownBy(() -> with("vigil.events", "0s", null, null).normalized()).hasMessageStartingWith("max_age must be in [10s, 3650d]");
        assertThatThrownBy(() -> with("vigil.events", "4000d", null, null).normalized()).hasMessageStartingWith("max_age");
        assertThat(with("vigil.events", " 7d ", null, null).normalized().maxAge()).isEqualTo("7d");
        // a topic Kafka would refuse only at the first poll
        for (String bad : new String[] {"bad topic!", " vigil.events", "t".repeat(250)}) {
            assertThatThrownBy(() -> with(bad, null, null, null).normalized()).as(bad).hasMessageStartingWith("source must be a Kafka topic name");
        }
        assertThatThrownBy(() -> with("vigil.events", null, null, List.of("model", "bad label!")).normalized())
                .hasMessageContaining("label_allow_list");
        JobSpec ok = with("vigil.events", null, null, List.of("model", "model", "version")).normalized();
        assertThat(ok.labelAllowList()).containsExactly("model", "version");
        assertThat(ok.rollups()).containsExactly("series");
    }

    /** A samples job and an events job on one topic: one of them dead-letters every record, so they overlap. */
    @Test
    void jobsOfEitherKindOnOneTopicOverlap() {
        JobSpec events = new JobSpec("e", "vigil.events", "events", List.of("series"), null, null, null, null, null, null).normalized();
        JobSpec samples = new JobSpec("s", "vigil.events", "samples", List.of("series"), null, null, null, null, null, null).normalized();
        assertThat(samples.overlap(events)).containsExactly("series");
    }
}
