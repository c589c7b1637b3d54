package dev.vigil.aggregator;

import java.lang.management.ManagementFactory;

import com.sun.management.HotSpotDiagnosticMXBean;

/**
 * What an array costs the heap, for the memory estimates. G1 (the JVM's default collector) puts an object of half a
 * region or more in regions of its own, so a large array costs whole regions: the retry store's power-of-two arrays
 * (8 MiB and a header) take 9 regions of 1 MiB (a 2 GiB heap's region size), or 3 of 4 MiB, not 8 MiB.
 */
final class HeapSizes {
    /** The G1 region size, or 0 if the JVM does not say (another collector: objects are not rounded). */
    static final long REGION = regionSize();

    private HeapSizes() {
    }

    private static long regionSize() {
        try {
            var bean = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            if (!"true".equals(bean.getVMOption("UseG1GC").getValue())) {
                return 0;
            }
            return Long.parseLong(bean.getVMOption("G1HeapRegionSize").getValue());
        } catch (RuntimeException e) { // no such bean or option: the plain size
            return 0;
        }
    }

    /** The heap of an array of {@code dataBytes} bytes of elements (a 16-byte header besides). */
    static long array(long dataBytes) {
        long b = dataBytes + 16;
        if (REGION > 0 && b >= REGION / 2) {
            return (b + REGION - 1) / REGION * REGION;
        }
        return b;
    }
}
