package dev.vigil.aggregator;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Stable 64-bit series ids (column {@code series_id}) and 128-bit hashes of client event ids.
 * {@code series_id = fmix64(FNV-1a-64(name 0x00 (key 0x00 value 0x00)*))} over labels sorted by key.
 */
public final class SeriesIds {
    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    private SeriesIds() {
    }

    public static long seriesId(String name, Map<String, String> sortedLabels) {
        long h = FNV_OFFSET;
        h = fnv(h, name);
        for (Map.Entry<String, String> e : sortedLabels.entrySet()) {
            h = fnv(h, e.getKey());
            h = fnv(h, e.getValue());
        }
        return fmix64(h);
    }

    private static long fnv(long h, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        for (byte x : b) {
            h ^= (x & 0xff);
            h *= FNV_PRIME;
        }
        h ^= 0;
        h *= FNV_PRIME;
        return h;
    }

    public static long fmix64(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }

    /** High half of a 128-bit hash of (tenant, eventId). */
    public static long idHi(String tenant, String eventId) {
        return hash(tenant, eventId, 0x9E3779B97F4A7C15L);
    }

    /** Low half of a 128-bit hash of (tenant, eventId): an independent seed. */
    public static long idLo(String tenant, String eventId) {
        return hash(tenant, eventId, 0xC2B2AE3D27D4EB4FL);
    }

    /**
     * {@link #idHi} and {@link #idLo} of (tenant, the UTF-8 id in {@code b[off, off+len)}) into
     * {@code out[0..1]}: without a String when the id is ASCII (then chars are bytes), through
     * one otherwise. Same values as the String methods.
     */
    static void idHash(String tenant, byte[] b, int off, int len, long[] out) {
        for (int i = off; i < off + len; i++) {
            if (b[i] < 0) {
                String id = new String(b, off, len, StandardCharsets.UTF_8);
                out[0] = idHi(tenant, id);
                out[1] = idLo(tenant, id);
                return;
            }
        }
        // both halves in one loop: each is a serial chain of multiplies, so the core runs the two
        // side by side (two loops one after the other took 8 % of a consumer thread with ids)
        long h = 0x9E3779B97F4A7C15L;
        long g = 0xC2B2AE3D27D4EB4FL;
        for (int i = 0; i < tenant.length(); i++) {
            char c = tenant.charAt(i);
            h = mix(h, c);
            g = mix(g, c);
        }
        h = mix(h, 0xFF);
        g = mix(g, 0xFF);
        for (int i = off; i < off + len; i++) {
            h = mix(h, b[i]);
            g = mix(g, b[i]);
        }
        long tail = tenant.length() * 31L + len;
        out[0] = fmix64(h ^ tail);
        out[1] = fmix64(g ^ tail);
    }

    private static long hash(String tenant, String id, long seed) {
        long h = seed;
        h = mixString(h, tenant);
        h = mix(h, 0xFF);
        h = mixString(h, id);
        return fmix64(h ^ (tenant.length() * 31L + id.length()));
    }

    private static long mixString(long h, String s) {
        for (int i = 0; i < s.length(); i++) {
            h = mix(h, s.charAt(i));
        }
        return h;
    }

    private static long mix(long h, long v) {
        h ^= v;
        h *= 0x100000001b3L;
        h = Long.rotateLeft(h, 27) * 0x9E3779B97F4A7C15L + 0x52dce729;
        return h;
    }
}
