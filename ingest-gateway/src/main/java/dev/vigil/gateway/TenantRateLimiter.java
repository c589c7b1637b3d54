package dev.vigil.gateway;

import java.util.concurrent.ConcurrentHashMap;

/** Per-tenant token bucket over items (events + samples) per second. Rate 0 = unlimited. */
public final class TenantRateLimiter {
    private final double rate;
    private final double burst;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    public TenantRateLimiter(double ratePerSecond, double burstSeconds) {
        this.rate = ratePerSecond;
        this.burst = Math.max(1, ratePerSecond * burstSeconds);
    }

    /** 0 when granted, else the seconds to wait before retrying (at least 1). */
    public int tryAcquire(String tenant, int items) {
        if (rate <= 0 || items <= 0) {
            return 0;
        }
        Bucket b = buckets.computeIfAbsent(tenant, t -> new Bucket(burst));
        synchronized (b) {
            long now = System.nanoTime();
            b.tokens = Math.min(burst, b.tokens + (now - b.last) / 1e9 * rate);
            b.last = now;
            if (items > burst) {
                // Never satisfiable in one go: accept when the bucket is full, so huge batches are not starved forever.
                if (b.tokens >= burst) {
                    b.tokens -= items;
                    return 0;
                }
            } else if (b.tokens >= items) {
                b.tokens -= items;
                return 0;
            }
            double deficit = Math.min(items, burst) - b.tokens;
            return (int) Math.max(1, Math.ceil(deficit / rate));
        }
    }

    private static final class Bucket {
        double tokens;
        long last = System.nanoTime();

        Bucket(double tokens) {
            this.tokens = tokens;
        }
    }
}
