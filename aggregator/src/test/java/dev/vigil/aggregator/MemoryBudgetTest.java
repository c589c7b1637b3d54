package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The memory budget's arithmetic: what the fixed parts leave is shared by the partitions held, within the bounds. */
class MemoryBudgetTest {
    private static final long MIB = 1L << 20;

    private static MemoryBudget.Holder holder(long buffers, long retry, long caches, long queued, int partitions) {
        return new MemoryBudget.Holder() {
            public long flushBuffers() {
                return buffers;
            }

            public long retryStores() {
                return retry;
            }

            public long seriesCaches() {
                return caches;
            }

            public long queuedFlushes() {
                return queued;
            }

            public int partitions() {
                return partitions;
            }
        };
    }

    @Test
    void fewPartitionsKeepTheConfiguredFlushSize() {
        MemoryBudget b = new MemoryBudget(1024 * MIB);
        b.register(holder(10 * MIB, 4 * 40 * MIB, 64 * MIB, 0, 4));
        assertThat(b.bufferAllowance(b.totals(), 16 * MIB)).isEqualTo(16 * MIB);
    }

    @Test
    void manyPartitionsShareWhatTheRetryStoresLeave() {
        MemoryBudget b = new MemoryBudget(1024 * MIB);
        // two jobs of 16 partitions each with full retry stores (25 MiB each): 800 MiB fixed, 64 MiB of caches
        MemoryBudget.Holder events = holder(100 * MIB, 16 * 25 * MIB, 32 * MIB, 8 * MIB, 16);
        MemoryBudget.Holder experiments = holder(100 * MIB, 16 * 25 * MIB, 32 * MIB, 8 * MIB, 16);
        b.register(events);
        b.register(experiments);
        MemoryBudget.Totals t = b.totals();
        assertThat(t.partitions()).isEqualTo(32);
        assertThat(t.fixed()).isEqualTo(800 * MIB + 64 * MIB + 16 * MIB);
        // (1024 - 880) / 32 = 4.5 MiB each, below the 16 MiB configured
        assertThat(b.bufferAllowance(t, 16 * MIB)).isEqualTo((1024 * MIB - 880 * MIB) / 32);
        // a job that stops leaves its share to the others
        b.unregister(experiments);
        assertThat(b.bufferAllowance(b.totals(), 16 * MIB)).isEqualTo(16 * MIB);
    }

    @Test
    void theAllowanceNeverGoesBelowTheFloorNorAboveTheConfiguredSize() {
        MemoryBudget.Totals over = new MemoryBudget.Totals(0, 2048 * MIB, 0, 0, 8);
        assertThat(MemoryBudget.bufferAllowance(1024 * MIB, over, 16 * MIB)).isEqualTo(MemoryBudget.MIN_BUFFER_BYTES);
        // a configured size below the floor is kept as it is
        assertThat(MemoryBudget.bufferAllowance(1024 * MIB, over, 256 * 1024)).isEqualTo(256 * 1024);
        MemoryBudget.Totals none = new MemoryBudget.Totals(0, 0, 0, 0, 0);
        assertThat(MemoryBudget.bufferAllowance(1024 * MIB, none, 16 * MIB)).isEqualTo(16 * MIB);
    }

    @Test
    void anEstimateOverTheBudgetIsLoggedOnceAMinute() {
        MemoryBudget b = new MemoryBudget(100 * MIB);
        b.register(holder(50 * MIB, 40 * MIB, 0, 0, 2));
        assertThat(b.overAndDueForLog(b.totals())).isFalse(); // 90 of 100
        b.register(holder(20 * MIB, 0, 0, 0, 1));
        assertThat(b.overAndDueForLog(b.totals())).isTrue();
        assertThat(b.overAndDueForLog(b.totals())).isFalse(); // not again within the minute
    }

    @Test
    void zeroMeansAShareOfTheMaximumHeap() {
        assertThat(new MemoryBudget(0).budget()).isEqualTo((long) (Runtime.getRuntime().maxMemory() * MemoryBudget.DEFAULT_HEAP_SHARE));
    }
}
