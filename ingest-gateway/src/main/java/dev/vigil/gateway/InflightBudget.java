package dev.vigil.gateway;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The global bound on request bytes the gateway holds at once (bodies being received, decoded
 * records, records awaiting Kafka's acknowledgement). Never blocks: a request that does not fit
 * is refused with 429, so memory stays bounded under any overload.
 */
public final class InflightBudget {
    private final long capacity;
    private final AtomicLong used = new AtomicLong();

    public InflightBudget(long capacity) {
        this.capacity = capacity;
    }

    public boolean tryAcquire(long n) {
        if (n <= 0) {
            return true;
        }
        while (true) {
            long u = used.get();
            if (u + n > capacity) {
                return false;
            }
            if (used.compareAndSet(u, u + n)) {
                return true;
            }
        }
    }

    public void release(long n) {
        if (n > 0) {
            used.addAndGet(-n);
        }
    }

    public long used() {
        return used.get();
    }

    public long capacity() {
        return capacity;
    }
}
