package dev.vigil.alerting;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

import dev.vigil.promql.Labels;
import dev.vigil.promql.storage.AppendableStorage;
import dev.vigil.promql.storage.Appender;

/** {@link SeriesWriter} appending to a promql {@link AppendableStorage} per tenant (in-memory tests, promtool runner). */
public final class StorageSeriesWriter implements SeriesWriter {
    private final Function<String, AppendableStorage> storageOfTenant;

    public StorageSeriesWriter(Function<String, AppendableStorage> storageOfTenant) {
        this.storageOfTenant = storageOfTenant;
    }

    @Override
    public void write(String tenant, List<Sample> samples) {
        Appender app = storageOfTenant.apply(tenant).appender();
        for (Sample s : samples) {
            Labels.Builder b = new Labels.Builder();
            for (Map.Entry<String, String> e : s.labels()) {
                b.set(e.getKey(), e.getValue());
            }
            app.append(b.build(), s.timestampMillis(), s.value());
        }
        app.commit();
    }
}
