package dev.vigil.alerting;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.alerting.rules.AlertingRuleDef;
import dev.vigil.alerting.rules.GroupDef;
import dev.vigil.alerting.rules.RecordingRuleDef;
import dev.vigil.alerting.rules.RuleDef;

/**
 * A loaded rule group of one tenant: its rules evaluated in order at each interval (Prometheus'
 * rules.Group). Writes rule outputs and staleness markers through the {@link SeriesWriter} and
 * hands alerts to send to the {@link AlertSink}.
 */
public final class RuleGroup {
    private static final Logger log = LoggerFactory.getLogger(RuleGroup.class);

    private final String tenant;
    private final String namespace;
    private final GroupDef def;
    private final long intervalMs;
    private final List<Rule> rules;
    private final List<Set<LabelSet>> seriesInPreviousEval;
    private long lastEvaluation = Alert.NONE;
    private long evaluationNanos;

    public RuleGroup(String tenant, String namespace, GroupDef def, long defaultIntervalMs,
                     Map<String, String> externalLabels, String externalURL) {
        this.tenant = tenant;
        this.namespace = namespace;
        this.def = def;
        this.intervalMs = def.intervalMillis() > 0 ? def.intervalMillis() : defaultIntervalMs;
        List<Rule> rs = new ArrayList<>();
        List<Set<LabelSet>> prev = new ArrayList<>();
        for (RuleDef r : def.rules()) {
            rs.add(switch (r) {
                case AlertingRuleDef a -> new AlertingRule(a, externalLabels, externalURL);
                case RecordingRuleDef rr -> new RecordingRule(rr);
            });
            prev.add(new HashSet<>());
        }
        this.rules = List.copyOf(rs);
        this.seriesInPreviousEval = prev;
    }

    public String tenant() {
        return tenant;
    }

    /** The namespace (for file-loaded rules: the file path). */
    public String namespace() {
        return namespace;
    }

    public String name() {
        return def.name();
    }

    public GroupDef def() {
        return def;
    }

    public long intervalMillis() {
        return intervalMs;
    }

    public List<Rule> rules() {
        return rules;
    }

    public String key() {
        return tenant + "/" + namespace + ";" + def.name();
    }

    public synchronized long lastEvaluation() {
        return lastEvaluation;
    }

    public synchronized long evaluationNanos() {
        return evaluationNanos;
    }

    /**
     * Prometheus' EvalTimestamp: the latest evaluation instant at or before {@code now}, with a
     * per-group offset within the interval derived from the group key so groups spread out.
     */
    public long evalTimestamp(long now) {
        long offset = Math.floorMod(fnv(key()), intervalMs);
        long adj = now - offset;
        return adj - Math.floorMod(adj, intervalMs) + offset;
    }

