package dev.vigil.alerting;

import java.util.Locale;

/** Prometheus' alert states. A resolved alert is an inactive one with a resolved time. */
public enum AlertState {
    INACTIVE, PENDING, FIRING;

    /** "inactive", "pending", "firing" as in the Prometheus API. */
    public String apiName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
