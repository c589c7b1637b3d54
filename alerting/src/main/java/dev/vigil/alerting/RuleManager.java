package dev.vigil.alerting;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.alerting.rules.GroupDef;
import dev.vigil.alerting.rules.RuleFileException;
import dev.vigil.alerting.rules.RuleFiles;
import dev.vigil.alerting.store.AlertStateStore;
import dev.vigil.alerting.store.RuleStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Loads rule groups per tenant (from rule files and from the {@link RuleStore}), evaluates each
 * group at its interval on the injected clock, persists alert state after every evaluation and
 * restores it on startup, and applies rule changes made through the API.
 *
 * <p>Lifecycle: construct, {@link #load()} (validates files, restores state), then either
 * {@link #start()} (a scheduler calls {@link #tick()} every {@code config.tick()}) or drive
 * {@link #tick()} yourself with a controlled clock (tests).
 */
public final class RuleManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RuleManager.class);

    private final AlertingConfig config;
    private final QueryEngine engine;
    private final SeriesWriter writer;
    private final AlertSink sink;
    private final RuleStore store;
    private final AlertStateStore stateStore;
    private final Supplier<? extends Collection<String>> knownTenants;
    private final Clock clock;
    private final ExecutorService evalPool;
    private ScheduledExecutorService scheduler;
    private final Object lock = new Object();
    /** tenant -> group key -> group, in display order. Replaced copy-on-write. */
    private volatile Map<String, Map<String, RuleGroup>> groups = Map.of();
    private final Map<String, List<GroupDef>> fileGroups = new LinkedHashMap<>();
    private boolean loaded;

    private final Counter evaluations;
    private final Counter failures;
    private final Counter missed;
    private final AtomicLong lastTickMillis = new AtomicLong(Alert.NONE);

    public RuleManager(AlertingConfig config, QueryEngine engine, SeriesWriter writer, AlertSink sink, RuleStore store,
                       AlertStateStore stateStore, Supplier<? extends Collection<String>> knownTenants, Clock clock,
                       MeterRegistry registry) {
        this.config = config;
        this.engine = engine;
        this.writer = writer;
        this.sink = sink;
        this.store = store;
        this.stateStore = stateStore;
        this.knownTenants = knownTenants;
        this.clock = clock;
        this.evalPool = Executors.newFixedThreadPool(Math.max(1, config.evalThreads()),
                Thread.ofPlatform().daemon().name("rule-eval-", 0).factory());
        evaluations = Counter.builder("vigil.alerting.rule.group.evaluations").description("Rule group evaluations").register(registry);
        failures = Counter.builder("vigil.alerting.rule.evaluation.failures").description("Failed rule evaluations").register(registry);
        missed = Counter.builder("vigil.alerting.rule.group.iterations.missed")
                .description("Group evaluations skipped because the evaluator was late").register(registry);
        Gauge.builder("vigil.alerting.alerts", this, m -> m.countAlerts(AlertState.FIRING)).tag("state", "firing")
                .description("Alerts by state").register(registry);
        Gauge.builder("vigil.alerting.alerts", this, m -> m.countAlerts(AlertState.PENDING)).tag("state", "pending")
                .description("Alerts by state").register(registry);
        Gauge.builder("vigil.alerting.rule.groups", this, m -> m.groups.values().stream().mapToInt(Map::size).sum())
                .description("Loaded rule groups").register(registry);
    }

    public AlertingConfig config() {
        return config;
    }

    public QueryEngine engine() {
        return engine;
    }

    // ------------------------------------------------------------------ loading

    /** Reads and validates the rule files, builds every tenant's groups and restores persisted alert state. */
    public void load() {
        synchronized (lock) {
            fileGroups.clear();
            for (AlertingConfig.FileSource fs : config.ruleFiles()) {
                for (Path f : expand(fs.path())) {
                    String text;
                    try {
                        text = Files.readString(f, StandardCharsets.UTF_8);
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot read rule file " + f, e);
                    }
                    List<GroupDef> defs = RuleFiles.parseFile(f.toString(), text, this::validateExpr);
                    fileGroups.put(fs.tenant() + "\u0000" + f, defs);
                    log.info("rule file loaded tenant={} file={} groups={}", fs.tenant(), f, defs.size());
                }
            }
            loaded = true;
            Map<String, Map<String, RuleGroup>> next = new LinkedHashMap<>();
            for (String tenant : tenants()) {
                next.put(tenant, build(tenant, Map.of(), true));
            }
            groups = next;
        }
    }

    private static List<Path> expand(Path p) {
        if (Files.isDirectory(p)) {
            try (Stream<Path> s = Files.list(p)) {
                return s.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")).filter(Files::isRegularFile)
                        .sorted().toList();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list rule directory " + p, e);
            }
        }
        if (!Files.isRegularFile(p)) {
            throw new UncheckedIOException(new IOException("rule file " + p + " does not exist"));
        }
        return List.of(p);
    }

    void validateExpr(String expr) {
        engine.validate(expr);
    }

    private Set<String> tenants() {
        Set<String> t = new TreeSet<>(knownTenants.get());
        t.addAll(store.tenants());
        for (AlertingConfig.FileSource fs : config.ruleFiles()) {
            if (!fs.allTenants()) {
                t.add(fs.tenant());
            }
        }
        return t;
    }

    /** True if the namespace is a rule file of the tenant (read-only through the API). */
    public boolean isFileNamespace(String tenant, String namespace) {
        synchronized (lock) {
            for (Map.Entry<String, List<GroupDef>> e : fileGroups.entrySet()) {
                String[] k = e.getKey().split("\u0000", 2);
                if ((k[0].equals("*") || k[0].equals(tenant)) && k[1].equals(namespace)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** Builds the groups of a tenant, reusing unchanged groups and carrying state over changed ones. */
    private Map<String, RuleGroup> build(String tenant, Map<String, RuleGroup> old, boolean restore) {
        Map<String, RuleGroup> out = new LinkedHashMap<>();
        List<RuleGroup> fresh = new ArrayList<>();
        for (Map.Entry<String, List<GroupDef>> e : fileGroups.entrySet()) {
            String[] k = e.getKey().split("\u0000", 2);
            if (!k[0].equals("*") && !k[0].equals(tenant)) {
                continue;
            }
            for (GroupDef d : e.getValue()) {
                fresh.add(newGroup(tenant, k[1], d));
            }
        }
        for (RuleStore.StoredGroup sg : store.current(tenant)) {
            try {
                GroupDef d = RuleFiles.parseGroup(sg.namespace() + "/" + sg.group(), sg.yaml(), this::validateExpr);
                fresh.add(newGroup(tenant, sg.namespace(), d));
            } catch (RuleFileException e) {
                log.error("stored rule group invalid, skipped tenant={} namespace={} group={} error={}", tenant, sg.namespace(),
                        sg.group(), e.getMessage());
            }
        }
        long now = clock.millis();
        for (RuleGroup g : fresh) {
            RuleGroup prev = old.get(g.key());
            if (prev != null && prev.def().equals(g.def())) {
                out.put(g.key(), prev);
                continue;
            }
            if (prev != null) {
                g.copyStateFrom(prev);
            } else if (restore) {
                Optional<GroupState> st = stateStore.load(g.key());
                if (st.isPresent()) {
                    int n = g.restore(st.get(), g.evalTimestamp(now), config.outageTolerance().toMillis(),
                            config.forGracePeriod().toMillis());
                    if (n > 0) {
                        log.info("alert state restored tenant={} group={} alerts={}", tenant, g.name(), n);
                    }
                }
            }
            if (out.putIfAbsent(g.key(), g) != null) {
                log.warn("duplicate rule group ignored tenant={} key={}", tenant, g.key());
            }
        }
        for (Map.Entry<String, RuleGroup> e : old.entrySet()) {
            if (!out.containsKey(e.getKey())) {
                e.getValue().markStale(now, writer);
                stateStore.delete(e.getKey());
                log.info("rule group removed tenant={} group={}", tenant, e.getValue().name());
            }
        }
        return out;
    }

    private RuleGroup newGroup(String tenant, String namespace, GroupDef d) {
        return new RuleGroup(tenant, namespace, d, config.defaultInterval().toMillis(), config.externalLabels(), config.externalURL());
    }

    /** Rebuilds one tenant's groups from files and store (after an API change). */
    public void reloadTenant(String tenant) {
        synchronized (lock) {
            Map<String, Map<String, RuleGroup>> next = new LinkedHashMap<>(groups);
            next.put(tenant, build(tenant, groups.getOrDefault(tenant, Map.of()), true));
            groups = next;
        }
    }

    /** Adds groups for tenants that appeared since the last check (new API keys). */
    private void refreshTenants() {
        Set<String> ts = tenants();
        if (groups.keySet().containsAll(ts)) {
            return;
        }
        synchronized (lock) {
            Map<String, Map<String, RuleGroup>> next = new LinkedHashMap<>(groups);
            for (String t : ts) {
                if (!next.containsKey(t)) {
                    next.put(t, build(t, Map.of(), true));
                }
            }
            groups = next;
        }
    }

    // ------------------------------------------------------------------ API-managed groups

    /** Validates and stores a group (a new version), then applies it. Returns the stored version. */
    public RuleStore.StoredGroup putGroup(String tenant, String namespace, String yaml) {
        GroupDef d = RuleFiles.parseGroup(namespace, yaml, this::validateExpr);
        if (isFileNamespace(tenant, namespace)) {
            throw new IllegalStateException("namespace " + namespace + " is loaded from a rule file and is read-only");
        }
        RuleStore.StoredGroup sg = store.put(tenant, namespace, d.name(), RuleFiles.groupToYaml(d));
        reloadTenant(tenant);
        log.info("rule group stored tenant={} namespace={} group={} version={}", tenant, namespace, d.name(), sg.version());
        return sg;
    }

    /** Deletes a stored group; false if it did not exist. */
    public boolean deleteGroup(String tenant, String namespace, String group) {
        if (isFileNamespace(tenant, namespace)) {
            throw new IllegalStateException("namespace " + namespace + " is loaded from a rule file and is read-only");
        }
        boolean found = store.delete(tenant, namespace, group).isPresent();
        if (found) {
            reloadTenant(tenant);
        }
        return found;
    }

    /** Deletes every stored group of a namespace; returns how many. */
    public int deleteNamespace(String tenant, String namespace) {
        if (isFileNamespace(tenant, namespace)) {
            throw new IllegalStateException("namespace " + namespace + " is loaded from a rule file and is read-only");
        }
        int n = 0;
        for (RuleStore.StoredGroup sg : store.current(tenant)) {
            if (sg.namespace().equals(namespace) && store.delete(tenant, namespace, sg.group()).isPresent()) {
                n++;
            }
        }
        if (n > 0) {
            reloadTenant(tenant);
        }
        return n;
    }

    public RuleStore store() {
        return store;
    }

    // ------------------------------------------------------------------ evaluation

    /** Starts the scheduler thread. */
    public RuleManager start() {
        if (!loaded) {
            load();
        }
        scheduler = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("rule-scheduler").factory());
        long period = Math.max(10, config.tick().toMillis());
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                tick();
            } catch (RuntimeException e) {
                log.error("rule scheduler tick failed error={}", e.toString(), e);
            }
        }, 0, period, TimeUnit.MILLISECONDS);
        return this;
    }

    /**
     * Evaluates every group that is due at the clock's current time (its aligned evaluation time
     * is after its last evaluation), at that aligned time. Returns the number of groups evaluated.
     */
    public int tick() {
        if (!loaded) {
            load();
        }
        refreshTenants();
        long now = clock.millis();
        lastTickMillis.set(now);
        List<Future<?>> fs = new ArrayList<>();
        int n = 0;
        for (Map<String, RuleGroup> tg : groups.values()) {
            for (RuleGroup g : tg.values()) {
                long ts = g.evalTimestamp(now);
                long last = g.lastEvaluation();
                if (last != Alert.NONE && ts <= last) {
                    continue;
                }
                if (last != Alert.NONE && ts - last > g.intervalMillis()) {
                    missed.increment((ts - last) / g.intervalMillis() - 1);
                }
                n++;
                fs.add(evalPool.submit(() -> evaluate(g, ts)));
            }
        }
        for (Future<?> f : fs) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (java.util.concurrent.ExecutionException e) {
                log.error("group evaluation crashed error={}", e.getCause().toString(), e.getCause());
            }
        }
        return n;
    }

    /** Evaluates one group at {@code ts} and persists its state. */
    public void evaluate(RuleGroup g, long ts) {
        RuleGroup.EvalOutcome o = g.eval(ts, engine, writer, sink, config.resendDelay().toMillis());
        evaluations.increment();
        if (o.failures() > 0) {
            failures.increment(o.failures());
        }
        try {
            stateStore.save(g.key(), g.snapshot());
        } catch (RuntimeException e) {
            log.warn("cannot persist alert state group={} error={}", g.key(), e.toString());
        }
    }

    // ------------------------------------------------------------------ reads

    /** The groups of a tenant, in display order. */
    public List<RuleGroup> groups(String tenant) {
        refreshTenantsQuietly();
        return List.copyOf(groups.getOrDefault(tenant, Map.of()).values());
    }

    private void refreshTenantsQuietly() {
        try {
            refreshTenants();
        } catch (RuntimeException e) {
            log.warn("tenant refresh failed error={}", e.toString());
        }
    }

    public Set<String> loadedTenants() {
        return groups.keySet();
    }

    /** Pending and firing alerts of a tenant. */
    public List<Alert> alerts(String tenant) {
        List<Alert> out = new ArrayList<>();
        for (RuleGroup g : groups(tenant)) {
            for (Rule r : g.rules()) {
                if (r instanceof AlertingRule ar) {
                    out.addAll(ar.activeAlerts());
                }
            }
        }
        return out;
    }

    private double countAlerts(AlertState s) {
        int n = 0;
        for (Map<String, RuleGroup> tg : groups.values()) {
            for (RuleGroup g : tg.values()) {
                for (Rule r : g.rules()) {
                    if (r instanceof AlertingRule ar) {
                        for (Alert a : ar.activeAlerts()) {
                            if (a.state() == s) {
                                n++;
                            }
                        }
                    }
                }
            }
        }
        return n;
    }

    public long lastTick() {
        return lastTickMillis.get();
    }

    @Override
    public void close() {
        if (scheduler != null) {
            scheduler.shutdownNow();
            try {
                scheduler.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        evalPool.shutdown();
        try {
            evalPool.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // State is persisted after every evaluation; nothing to flush here.
    }
}
