package dev.vigil.alerting.notify;

import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.vigil.alerting.Alert;
import dev.vigil.alerting.AlertSink;
import dev.vigil.alerting.Times;
import dev.vigil.common.config.Redact;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Delivers alerts to Alertmanagers (v2 API) and generic webhooks, with retries and backoff.
 *
 * <ul>
 *   <li>Alertmanager targets get Prometheus' behaviour: every firing alert is re-sent each
 *       resend delay with a moving {@code endsAt}, a resolved one carries its resolution time.
 *       Per target, only the latest notification of each alert is queued, so a target that was
 *       down receives the current state once it is back, once.</li>
 *   <li>Webhook targets get state changes only: one "firing" per firing episode (identified by
 *       the alert's start time) and one "resolved"; Prometheus-style re-sends of an unchanged
 *       state are suppressed, so a webhook pages once per state change. Queued changes are
 *       delivered in order.</li>
 *   <li>A failed request (connection error, timeout, 5xx, 429) is retried with exponential
 *       backoff; a 4xx rejection is dropped and counted. Counters are in Micrometer and in
 *       {@link #status()}.</li>
 *   <li>With a state file, queued notifications and the webhook de-duplication keys survive a
 *       restart.</li>
 * </ul>
 */
public final class Notifier implements AlertSink, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Notifier.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Dedup keys of resolved webhook alerts are forgotten this long after the resolution. */
    private static final long DEDUP_RETENTION_MS = 60 * 60_000L;

    private final NotifierConfig config;
    private final Clock clock;
    private final Path stateFile;
    private final HttpClient http;
    private final List<Target> targets = new ArrayList<>();
    private final Object wake = new Object();
    private final AtomicBoolean running = new AtomicBoolean();
    private Thread worker;

    public Notifier(NotifierConfig config, Clock clock, MeterRegistry registry, Path stateFile) {
        this.config = config;
        this.clock = clock;
        this.stateFile = stateFile;
        this.http = HttpClient.newBuilder().connectTimeout(config.requestTimeout()).version(HttpClient.Version.HTTP_1_1).build();
        for (TargetConfig tc : config.targets()) {
            targets.add(new Target(tc, registry));
        }
        loadState();
    }

    public NotifierConfig config() {
        return config;
    }

    // ------------------------------------------------------------------ intake

    @Override
    public void send(String tenant, String expr, List<Alert> alerts) {
        List<AlertNotification> ns = new ArrayList<>(alerts.size());
        for (Alert a : alerts) {
            ns.add(toNotification(tenant, expr, a));
        }
        submit(ns);
    }

    /** Queues notifications for every target that accepts their tenant. */
    public void submit(List<AlertNotification> notifications) {
        if (notifications.isEmpty() || targets.isEmpty()) {
            return;
        }
        for (Target t : targets) {
            t.enqueue(notifications);
        }
        saveState();
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    AlertNotification toNotification(String tenant, String expr, Alert a) {
        Map<String, String> labels = new TreeMap<>(a.labels().asMap());
        config.externalLabels().forEach(labels::putIfAbsent);
        if (!config.tenantLabel().isEmpty()) {
            // set by the server, whatever the rule says: a rule of tenant alice labelled vigil_tenant="bob" reached
            // bob's routing (his pages, silences and inhibitions) indistinguishable from bob's own alerts
            labels.put(config.tenantLabel(), tenant);
        }
        boolean resolved = a.resolvedAt() != Alert.NONE;
        long ends = resolved ? a.resolvedAt() : a.validUntil();
        return new AlertNotification(tenant, labels, a.annotations().asMap(), a.firedAt(), ends, resolved,
                config.externalURL() + tableLink(expr));
    }

    /** Prometheus' strutil.TableLinkForExpression. */
    static String tableLink(String expr) {
        return "/graph?g0.expr=" + URLEncoder.encode(expr, StandardCharsets.UTF_8) + "&g0.tab=1";
    }

    // ------------------------------------------------------------------ delivery

    /** Starts the background delivery thread. */
    public Notifier start() {
        if (running.compareAndSet(false, true)) {
            worker = Thread.ofPlatform().daemon().name("alert-notifier").start(this::loop);
        }
        return this;
    }

    private void loop() {
        while (running.get()) {
            try {
                deliverDue();
            } catch (RuntimeException e) {
                log.warn("notifier pass failed error={}", e.toString());
            }
            long now = clock.millis();
            long next = now + 1000;
            for (Target t : targets) {
                next = Math.min(next, t.nextAttemptIfQueued(now));
            }
            long wait = Math.max(10, next - now);
            synchronized (wake) {
                try {
                    wake.wait(Math.min(wait, 1000));
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** One delivery pass: every target with queued alerts and no pending backoff gets one batch. Returns alerts delivered. */
    public int deliverDue() {
        int delivered = 0;
        for (Target t : targets) {
            delivered += t.deliverIfDue(clock.millis());
        }
        saveState();
        return delivered;
    }

    /** Delivery passes until nothing is due (or {@code maxPasses}); for tests and shutdown. */
    public int drain(int maxPasses) {
        int total = 0;
        for (int i = 0; i < maxPasses; i++) {
            int d = deliverDue();
            total += d;
            if (d == 0) {
                break;
            }
        }
        return total;
    }

    @Override
    public void close() {
        running.set(false);
        synchronized (wake) {
            wake.notifyAll();
        }
        if (worker != null) {
            try {
                worker.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        saveState();
    }

    /** Status of every target, for the status endpoint. */
    public List<TargetStatus> status() {
        List<TargetStatus> out = new ArrayList<>();
        for (Target t : targets) {
            out.add(t.status());
        }
        return out;
    }

    public List<TargetConfig> targets() {
        return config.targets();
    }

    /** A snapshot of one target's delivery state. */
    public record TargetStatus(String name, String kind, String url, int queued, long sent, long failedRequests,
                               long dropped, long duplicatesSuppressed, int consecutiveFailures, String lastError,
                               String lastAttempt, String lastSuccess, String nextAttempt) {
    }

    // ------------------------------------------------------------------ per target

    private final class Target {
        final TargetConfig cfg;
        // Alertmanager: latest notification per alert identity
        final LinkedHashMap<String, AlertNotification> latest = new LinkedHashMap<>();
        // Webhook: ordered state changes, and the last (status@startsAt) queued per identity
        final Deque<AlertNotification> changes = new ArrayDeque<>();
        final Map<String, String> lastKey = new HashMap<>();
        final Map<String, Long> lastKeyExpiry = new HashMap<>();
        final Counter sent;
        final Counter failed;
        final Counter droppedRejected;
        final Counter droppedFull;
        final Counter duplicates;
        long sentCount;
        long failedCount;
        long droppedCount;
        long dupCount;
        int consecutiveFailures;
        long nextAttempt = Long.MIN_VALUE;
        long lastAttempt = Alert.NONE;
        long lastSuccess = Alert.NONE;
        String lastError = "";

        Target(TargetConfig cfg, MeterRegistry registry) {
            this.cfg = cfg;
            String kind = cfg.kind().name().toLowerCase();
            sent = Counter.builder("vigil.alerting.notifications.sent").description("Alerts delivered to a notification target")
                    .tag("target", cfg.name()).tag("kind", kind).register(registry);
            failed = Counter.builder("vigil.alerting.notifications.failed").description("Failed notification requests (retried)")
                    .tag("target", cfg.name()).tag("kind", kind).register(registry);
            droppedRejected = Counter.builder("vigil.alerting.notifications.dropped").description("Alerts dropped without delivery")
                    .tag("target", cfg.name()).tag("kind", kind).tag("reason", "rejected").register(registry);
            droppedFull = Counter.builder("vigil.alerting.notifications.dropped").description("Alerts dropped without delivery")
                    .tag("target", cfg.name()).tag("kind", kind).tag("reason", "queue_full").register(registry);
            duplicates = Counter.builder("vigil.alerting.notifications.duplicates.suppressed")
                    .description("Re-sends of an unchanged alert state not delivered to a webhook")
                    .tag("target", cfg.name()).tag("kind", kind).register(registry);
            Gauge.builder("vigil.alerting.notifications.queue.length", this, t -> t.queued())
                    .description("Alerts waiting for delivery").tag("target", cfg.name()).tag("kind", kind).register(registry);
        }

        synchronized int queued() {
            return cfg.kind() == TargetConfig.Kind.ALERTMANAGER ? latest.size() : changes.size();
        }

        synchronized void enqueue(List<AlertNotification> ns) {
            long now = clock.millis();
            for (AlertNotification n : ns) {
                if (!cfg.accepts(n.tenant())) {
                    continue;
                }
                if (cfg.kind() == TargetConfig.Kind.ALERTMANAGER) {
                    latest.remove(n.identity());
                    latest.put(n.identity(), n);
                    while (latest.size() > config.maxQueue()) {
                        Iterator<String> it = latest.keySet().iterator();
                        it.next();
                        it.remove();
                        dropped(droppedFull, 1);
                    }
                } else {
                    String id = n.identity();
                    String key = n.status() + "@" + n.startsAt();
                    if (key.equals(lastKey.get(id))) {
                        dupCount++;
                        duplicates.increment();
                        continue;
                    }
                    lastKey.put(id, key);
                    lastKeyExpiry.put(id, n.resolved() ? n.endsAt() + DEDUP_RETENTION_MS : Long.MAX_VALUE);
                    changes.addLast(n);
                    while (changes.size() > config.maxQueue()) {
                        changes.removeFirst();
                        dropped(droppedFull, 1);
                    }
                }
            }
            // forget dedup keys of long-resolved alerts
            lastKeyExpiry.entrySet().removeIf(e -> {
                if (e.getValue() < now) {
                    lastKey.remove(e.getKey());
                    return true;
                }
                return false;
            });
        }

        private void dropped(Counter c, int n) {
            droppedCount += n;
            c.increment(n);
        }

        synchronized long nextAttemptIfQueued(long now) {
            if (queued() == 0) {
                return Long.MAX_VALUE;
            }
            return Math.max(now, nextAttempt);
        }

        int deliverIfDue(long now) {
            List<AlertNotification> batch;
            synchronized (this) {
                if (queued() == 0 || now < nextAttempt) {
                    return 0;
                }
                batch = new ArrayList<>();
                if (cfg.kind() == TargetConfig.Kind.ALERTMANAGER) {
                    for (AlertNotification n : latest.values()) {
                        if (batch.size() >= config.batchSize()) {
                            break;
                        }
                        batch.add(n);
                    }
                } else {
                    String tenant = changes.peekFirst().tenant();
                    for (AlertNotification n : changes) {
                        if (batch.size() >= config.batchSize() || !n.tenant().equals(tenant)) {
                            break;
                        }
                        batch.add(n);
                    }
                }
                lastAttempt = now;
            }
            Outcome o = post(batch);
            synchronized (this) {
                if (o == Outcome.OK || o == Outcome.REJECTED) {
                    if (cfg.kind() == TargetConfig.Kind.ALERTMANAGER) {
                        for (AlertNotification n : batch) {
                            latest.remove(n.identity(), n);
                        }
                    } else {
                        for (int i = 0; i < batch.size(); i++) {
                            changes.pollFirst();
                        }
                    }
                    consecutiveFailures = 0;
                    nextAttempt = Long.MIN_VALUE;
                    if (o == Outcome.OK) {
                        lastSuccess = now;
                        sentCount += batch.size();
                        sent.increment(batch.size());
                        return batch.size();
                    }
                    dropped(droppedRejected, batch.size());
                    return 0;
                }
                consecutiveFailures++;
                failedCount++;
                failed.increment();
                long delay = config.backoffInitial().toMillis();
                for (int i = 1; i < consecutiveFailures && delay < config.backoffMax().toMillis(); i++) {
                    delay *= 2;
                }
                delay = Math.min(delay, config.backoffMax().toMillis());
                nextAttempt = now + delay;
                return 0;
            }
        }

        private enum Outcome { OK, RETRY, REJECTED }

        private Outcome post(List<AlertNotification> batch) {
            byte[] body;
            try {
                body = JSON.writeValueAsBytes(cfg.kind() == TargetConfig.Kind.ALERTMANAGER ? amPayload(batch) : webhookPayload(batch));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            HttpRequest.Builder rb = HttpRequest.newBuilder(cfg.endpoint()).timeout(config.requestTimeout())
                    .header("Content-Type", "application/json").header("User-Agent", "vigil-alerting")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body));
            cfg.headers().forEach(rb::header);
            try {
                HttpResponse<String> r = http.send(rb.build(), HttpResponse.BodyHandlers.ofString());
                int sc = r.statusCode();
                if (sc / 100 == 2) {
                    return Outcome.OK;
                }
                String msg = "HTTP " + sc + ": " + truncate(r.body());
                synchronized (this) {
                    lastError = msg;
                }
                if (sc / 100 == 4 && sc != 429 && sc != 408) {
                    log.warn("notification rejected target={} alerts={} error={}", cfg.name(), batch.size(), msg);
                    return Outcome.REJECTED;
                }
                log.warn("notification failed target={} alerts={} error={}", cfg.name(), batch.size(), msg);
                return Outcome.RETRY;
            } catch (IOException e) {
                synchronized (this) {
                    lastError = e.toString();
                }
                log.warn("notification failed target={} alerts={} error={}", cfg.name(), batch.size(), e.toString());
                return Outcome.RETRY;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                synchronized (this) {
                    lastError = "interrupted";
                }
                return Outcome.RETRY;
            }
        }

        synchronized TargetStatus status() {
            // shown to every tenant the target serves: no token or password a URL carries
            return new TargetStatus(cfg.name(), cfg.kind().name().toLowerCase(), Redact.urls(cfg.endpoint().toString()), queued(), sentCount,
                    failedCount, droppedCount, dupCount, consecutiveFailures, lastError,
                    lastAttempt == Alert.NONE ? null : Times.rfc3339(lastAttempt),
                    lastSuccess == Alert.NONE ? null : Times.rfc3339(lastSuccess),
                    nextAttempt == Long.MIN_VALUE ? null : Times.rfc3339(nextAttempt));
        }
    }

    private static String truncate(String s) {
        if (s == null) {
            return "";
        }
        s = s.strip();
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    static List<Map<String, Object>> amPayload(List<AlertNotification> batch) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (AlertNotification n : batch) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("labels", new TreeMap<>(n.labels()));
            m.put("annotations", new TreeMap<>(n.annotations()));
            m.put("startsAt", Times.rfc3339(n.startsAt()));
            m.put("endsAt", Times.rfc3339(n.endsAt()));
            m.put("generatorURL", n.generatorURL());
            out.add(m);
        }
        return out;
    }

    private Map<String, Object> webhookPayload(List<AlertNotification> batch) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", "4");
        m.put("receiver", "vigil");
        m.put("tenant", batch.get(0).tenant());
        m.put("status", batch.stream().anyMatch(n -> !n.resolved()) ? "firing" : "resolved");
        List<Map<String, Object>> alerts = new ArrayList<>();
        Map<String, String> common = null;
        for (AlertNotification n : batch) {
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("status", n.status());
            a.put("labels", new TreeMap<>(n.labels()));
            a.put("annotations", new TreeMap<>(n.annotations()));
            a.put("startsAt", Times.rfc3339(n.startsAt()));
            a.put("endsAt", n.resolved() ? Times.rfc3339(n.endsAt()) : Times.GO_ZERO);
            a.put("generatorURL", n.generatorURL());
            a.put("fingerprint", n.fingerprint());
            alerts.add(a);
            if (common == null) {
                common = new TreeMap<>(n.labels());
            } else {
                common.entrySet().removeIf(e -> !e.getValue().equals(n.labels().get(e.getKey())));
            }
        }
        m.put("alerts", alerts);
        m.put("commonLabels", common);
        m.put("externalURL", config.externalURL());
        return m;
    }

    // ------------------------------------------------------------------ persistence

    private record PersistedTarget(List<AlertNotification> queued, Map<String, String> lastKey, Map<String, Long> lastKeyExpiry) {
    }

    private synchronized void saveState() {
        if (stateFile == null) {
            return;
        }
        Map<String, PersistedTarget> m = new LinkedHashMap<>();
        for (Target t : targets) {
            synchronized (t) {
                List<AlertNotification> q = t.cfg.kind() == TargetConfig.Kind.ALERTMANAGER ? new ArrayList<>(t.latest.values())
                        : new ArrayList<>(t.changes);
                m.put(t.cfg.name(), new PersistedTarget(q, new HashMap<>(t.lastKey), new HashMap<>(t.lastKeyExpiry)));
            }
        }
        try {
            Files.createDirectories(stateFile.toAbsolutePath().getParent());
            Path tmp = stateFile.resolveSibling(stateFile.getFileName() + ".tmp");
            Files.write(tmp, JSON.writeValueAsBytes(m));
            Files.move(tmp, stateFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            log.warn("cannot write notifier state file={} error={}", stateFile, e.toString());
        }
    }

    private void loadState() {
        if (stateFile == null || !Files.exists(stateFile)) {
            return;
        }
        try {
            Map<String, PersistedTarget> m = JSON.readValue(stateFile.toFile(), new TypeReference<Map<String, PersistedTarget>>() {
            });
            for (Target t : targets) {
                PersistedTarget p = m.get(t.cfg.name());
                if (p == null) {
                    continue;
                }
                synchronized (t) {
                    for (AlertNotification n : p.queued()) {
                        if (t.cfg.kind() == TargetConfig.Kind.ALERTMANAGER) {
                            t.latest.put(n.identity(), n);
                        } else {
                            t.changes.addLast(n);
                        }
                    }
                    t.lastKey.putAll(p.lastKey());
                    t.lastKeyExpiry.putAll(p.lastKeyExpiry());
                }
            }
            log.info("notifier state restored file={}", stateFile);
        } catch (IOException | RuntimeException e) {
            log.warn("cannot read notifier state file={} error={}", stateFile, e.toString());
        }
    }
}
