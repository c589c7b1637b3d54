package dev.vigil.alerting;

import java.nio.file.Path;
import java.time.Clock;
import java.util.Collection;
import java.util.Map;
import java.util.function.Supplier;

import dev.vigil.alerting.api.AlertingApi;
import dev.vigil.alerting.api.TenantRoute;
import dev.vigil.alerting.notify.Notifier;
import dev.vigil.alerting.store.FileAlertStateStore;
import dev.vigil.alerting.store.FileRuleStore;
import dev.vigil.common.config.Config;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Everything alerting needs in a host process, built from the {@link AlertingConfig#DEF} keys:
 * the notifier, the rule manager (file stores under {@code alerting.data-dir}) and the API
 * routes. The query-api creates one, mounts {@link #routes()} and closes it on shutdown.
 *
 * <pre>
 *   AlertingService alerting = AlertingService.create(config, queryEngine, seriesWriter, tenants, Clock.systemUTC(), registry);
 *   alerting.start();
 *   alerting.routes().forEach((path, route) -> ...mount route::handle...);
 * </pre>
 */
public final class AlertingService implements AutoCloseable {
    private final Notifier notifier;
    private final RuleManager manager;
    private final AlertingApi api;

    public AlertingService(Notifier notifier, RuleManager manager) {
        this.notifier = notifier;
        this.manager = manager;
        this.api = new AlertingApi(manager, notifier);
    }

    /**
     * @param config       the host's config, which must include {@link AlertingConfig#DEF}
     * @param queryEngine  instant queries per tenant (e.g. {@link PromqlQueryEngine})
     * @param seriesWriter where recording-rule results and ALERTS series are written ({@link SeriesWriter#DISCARD} if nowhere)
     * @param tenants      tenants that get the "*" rule files (e.g. the tenants of the configured API keys)
     */
    public static AlertingService create(Config config, QueryEngine queryEngine, SeriesWriter seriesWriter,
                                         Supplier<? extends Collection<String>> tenants, Clock clock, MeterRegistry registry) {
        Path dir = config.get(AlertingConfig.DATA_DIR);
        Notifier notifier = new Notifier(AlertingConfig.notifierFrom(config), clock, registry, dir.resolve("notifier-state.json"));
        RuleManager manager = new RuleManager(AlertingConfig.from(config), queryEngine, seriesWriter, notifier,
                new FileRuleStore(dir.resolve("rules"), clock), new FileAlertStateStore(dir.resolve("state")), tenants, clock, registry);
        return new AlertingService(notifier, manager);
    }

    /** Validates rule files (throws {@link dev.vigil.alerting.rules.RuleFileException} on invalid ones), restores state, starts evaluating and notifying. */
    public AlertingService start() {
        manager.load();
        notifier.start();
        manager.start();
        return this;
    }

    /** Path (exact) or prefix (ending with '/') to route, called with the authenticated tenant. */
    public Map<String, TenantRoute> routes() {
        return api.routes();
    }

    public RuleManager manager() {
        return manager;
    }

    public Notifier notifier() {
        return notifier;
    }

    /** Readiness: rules loaded (the scheduler has ticked within 3 ticks' time once started). */
    public boolean ready(Clock clock) {
        long last = manager.lastTick();
        return last != Alert.NONE && clock.millis() - last < Math.max(5_000, 3 * manager.config().tick().toMillis());
    }

    @Override
    public void close() {
        manager.close();
        notifier.close();
    }
}
