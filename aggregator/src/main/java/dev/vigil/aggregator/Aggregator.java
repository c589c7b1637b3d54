package dev.vigil.aggregator;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reconciles running job workers with the goal state in {@link GoalStore}: every
 * {@code reconcile-interval} (and right after each admin change) it starts declared jobs that
 * are not running, restarts jobs whose stored version changed, and stops jobs no longer
 * declared. Tenant limits are reloaded on the same loop.
 */
public final class Aggregator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Aggregator.class);

    public static final String KIND_JOB = "job";
    public static final String KIND_LIMITS = "tenant_limits";

    private final GoalStore store;
    private final WorkerSettings settings;
    private final TenantLimits defaultLimits;
    private final boolean createTopics;
    private final int topicPartitions;
    private final Map<String, JobWorker> workers = new ConcurrentHashMap<>();
    private final Map<String, String> declaredErrors = new ConcurrentHashMap<>();
    private volatile Map<String, TenantLimits> limits = Map.of();
    private volatile Map<String, GoalStore.Entry> declared = Map.of();
    private volatile String lastReconcileError;
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("aggregator-reconciler").daemon(true).factory());
    private volatile boolean closed;
    /**
     * Workers being stopped (a removed, replaced or refused version), by job name, each on a thread of its own: a worker
     * whose flush ClickHouse refuses takes 35-85 s to stop, and reconcile (so every admin change, and the restart of
     * other failed jobs) waited for it under its lock until 2026-11-28. A job's next version starts only once the
     * previous one has stopped (by the reconcile its stop triggers).
     */
    private final Map<String, Thread> stopping = new ConcurrentHashMap<>();

    /**
     * @param settingsWithoutLimits worker settings; its limits function is replaced by this aggregator's
     */
    public Aggregator(GoalStore store, WorkerSettings settingsWithoutLimits, TenantLimits defaultLimits, boolean createTopics, int topicPartitions) {
        this.store = store;
        this.defaultLimits = defaultLimits;
        this.createTopics = createTopics;
        this.topicPartitions = topicPartitions;
        WorkerSettings w = settingsWithoutLimits;
        this.settings = new WorkerSettings(w.ch(), w.deadLetterProducers(), w.registry(), new TenantLimits.Source() {
                    @Override
                    public TenantLimits apply(String tenant) {
                        return limitsFor(tenant);
                    }

                    @Override
                    public boolean declared(String tenant) {
                        return !"*".equals(tenant) && limits.containsKey(tenant);
                    }
                }, w.bootstrapServers(), w.groupPrefix(),
                w.deadLetterTopic(), w.deadLetterMaxBytes(), w.queueCapacity(), w.flushParallelism(), w.maxKeysPerFlush(), w.maxBytesPerFlush(), w.maxQueuedBytes(), w.seriesCacheBytes(), w.dedupMaxIds(), w.dedupWindowMs(), w.maxFutureMs(),
                w.seriesWindowMs(), w.maxOverflowMetrics(), w.maxMeasureNames(), w.maxTenants(), w.catchUpLag(), w.catchUpFlushIntervalMs(), w.instance(), w.consumerOverrides(), w.memory());
    }

    public TenantLimits limitsFor(String tenant) {
        Map<String, TenantLimits> l = limits;
        TenantLimits t = l.get(tenant);
        if (t == null) {
            t = l.get("*");
        }
        return t == null ? defaultLimits : t;
    }

    /** A declared job would write a rollup that another job already writes from the same topic. */
    public static final class JobConflictException extends Exception {
        public JobConflictException(String message) {
            super(message);
        }
    }

    /** Seeds default jobs on a store that never had any, then reconciles now and periodically. */
    public Aggregator start(List<JobSpec> seed, long intervalMs) throws Exception {
        if (!seed.isEmpty() && !store.anyEver(KIND_JOB)) {
            for (int i = 0; i < seed.size(); i++) {
                for (int k = 0; k < i; k++) {
                    List<String> both = seed.get(i).normalized().overlap(seed.get(k).normalized());
                    if (!both.isEmpty()) {
                        throw new IllegalArgumentException("seeded jobs " + seed.get(k).name() + " and " + seed.get(i).name() + " would both write "
                                + both + " from " + seed.get(i).source() + " (every event counted twice); give each rollup to one job");
                    }
                }
            }
            for (JobSpec j : seed) {
                store.put(KIND_JOB, j.name(), GoalStore.JSON.writeValueAsString(j.normalized()), false, "seed");
                log.info("event=job_seeded job={} source={}", j.name(), j.source());
            }
        }
        reconcile();
        loop.scheduleWithFixedDelay(this::reconcileQuietly, intervalMs, intervalMs, TimeUnit.MILLISECONDS);
        return this;
    }

    private void reconcileQuietly() {
        try {
            reconcile();
        } catch (Exception e) {
            lastReconcileError = e.toString();
            log.warn("event=reconcile_failed error=\"{}\"", e.toString());
        }
    }

    /** A stored job that already writes some of a spec's rollups from the same topic. */
    private record Overlap(String job, List<String> rollups) {
    }

    /**
     * The first of {@code others} (not the job itself, and only those {@code counts} admits) that
     * writes some of {@code spec}'s rollups from the same topic, or null. Invalid stored specs run
     * no worker and are skipped.
     */
    private static Overlap overlapWith(String self, JobSpec spec, Iterable<GoalStore.Entry> others, java.util.function.Predicate<GoalStore.Entry> counts) {
        for (GoalStore.Entry o : others) {
            if (o.name().equals(self) || !counts.test(o)) {
                continue;
            }
            try {
                List<String> both = spec.overlap(GoalStore.JSON.readValue(o.spec(), JobSpec.class).normalized());
                if (!both.isEmpty()) {
                    return new Overlap(o.name(), both);
                }
            } catch (Exception ignored) {
                // an invalid stored spec runs no worker
            }
        }
        return null;
    }

    /** Why {@code e} must not run: an earlier-declared job writes one of its rollups from the same topic; or null. */
    private static String overlapWithEarlier(GoalStore.Entry e, JobSpec spec, Map<String, GoalStore.Entry> want) {
        Overlap o = overlapWith(e.name(), spec, want.values(),
                x -> x.version() < e.version() || (x.version() == e.version() && x.name().compareTo(e.name()) < 0));
        return o == null ? null : "not started: job " + o.job() + " (declared earlier) already writes " + o.rollups() + " from " + spec.source();
    }

    /** Converges running workers to the stored goal state. */
    public synchronized void reconcile() throws Exception {
        if (closed) {
            return;
        }
        Map<String, TenantLimits> l = new LinkedHashMap<>();
        for (GoalStore.Entry e : store.current(KIND_LIMITS).values()) {
            try {
                l.put(e.name(), GoalStore.JSON.readValue(e.spec(), TenantLimits.class));
            } catch (Exception ex) {
                log.warn("event=bad_tenant_limits tenant={} version={} error=\"{}\"", e.name(), e.version(), ex.toString());
            }
        }
        limits = Map.copyOf(l);
        Map<String, GoalStore.Entry> want = store.current(KIND_JOB);
        declared = want;
        for (GoalStore.Entry e : want.values()) {
            JobWorker w = workers.get(e.name());
            if (w != null && w.version() == e.version() && w.state() != JobWorker.State.STOPPED && w.state() != JobWorker.State.FAILED) {
                continue;
            }
            if (w == null && stopping.containsKey(e.name())) {
                continue; // its previous version is still stopping; started by the reconcile that stop triggers
            }
            JobSpec spec;
            try {
                spec = GoalStore.JSON.readValue(e.spec(), JobSpec.class).normalized();
            } catch (Exception ex) {
                declaredErrors.put(e.name(), "invalid stored spec v" + e.version() + ": " + ex.getMessage());
                continue;
            }
            String clash = overlapWithEarlier(e, spec, want);
            if (clash != null) {
                // two instances (or two racing PUTs) stored overlapping jobs: the later one does not run
                if (!clash.equals(declaredErrors.get(e.name()))) {
                    log.error("event=job_refused job={} version={} error=\"{}\"", e.name(), e.version(), clash);
                }
                declaredErrors.put(e.name(), clash);
                if (w != null) {
                    workers.remove(e.name());
                    stopAsync(e.name(), w);
                }
                continue;
            }
            if (w != null) {
                log.info("event=job_restarting job={} from_version={} to_version={} state={}", e.name(), w.version(), e.version(), w.state());
                workers.remove(e.name());
                stopAsync(e.name(), w);
                continue; // started once the old version has stopped
            }
            if (createTopics) {
                ensureTopics(spec.source(), settings.deadLetterTopic());
            }
            try {
                workers.put(e.name(), new JobWorker(spec, e.version(), settings).start());
                declaredErrors.remove(e.name());
            } catch (RuntimeException ex) {
                // one job that cannot start (a spec stored by an older version's looser checks) must not stop the
                // others, nor the aggregator's start: it is reported as the job's error
                String err = "cannot start v" + e.version() + ": " + ex;
                if (!err.equals(declaredErrors.get(e.name()))) {
                    log.error("event=job_start_failed job={} version={} error=\"{}\"", e.name(), e.version(), ex.toString());
                }
                declaredErrors.put(e.name(), err);
            }
        }
        for (String name : new ArrayList<>(workers.keySet())) {
            if (!want.containsKey(name)) {
                JobWorker w = workers.remove(name);
                log.info("event=job_removed job={} version={}", name, w.version());
                stopAsync(name, w);
            }
        }
        lastReconcileError = null;
    }

    /** Stops {@code w} off the reconcile lock; when it has stopped, reconciles again (a next version may wait for it). */
    private void stopAsync(String name, JobWorker w) {
        Thread t = Thread.ofPlatform().name("job-stop-" + name).unstarted(() -> {
            try {
                w.close();
            } catch (RuntimeException ex) {
                log.warn("event=job_stop_failed job={} version={} error=\"{}\"", name, w.version(), ex.toString());
            } finally {
                stopping.remove(name, Thread.currentThread());
                if (!closed) {
                    try {
                        loop.execute(this::reconcileQuietly);
                    } catch (java.util.concurrent.RejectedExecutionException ignored) {
                        // closing
                    }
                }
            }
        });
        stopping.put(name, t);
        t.start();
    }

    /** Whether a stopped version of the job is still stopping (for tests and status). */
    public boolean stopping(String name) {
        return stopping.containsKey(name);
    }

    private Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000, AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15000));
    }

    /**
     * Whether the topic exists in Kafka now; null if Kafka could not be asked. For the admin API's warning about a
     * job whose source topic did not exist: a mistyped name would otherwise make a job that runs, healthy, on an empty
     * topic the aggregator created for it.
     */
    public Boolean topicExists(String topic) {
        try (Admin admin = admin()) {
            return admin.listTopics().names().get(15, TimeUnit.SECONDS).contains(topic);
        } catch (Exception e) {
            log.warn("event=topic_check_failed topics=[{}] error=\"{}\"", topic, e.toString());
            return null;
        }
    }

    /** {@code aggregator.create-topics}, and the partitions of the topics it creates. */
    public boolean createsTopics() {
        return createTopics;
    }

    public int topicPartitions() {
        return topicPartitions;
    }

    private void ensureTopics(String... topics) {
        try (Admin admin = admin()) {
            Set<String> existing = admin.listTopics().names().get(15, TimeUnit.SECONDS);
            for (String t : new HashSet<>(List.of(topics))) {
                if (!existing.contains(t)) {
                    try {
                        admin.createTopics(List.of(new NewTopic(t, topicPartitions, (short) 1))).all().get(15, TimeUnit.SECONDS);
                        log.info("event=topic_created topic={} partitions={}", t, topicPartitions);
                    } catch (java.util.concurrent.ExecutionException e) {
                        if (!(e.getCause() instanceof TopicExistsException)) {
                            throw e;
                        }
                    }
                }
            }
        } catch (Exception e) {
            log.warn("event=topic_check_failed topics={} error=\"{}\"", List.of(topics), e.toString());
        }
    }

    /**
     * Declares or changes a job.
     *
     * @throws JobConflictException if another declared job already writes one of its rollups from
     *                              the same topic (both would count every event)
     */
    public synchronized long putJob(JobSpec spec, String by) throws Exception {
        JobSpec n = spec.normalized();
        if (n.source().equals(settings.deadLetterTopic())) {
            // each record it cannot decode would be dead-lettered into the topic it reads, and read again, for ever
            throw new IllegalArgumentException("source must not be the dead-letter topic " + settings.deadLetterTopic());
        }
        Map<String, GoalStore.Entry> declaredNow = store.current(KIND_JOB); // one read for both checks below
        Overlap o = overlapWith(n.name(), n, declaredNow.values(), x -> true);
        if (o != null) {
            throw new JobConflictException("job " + o.job() + " already writes " + o.rollups() + " from " + n.source()
                    + "; two jobs writing the same rollup from one topic would count every event twice");
        }
        String json = GoalStore.JSON.writeValueAsString(n);
        GoalStore.Entry current = declaredNow.get(n.name());
        if (current != null && current.spec().equals(json)) {
            return current.version(); // the spec as it is: no new version, and no restart of its worker
        }
        long v = store.put(KIND_JOB, n.name(), json, false, by);
        reconcile();
        return v;
    }

    public boolean deleteJob(String name, String by) throws Exception {
        if (!store.current(KIND_JOB).containsKey(name)) {
            return false;
        }
        store.put(KIND_JOB, name, "{}", true, by);
        reconcile();
        return true;
    }

    public long putLimits(String tenant, TenantLimits l, String by) throws Exception {
        long v = store.put(KIND_LIMITS, tenant, GoalStore.JSON.writeValueAsString(l), false, by);
        reconcile();
        return v;
    }

    public boolean deleteLimits(String tenant, String by) throws Exception {
        if (!store.current(KIND_LIMITS).containsKey(tenant)) {
            return false;
        }
        store.put(KIND_LIMITS, tenant, "{}", true, by);
        reconcile();
        return true;
    }

    public GoalStore store() {
        return store;
    }

    public Map<String, JobWorker> workers() {
        return workers;
    }

    /** Every declared job with its runtime status. */
    public List<Map<String, Object>> jobStatus() {
        List<Map<String, Object>> out = new ArrayList<>();
        Set<String> names = new java.util.TreeSet<>(declared.keySet());
        names.addAll(workers.keySet());
        for (String n : names) {
            JobWorker w = workers.get(n);
            Map<String, Object> m;
            if (w != null) {
                m = w.status();
            } else {
                m = new LinkedHashMap<>();
                m.put("name", n);
                GoalStore.Entry e = declared.get(n);
                m.put("version", e == null ? null : e.version());
                m.put("state", stopping.containsKey(n) ? "stopping_previous_version" : "not_running");
                m.put("last_error", declaredErrors.get(n));
            }
            out.add(m);
        }
        return out;
    }

    public Map<String, TenantLimits> limits() {
        return limits;
    }

    public String lastReconcileError() {
        return lastReconcileError;
    }

    @Override
    public void close() {
        closed = true;
        loop.shutdownNow();
        synchronized (this) {
            List<Thread> stoppers = new ArrayList<>();
            for (JobWorker w : workers.values()) {
                stoppers.add(Thread.ofPlatform().start(w::close));
            }
            stoppers.addAll(stopping.values());
            for (Thread t : stoppers) {
                try {
                    t.join(90_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            workers.clear();
        }
    }
}
