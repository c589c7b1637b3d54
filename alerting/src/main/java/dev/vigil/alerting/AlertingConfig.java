package dev.vigil.alerting;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.vigil.alerting.notify.NotifierConfig;
import dev.vigil.alerting.notify.TargetConfig;
import dev.vigil.common.config.Config;
import dev.vigil.common.config.ConfigDef;
import dev.vigil.common.config.ConfigException;
import dev.vigil.common.config.ConfigKey;

/**
 * Settings of the rule evaluator and notifier, with their config keys ({@link #DEF}) for the
 * service that hosts alerting (the query-api).
 *
 * @param defaultInterval  evaluation interval of groups that set none (Prometheus' global evaluation_interval)
 * @param resendDelay      how often a firing alert is re-sent to Alertmanager (Prometheus' --rules.alert.resend-delay)
 * @param outageTolerance  alert state older than this is not restored (--rules.alert.for-outage-tolerance)
 * @param forGracePeriod   minimum time between restart and a restored pending alert firing, for rules whose
 *                         {@code for} is at least this long (--rules.alert.for-grace-period); 0 disables
 * @param externalLabels   labels added to sent alerts, available as $externalLabels in templates
 * @param externalURL      base URL for generator links, $externalURL in templates
 * @param ruleFiles        rule files loaded at startup, per tenant ("*" = every tenant)
 * @param evalThreads      groups evaluated in parallel
 * @param tick             how often the scheduler checks which groups are due
 */
