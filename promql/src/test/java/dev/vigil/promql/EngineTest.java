package dev.vigil.promql;

import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.engine.EngineOptions;
import dev.vigil.promql.engine.QueryContext;
import dev.vigil.promql.engine.QueryException;
import dev.vigil.promql.engine.QueryResult;
import dev.vigil.promql.engine.Value;
import dev.vigil.promql.storage.Appender;
import dev.vigil.promql.storage.InMemoryStorage;
import dev.vigil.promql.storage.StaleNaN;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EngineTest {
    private static InMemoryStorage data() {
        InMemoryStorage s = new InMemoryStorage();
        Appender a = s.appender();
        for (int i = 0; i <= 10; i++) {
            a.append(Labels.of("__name__", "req_total", "job", "a"), i * 60_000L, i * 60);
            a.append(Labels.of("__name__", "req_total", "job", "b"), i * 60_000L, i * 120);
        }
        a.append(Labels.of("__name__", "gone"), 0, 1);
        a.append(Labels.of("__name__", "gone"), 60_000, StaleNaN.VALUE);
        return s;
    }

    @Test
    void instantAndRangeQueries() {
        Engine e = new Engine();
        QueryResult r = e.instantQuery(data(), "sum(rate(req_total[5m]))", 600_000);
        Value.Vector v = (Value.Vector) r.value();
        assertThat(v.samples()).hasSize(1);
        assertThat(v.samples().get(0).value()).isCloseTo(3.0, org.assertj.core.data.Offset.offset(1e-9));
        r = e.rangeQuery(data(), "req_total{job=\"a\"} * 2", 0, 600_000, 60_000);
        Value.Matrix m = (Value.Matrix) r.value();
        assertThat(m.series()).hasSize(1);
        assertThat(m.series().get(0).size()).isEqualTo(11);
        assertThat(m.series().get(0).labels().has("__name__")).isFalse();
    }

    @Test
    void startTimestampsDriveResetsAndRate() {
        InMemoryStorage s = new InMemoryStorage();
        Appender a = s.appender();
        Labels delta = Labels.of("__name__", "d_total");
        // delta samples: each value covers (t - 1m, t]
        for (int i = 1; i <= 10; i++) a.append(delta, i * 60_000L, 60, (i - 1) * 60_000L);
        Engine e = new Engine();
        Value.Vector v = (Value.Vector) e.instantQuery(s, "increase(d_total[5m])", 600_000).value();
        assertThat(v.samples().get(0).value()).isCloseTo(300.0, org.assertj.core.data.Offset.offset(1e-9));
        v = (Value.Vector) e.instantQuery(s, "start_timestamp(d_total)", 600_000).value();
        assertThat(v.samples().get(0).value()).isEqualTo(540.0);
        // without start timestamps (older constructor, subquery) the same data is a flat counter
        dev.vigil.promql.storage.SeriesData sd = new dev.vigil.promql.storage.SeriesData(delta, new long[]{1}, new double[]{2});
        assertThat(sd.startTimestamps()).isNull();
        assertThat(sd.startTimestamp(0)).isZero();
        v = (Value.Vector) e.instantQuery(s, "increase(d_total[5m:1m])", 600_000).value();
        assertThat(v.samples().get(0).value()).isZero();
    }

    @Test
    void stalenessMarkersEndSeries() {
        Engine e = new Engine();
        assertThat(((Value.Vector) e.instantQuery(data(), "gone", 30_000).value()).samples()).hasSize(1);
        assertThat(((Value.Vector) e.instantQuery(data(), "gone", 90_000).value()).samples()).isEmpty();
    }

    @Test
    void limitsAndCancellation() {
        Engine e = new Engine(EngineOptions.defaults().withMaxSamples(5));
        assertThatThrownBy(() -> e.instantQuery(data(), "req_total[10m]", 600_000))
                .isInstanceOf(QueryException.class).hasMessageContaining("too many samples");
        QueryContext qc = QueryContext.unlimited();
        qc.cancel();
        assertThatThrownBy(() -> new Engine().instantQuery(data(), "req_total", 0, qc))
                .isInstanceOf(QueryException.class).hasMessageContaining("canceled");
    }

    @Test
    void sampleLimitIsAPeakNotACumulativeCount() {
        // Each sum holds 11 points; its input selector 22. Peak: 11 (left sum) + 22 + 11 (right) = 44,
        // while a cumulative count over everything read and produced would be 22+11+22+11+11 = 77.
        String q = "sum(req_total) + sum(req_total)";
        Engine ok = new Engine(EngineOptions.defaults().withMaxSamples(44));
        assertThat(((Value.Matrix) ok.rangeQuery(data(), q, 0, 600_000, 60_000).value()).series()).hasSize(1);
        Engine tooSmall = new Engine(EngineOptions.defaults().withMaxSamples(43));
        assertThatThrownBy(() -> tooSmall.rangeQuery(data(), q, 0, 600_000, 60_000))
                .isInstanceOf(QueryException.class).hasMessageContaining("too many samples");
    }

    @Test
    void selectHintsCarryEnclosingFunctionAndGrouping() {
        InMemoryStorage mem = data();
        java.util.List<dev.vigil.promql.storage.SelectHints> seen = new java.util.ArrayList<>();
        dev.vigil.promql.storage.Storage rec = (mint, maxt) -> {
            dev.vigil.promql.storage.Querier q = mem.querier(mint, maxt);
            return (hints, matchers) -> { seen.add(hints); return q.select(hints, matchers); };
        };
        new Engine().instantQuery(rec, "sum by (job) (rate(req_total[5m]))", 600_000);
        assertThat(seen).hasSize(1);
        assertThat(seen.get(0).func()).isEqualTo("rate");
        assertThat(seen.get(0).range()).isEqualTo(300_000);
        assertThat(seen.get(0).grouping()).containsExactly("job");
        assertThat(seen.get(0).by()).isTrue();
        seen.clear();
        new Engine().instantQuery(rec, "max without (instance) (req_total * 2)", 600_000);
        assertThat(seen.get(0).func()).isNull();
        assertThat(seen.get(0).grouping()).containsExactly("instance");
        assertThat(seen.get(0).by()).isFalse();
        seen.clear();
        new Engine().instantQuery(rec, "count(req_total)", 600_000);
        assertThat(seen.get(0).func()).isEqualTo("count");
        assertThat(seen.get(0).grouping()).isEmpty();
        assertThat(seen.get(0).by()).isTrue();
    }
}
