package dev.vigil.alerting.notify;

import java.util.Map;

/**
 * One alert as sent to a target: labels (rule labels plus external labels and the tenant
 * label), annotations, start (when it fired), end (resolution time, or the validity horizon
 * while firing), the generator URL, and the tenant.
 */
public record AlertNotification(String tenant, Map<String, String> labels, Map<String, String> annotations,
                                long startsAt, long endsAt, boolean resolved, String generatorURL) {
    public AlertNotification {
        labels = Map.copyOf(labels);
        annotations = Map.copyOf(annotations);
    }

    /** The identity of the alert across notifications: tenant plus labels. */
    public String identity() {
        return tenant + "\u0000" + new java.util.TreeMap<>(labels);
    }

    public String status() {
        return resolved ? "resolved" : "firing";
    }

    /** Alertmanager's fingerprint of the label set (FNV-1a 64 over sorted name/value pairs, 0xff separated). */
    public String fingerprint() {
        long h = 0xcbf29ce484222325L;
        for (Map.Entry<String, String> e : new java.util.TreeMap<>(labels).entrySet()) {
            for (String part : new String[] {e.getKey(), e.getValue()}) {
                for (byte b : part.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
                    h ^= b & 0xff;
                    h *= 0x100000001b3L;
                }
                h ^= 0xff;
                h *= 0x100000001b3L;
            }
        }
        return String.format("%016x", h);
    }
}
