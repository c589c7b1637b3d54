package dev.vigil.aggregator;

/** The heap in use after full collections: what the memory tests compare their estimates with. */
final class HeapProbe {
    private HeapProbe() {
    }

    static long usedAfterGc() {
        Runtime r = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            used = Math.min(used, r.totalMemory() - r.freeMemory());
        }
        return used;
    }
}
