package dev.vigil.common.service;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Readiness of a service: a set of named checks, all of which must pass. Liveness is simply
 * "the process answers HTTP".
 */
public final class Health {
    /** The outcome of one check. */
    public record Check(boolean ok, String detail) {
        public static Check ok(String detail) {
            return new Check(true, detail);
        }

        public static Check fail(String detail) {
            return new Check(false, detail);
        }
    }

    private final Map<String, Supplier<Check>> checks = new ConcurrentHashMap<>();
    private volatile boolean shuttingDown;

    public Health register(String name, Supplier<Check> check) {
        checks.put(name, check);
        return this;
    }

    public void markShuttingDown() {
        shuttingDown = true;
    }

    public Map<String, Check> evaluate() {
        Map<String, Check> out = new LinkedHashMap<>();
        if (shuttingDown) {
            out.put("lifecycle", Check.fail("shutting down"));
        }
        checks.forEach((name, s) -> {
            try {
                out.put(name, s.get());
            } catch (RuntimeException e) {
                out.put(name, Check.fail(e.toString()));
            }
        });
        return out;
    }

    public boolean ready() {
        return evaluate().values().stream().allMatch(Check::ok);
    }
}
