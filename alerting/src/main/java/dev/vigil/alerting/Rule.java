package dev.vigil.alerting;

import java.util.List;

import dev.vigil.alerting.rules.RuleDef;

/** A loaded rule with its runtime state (health, last error, evaluation time). */
public sealed interface Rule permits AlertingRule, RecordingRule {
    String name();

    RuleDef def();

    /** Evaluates at {@code ts} and returns the samples to write (recording output or ALERTS series). */
    List<SeriesWriter.Sample> eval(String tenant, long ts, QueryEngine engine, int limit);

    /** The last evaluation's outcome. */
    RuleStatus status();

    default RuleHealth health() {
        return status().snapshot().health();
    }

    default String lastError() {
        return status().snapshot().lastError();
    }

    default long lastEvaluation() {
        return status().snapshot().lastEvaluation();
    }

    default long evaluationNanos() {
        return status().snapshot().evaluationNanos();
    }

    default void recordOutcome(long ts, long nanos, String error) {
        status().record(ts, nanos, error);
    }

    /** Rule health as in the Prometheus API. */
    enum RuleHealth {
        UNKNOWN("unknown"), OK("ok"), ERR("err");

        private final String api;

        RuleHealth(String api) {
            this.api = api;
        }

        public String apiName() {
            return api;
        }
    }
}
