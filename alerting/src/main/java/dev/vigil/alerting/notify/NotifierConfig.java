package dev.vigil.alerting.notify;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Notifier settings.
 *
 * @param targets        where alerts go
 * @param externalLabels labels added to every alert sent (unless the alert has the label)
 * @param externalURL    base of generator URLs ({@code <externalURL>/graph?g0.expr=...})
 * @param tenantLabel    label carrying the tenant in sent alerts ("" to not add one)
 * @param requestTimeout HTTP timeout per request
 * @param backoffInitial first retry delay after a failed request; doubles per failure
 * @param backoffMax     retry delay cap
 * @param maxQueue       queued alerts per target before the oldest are dropped
 * @param batchSize      alerts per request
 */
public record NotifierConfig(List<TargetConfig> targets, Map<String, String> externalLabels, String externalURL,
                             String tenantLabel, Duration requestTimeout, Duration backoffInitial, Duration backoffMax,
                             int maxQueue, int batchSize) {
    public NotifierConfig {
        targets = List.copyOf(targets);
        externalLabels = Map.copyOf(externalLabels);
        externalURL = externalURL == null ? "" : externalURL;
        tenantLabel = tenantLabel == null ? "" : tenantLabel;
    }

    public static NotifierConfig of(List<TargetConfig> targets) {
        return new NotifierConfig(targets, Map.of(), "", "vigil_tenant", Duration.ofSeconds(10), Duration.ofSeconds(1),
                Duration.ofMinutes(1), 10_000, 64);
    }

    public NotifierConfig withBackoff(Duration initial, Duration max) {
        return new NotifierConfig(targets, externalLabels, externalURL, tenantLabel, requestTimeout, initial, max, maxQueue, batchSize);
    }

    public NotifierConfig withExternal(Map<String, String> labels, String url) {
        return new NotifierConfig(targets, labels, url, tenantLabel, requestTimeout, backoffInitial, backoffMax, maxQueue, batchSize);
    }
}