    private static long fnv(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    /** Evaluation outcome counts, for metrics. */
    public record EvalOutcome(int rules, int failures, int samples) {
    }

    /** Evaluates every rule at {@code ts}, writes outputs and sends alerts. */
    public synchronized EvalOutcome eval(long ts, QueryEngine engine, SeriesWriter writer, AlertSink sink, long resendDelayMs) {
        long t0 = System.nanoTime();
        int failures = 0;
        int samples = 0;
        for (int i = 0; i < rules.size(); i++) {
            Rule rule = rules.get(i);
            long r0 = System.nanoTime();
            List<SeriesWriter.Sample> vector;
            try {
                vector = rule.eval(tenant, ts, engine, def.limit());
            } catch (RuntimeException e) {
                failures++;
                String msg = e.getMessage() == null ? e.toString() : e.getMessage();
                rule.recordOutcome(ts, System.nanoTime() - r0, msg);
                log.warn("rule evaluation failed tenant={} group={} rule={} error={}", tenant, def.name(), rule.name(), msg);
                continue;
            }
            rule.recordOutcome(ts, System.nanoTime() - r0, null);
            samples += vector.size();
            if (rule instanceof AlertingRule ar) {
                List<Alert> toSend = ar.alertsToSend(ts, resendDelayMs, intervalMs);
                if (!toSend.isEmpty()) {
                    try {
                        sink.send(tenant, ar.def().expr(), toSend);
                    } catch (RuntimeException e) {
                        log.warn("alert sink failed tenant={} rule={} error={}", tenant, rule.name(), e.toString());
                    }
                }
            }
            Set<LabelSet> returned = new HashSet<>();
            List<SeriesWriter.Sample> out = new ArrayList<>(vector);
            for (SeriesWriter.Sample s : vector) {
                returned.add(s.labels());
            }
            for (LabelSet prev : seriesInPreviousEval.get(i)) {
                if (!returned.contains(prev)) {
                    out.add(new SeriesWriter.Sample(prev, ts, SeriesWriter.STALE_NAN));
                }
            }
            seriesInPreviousEval.set(i, returned);
            if (!out.isEmpty()) {
                try {
                    writer.write(tenant, out);
                } catch (RuntimeException e) {
                    failures++;
                    rule.recordOutcome(ts, System.nanoTime() - r0, "writing results: " + e.getMessage());
                    log.warn("writing rule results failed tenant={} rule={} error={}", tenant, rule.name(), e.toString());
                }
            }
        }
        lastEvaluation = ts;
        evaluationNanos = System.nanoTime() - t0;
        return new EvalOutcome(rules.size(), failures, samples);
    }

    /** Writes staleness markers for everything the group returned last time (when it is removed). */
    public synchronized void markStale(long ts, SeriesWriter writer) {
        List<SeriesWriter.Sample> out = new ArrayList<>();
        for (Set<LabelSet> s : seriesInPreviousEval) {
            for (LabelSet l : s) {
                out.add(new SeriesWriter.Sample(l, ts, SeriesWriter.STALE_NAN));
            }
            s.clear();
        }
        if (!out.isEmpty()) {
            try {
                writer.write(tenant, out);
            } catch (RuntimeException e) {
                log.warn("writing staleness markers failed tenant={} group={} error={}", tenant, def.name(), e.toString());
            }
        }
    }

    /** The durable state of this group. */
    public synchronized GroupState snapshot() {
        List<GroupState.AlertRecord> recs = new ArrayList<>();
        for (Rule r : rules) {
            if (r instanceof AlertingRule ar) {
                for (Alert a : ar.allAlerts()) {
                    recs.add(GroupState.AlertRecord.of(a));
                }
            }
        }
        return new GroupState(lastEvaluation, recs);
    }

    /**
     * Restores alert state persisted before a restart, following Prometheus' RestoreForState:
     * nothing is restored when the group was last evaluated more than {@code outageToleranceMs}
     * ago; a firing alert stays firing (with its start time and last-sent time, so no duplicate
     * page); a pending alert keeps the pending time it had served (its active time moves forward
     * by the downtime), and if {@code gracePeriodMs} is positive and the rule's {@code for} is at
     * least that long, it fires no earlier than the grace period after the restart.
     *
     * @return the number of alerts restored
     */
    public synchronized int restore(GroupState state, long now, long outageToleranceMs, long gracePeriodMs) {
        if (state == null || state.alerts().isEmpty()) {
            return 0;
        }
        long downAt = state.lastEvaluation();
        if (downAt == Alert.NONE || now - downAt > outageToleranceMs) {
            log.info("not restoring alert state tenant={} group={}: last evaluation too old", tenant, def.name());
            return 0;
        }
        long downDuration = Math.max(0, now - downAt);
        List<Alert> pool = new ArrayList<>();
        for (GroupState.AlertRecord r : state.alerts()) {
            try {
                pool.add(r.toAlert());
            } catch (RuntimeException e) {
                log.warn("skipping unreadable persisted alert tenant={} group={} error={}", tenant, def.name(), e.toString());
            }
        }
        int restored = 0;
        for (Rule r : rules) {
            if (!(r instanceof AlertingRule ar)) {
                continue;
            }
            long hold = ar.def().forMillis();
            List<Alert> mine = new ArrayList<>();
            var it = pool.iterator();
            while (it.hasNext()) {
                Alert a = it.next();
                if (!ar.owns(a.labels)) {
                    continue;
                }
                it.remove();
                if (a.state == AlertState.PENDING) {
                    long spent = downAt - a.activeAt;
                    long remaining = hold - spent;
                    if (remaining > 0) {
                        if (gracePeriodMs > 0 && hold >= gracePeriodMs && remaining < gracePeriodMs) {
                            a.activeAt = now + gracePeriodMs - hold;
                        } else {
                            a.activeAt = a.activeAt + downDuration;
                        }
                    }
                }
                mine.add(a);
            }
            ar.restore(mine);
            restored += mine.size();
        }
        return restored;
    }

    /** Takes over the alert state and previous-series sets of an older version of this group (reload). */
    public synchronized void copyStateFrom(RuleGroup old) {
        Map<String, Integer> oldIdx = new HashMap<>();
        for (int i = 0; i < old.rules.size(); i++) {
            oldIdx.putIfAbsent(identity(old.rules.get(i).def()), i);
        }
        for (int i = 0; i < rules.size(); i++) {
            Integer j = oldIdx.remove(identity(rules.get(i).def()));
            if (j == null) {
                continue;
            }
            seriesInPreviousEval.set(i, new HashSet<>(old.seriesInPreviousEval.get(j)));
            if (rules.get(i) instanceof AlertingRule nr && old.rules.get(j) instanceof AlertingRule or) {
                nr.restore(or.allAlerts());
            }
        }
        lastEvaluation = old.lastEvaluation;
    }

    private static String identity(RuleDef d) {
        return (d instanceof AlertingRuleDef ? "alert:" : "record:") + d.name() + d.labels();
    }
}
