package dev.vigil.alerting;

import java.util.List;

/** Receives the alerts a group evaluation decided to send (Prometheus' NotifyFunc). */
@FunctionalInterface
public interface AlertSink {
    /**
     * @param tenant the tenant whose rule produced the alerts
     * @param expr   the rule expression (for the generator URL)
     * @param alerts firing or resolved alerts, copies
     */
    void send(String tenant, String expr, List<Alert> alerts);

    AlertSink NONE = (tenant, expr, alerts) -> {
    };
}