public record AlertingConfig(Duration defaultInterval, Duration resendDelay, Duration outageTolerance, Duration forGracePeriod,
                             Map<String, String> externalLabels, String externalURL, List<FileSource> ruleFiles,
                             int evalThreads, Duration tick) {

    /** Rule files (or directories of *.yaml / *.yml files) for a tenant, or for every tenant with "*". */
    public record FileSource(String tenant, Path path) {
        public boolean allTenants() {
            return tenant.equals("*");
        }
    }

    public AlertingConfig {
        externalLabels = Map.copyOf(externalLabels);
        externalURL = externalURL == null ? "" : externalURL;
        ruleFiles = List.copyOf(ruleFiles);
    }

    public static AlertingConfig defaults() {
        return new AlertingConfig(Duration.ofMinutes(1), Duration.ofMinutes(1), Duration.ofHours(1), Duration.ZERO, Map.of(), "",
                List.of(), 2, Duration.ofSeconds(1));
    }

    public AlertingConfig withRuleFiles(List<FileSource> files) {
        return new AlertingConfig(defaultInterval, resendDelay, outageTolerance, forGracePeriod, externalLabels, externalURL, files,
                evalThreads, tick);
    }

    public AlertingConfig withDefaultInterval(Duration d) {
        return new AlertingConfig(d, resendDelay, outageTolerance, forGracePeriod, externalLabels, externalURL, ruleFiles,
                evalThreads, tick);
    }

    public AlertingConfig withRestore(Duration outage, Duration grace) {
        return new AlertingConfig(defaultInterval, resendDelay, outage, grace, externalLabels, externalURL, ruleFiles,
                evalThreads, tick);
    }

    public AlertingConfig withExternal(Map<String, String> labels, String url) {
        return new AlertingConfig(defaultInterval, resendDelay, outageTolerance, forGracePeriod, labels, url, ruleFiles,
                evalThreads, tick);
    }

    // ------------------------------------------------------------------ config keys

    public static final ConfigKey<Boolean> ENABLED = ConfigKey.boolKey("alerting.enabled", true,
            "Evaluate alerting and recording rules in this process.");
    public static final ConfigKey<List<String>> RULE_FILES = ConfigKey.listKey("alerting.rule-files",
            "*=rules/ml-health.yaml,*=rules/experiments.yaml,system=rules/pipeline.yaml",
            "Rule files loaded at startup as tenant=path (path may be a directory of *.yaml files; tenant * = every tenant). Read-only through the API.");
    public static final ConfigKey<Path> DATA_DIR = ConfigKey.pathKey("alerting.data-dir", "data/alerting",
            "Directory for API-managed rule groups (versioned files), alert state and the notification queue.");
    public static final ConfigKey<Duration> EVALUATION_INTERVAL = ConfigKey.durationKey("alerting.evaluation-interval", "1m",
            Duration.ofSeconds(1), Duration.ofHours(24), "Evaluation interval of rule groups that do not set one.");
    public static final ConfigKey<Duration> RESEND_DELAY = ConfigKey.durationKey("alerting.resend-delay", "1m",
            Duration.ofSeconds(1), Duration.ofHours(24), "How often a firing alert is re-sent to Alertmanager.");
    public static final ConfigKey<Duration> OUTAGE_TOLERANCE = ConfigKey.durationKey("alerting.for-outage-tolerance", "1h",
            Duration.ZERO, Duration.ofDays(30), "Alert state older than this is not restored after a restart.");
    public static final ConfigKey<Duration> GRACE_PERIOD = ConfigKey.durationKey("alerting.for-grace-period", "0s",
            Duration.ZERO, Duration.ofDays(1), "Minimum time between a restart and a restored pending alert firing (0 = keep the remaining pending time).");
    public static final ConfigKey<List<String>> EXTERNAL_LABELS = ConfigKey.listKey("alerting.external-labels", "",
            "Labels added to every alert sent, as name=value pairs.");
    public static final ConfigKey<String> EXTERNAL_URL = ConfigKey.stringKey("alerting.external-url", "",
            "Base URL of generator links in alerts (the query API as users reach it).");
    public static final ConfigKey<List<String>> TARGETS = ConfigKey.listKey("alerting.notify.targets", "",
            "Notification targets: [name=]alertmanager:<base url> or [name=]webhook:<url>, optional ;tenants=a|b.");
    public static final ConfigKey<Duration> NOTIFY_TIMEOUT = ConfigKey.durationKey("alerting.notify.timeout", "10s",
            Duration.ofMillis(100), Duration.ofMinutes(5), "HTTP timeout of one notification request.");
    public static final ConfigKey<Duration> NOTIFY_BACKOFF_MAX = ConfigKey.durationKey("alerting.notify.backoff-max", "1m",
            Duration.ofMillis(10), Duration.ofHours(1), "Longest delay between retries of a failing target (starts at 1s, doubles).");
    public static final ConfigKey<Integer> NOTIFY_QUEUE = ConfigKey.intKey("alerting.notify.queue-capacity", 10_000, 1, 10_000_000,
            "Alerts queued per target before the oldest are dropped.");
    public static final ConfigKey<String> TENANT_LABEL = ConfigKey.stringKey("alerting.notify.tenant-label", "vigil_tenant",
            "Label carrying the tenant in sent alerts (empty: none).");
    public static final ConfigKey<Integer> EVAL_THREADS = ConfigKey.intKey("alerting.eval-threads", 2, 1, 64,
            "Rule groups evaluated in parallel.");

    public static final ConfigDef DEF = new ConfigDef().define(ENABLED, RULE_FILES, DATA_DIR, EVALUATION_INTERVAL, RESEND_DELAY,
            OUTAGE_TOLERANCE, GRACE_PERIOD, EXTERNAL_LABELS, EXTERNAL_URL, TARGETS, NOTIFY_TIMEOUT, NOTIFY_BACKOFF_MAX, NOTIFY_QUEUE,
            TENANT_LABEL, EVAL_THREADS);

    public static AlertingConfig from(Config c) {
        List<FileSource> files = new ArrayList<>();
        for (String spec : c.get(RULE_FILES)) {
            int eq = spec.indexOf('=');
            if (eq <= 0 || eq == spec.length() - 1) {
                throw new ConfigException("config key " + RULE_FILES.name() + " has invalid entry '" + spec
                        + "'; accepted values: tenant=path or *=path");
            }
            files.add(new FileSource(spec.substring(0, eq).trim(), Path.of(spec.substring(eq + 1).trim())));
        }
        return new AlertingConfig(c.get(EVALUATION_INTERVAL), c.get(RESEND_DELAY), c.get(OUTAGE_TOLERANCE), c.get(GRACE_PERIOD),
                pairs(EXTERNAL_LABELS.name(), c.get(EXTERNAL_LABELS)), c.get(EXTERNAL_URL), files, c.get(EVAL_THREADS),
                Duration.ofSeconds(1));
    }

    public static NotifierConfig notifierFrom(Config c) {
        List<TargetConfig> targets = new ArrayList<>();
        int i = 0;
        for (String spec : c.get(TARGETS)) {
            try {
                targets.add(TargetConfig.parse(spec, i++));
            } catch (IllegalArgumentException e) {
                throw new ConfigException("config key " + TARGETS.name() + ": " + e.getMessage());
            }
        }
        return new NotifierConfig(targets, pairs(EXTERNAL_LABELS.name(), c.get(EXTERNAL_LABELS)), c.get(EXTERNAL_URL),
                c.get(TENANT_LABEL), c.get(NOTIFY_TIMEOUT), Duration.ofSeconds(1), c.get(NOTIFY_BACKOFF_MAX), c.get(NOTIFY_QUEUE), 64);
    }

    private static Map<String, String> pairs(String key, List<String> specs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String s : specs) {
            int eq = s.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException("config key " + key + " has invalid entry '" + s + "'; accepted values: name=value");
            }
            m.put(s.substring(0, eq).trim(), s.substring(eq + 1).trim());
        }
        return m;
    }
}
