package dev.vigil.query.api;

import java.util.List;
import java.util.Map;

/**
 * A feature of the query API (PromQL, ML health, experiments, alerting) as the server mounts it:
 * its routes (exact paths or prefixes ending in '/'), the derived series it contributes to
 * PromQL, and what it must release on shutdown.
 */
public interface QueryModule extends AutoCloseable {
    String name();

    /** Path (exact) or prefix (ending with '/') to handler. */
    Map<String, TenantRoute> routes();

    default List<DerivedSeriesProvider> seriesProviders() {
        return List.of();
    }

    @Override
    default void close() {
    }
}
