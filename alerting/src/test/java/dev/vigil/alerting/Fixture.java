package dev.vigil.alerting;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import dev.vigil.alerting.store.FileAlertStateStore;
import dev.vigil.alerting.store.FileRuleStore;
import dev.vigil.promql.Labels;
import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.storage.Appender;
import dev.vigil.promql.storage.InMemoryStorage;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** A rule manager over the in-memory PromQL storage, with file stores in a directory and a hand-moved clock. */
final class Fixture {
    final Path dir;
    final MutableClock clock;
    final InMemoryStorage storage = new InMemoryStorage();
    final QueryEngine engine = new PromqlQueryEngine(new Engine(), t -> storage, 0);
    final SeriesWriter writer = new StorageSeriesWriter(t -> storage);
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    Fixture(Path dir, long start) {
        this.dir = dir;
        this.clock = new MutableClock(start);
    }

    Path ruleFile(String name, String yaml) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, yaml);
        return f;
    }

    /** Appends {@code value} every 15 s for [from, to). */
    void series(Labels l, long from, long to, double value) {
        Appender a = storage.appender();
        for (long t = from; t < to; t += 15_000) {
            a.append(l, t, value);
        }
        a.commit();
    }

    RuleManager manager(AlertSink sink, List<AlertingConfig.FileSource> files) {
        AlertingConfig cfg = AlertingConfig.defaults().withRuleFiles(files);
        RuleManager m = new RuleManager(cfg, engine, writer, sink, new FileRuleStore(dir.resolve("rules"), clock),
                new FileAlertStateStore(dir.resolve("state")), () -> Set.of("acme"), clock, registry);
        m.load();
        return m;
    }

    static Alert only(RuleManager m, String tenant) {
        List<Alert> as = m.alerts(tenant);
        if (as.size() != 1) {
            throw new AssertionError("expected one alert, got " + as);
        }
        return as.get(0);
    }
}
