package dev.vigil.aggregator;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Stable 64-bit series ids (column {@code series_id}) and 128-bit hashes of client event ids (in memory only).
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

    /** High half of {@link #idHash} of (tenant, eventId). */
    public static long idHi(String tenant, String eventId) {
        long[] out = new long[2];
        idHash(tenant, eventId, out);
        return out[0];
    }

    /** Low half of {@link #idHash} of (tenant, eventId). */
    public static long idLo(String tenant, String eventId) {
        long[] out = new long[2];
        idHash(tenant, eventId, out);
        return out[1];
    }

    /** {@link #idHash(byte[], int, int, byte[], int, int, long[])} of the Strings' UTF-8 bytes. */
    static void idHash(String tenant, String eventId, long[] out) {
        byte[] t = tenant.getBytes(StandardCharsets.UTF_8);
        byte[] id = eventId.getBytes(StandardCharsets.UTF_8);
        idHash(t, 0, t.length, id, 0, id.length, out);
    }

    /**
     * The 128-bit hash of a client event id within its tenant, into {@code out[0..1]}: MurmurHash3 x64 128 of the id's
     * UTF-8 bytes {@code id[off, off + len)}, seeded with the high half of MurmurHash3 x64 128 (seed 0) of the tenant's
     * UTF-8 bytes {@code t[toff, toff + tlen)}. The hot path calls it over the record's bytes, the decoding path over the
     * Strings' (the same bytes: records hold valid UTF-8), recovery over the re-read records'.
     *
     * <p>Since 2026-11-27 (evening). Before, a byte-at-a-time mix (two dependent multiplies per byte) took 16 % of the
     * consumer threads with ids of ~40 bytes as the gateway derives them (a UUID batch id, {@code #}, the index);
     * MurmurHash3 takes 16 bytes a step. The retry store keeps these hashes in memory only and rebuilds them from the
     * records in Kafka (docs/exactly-once.md), so the change needs no migration.
     */
    static void idHash(byte[] t, int toff, int tlen, byte[] id, int off, int len, long[] out) {
        idHash(idSeed(t, toff, tlen, out), id, off, len, out);
    }

    /** The tenant's part of {@link #idHash}: computed once per series by the hot path ({@code SeriesCache.Entry}). */
    static long idSeed(byte[] t, int off, int len, long[] scratch) {
        murmur3(t, off, len, 0, scratch);
        return scratch[0];
    }

    /** {@link #idHash} given the tenant's {@link #idSeed}. */
    static void idHash(long seed, byte[] id, int off, int len, long[] out) {
        murmur3(id, off, len, seed, out);
    }

    private static final VarHandle LE_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long C1 = 0x87c37b91114253d5L;
    private static final long C2 = 0x4cf5ad432745937fL;

    /**
     * MurmurHash3 x64 128 (Austin Appleby's reference, as Guava's {@code Hashing.murmur3_128} computes it for seeds below
     * 2^32; here the seed is 64 bits) of {@code b[off, off + len)}: h1 in {@code out[0]}, h2 in {@code out[1]}.
     */
    static void murmur3(byte[] b, int off, int len, long seed, long[] out) {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        long h1 = seed;
        long h2 = seed;
        int i = off;
        int end = off + len;
        for (; i + 16 <= end; i += 16) {
            long k1 = (long) LE_LONG.get(b, i);
            long k2 = (long) LE_LONG.get(b, i + 8);
            h1 ^= mixK1(k1);
            h1 = Long.rotateLeft(h1, 27) + h2;
            h1 = h1 * 5 + 0x52dce729;
            h2 ^= mixK2(k2);
            h2 = Long.rotateLeft(h2, 31) + h1;
            h2 = h2 * 5 + 0x38495ab5;
        }
        int rem = end - i;
        if (rem > 0) {
            long k1 = 0;
            long k2 = 0;
            if (i + (rem > 8 ? 16 : 8) <= b.length) {
                // the last bytes as whole words, read past the id into the rest of the record (an id is rarely at the
                // end of its array) and masked off: the byte loops below took half of the hash's time with short ids
                if (rem > 8) {
                    k1 = (long) LE_LONG.get(b, i);
                    k2 = (long) LE_LONG.get(b, i + 8) & -1L >>> 8 * (16 - rem);
                } else {
                    k1 = (long) LE_LONG.get(b, i) & -1L >>> 8 * (8 - rem);
                }
            } else {
                for (int j = rem - 1; j >= 8; j--) {
                    k2 = k2 << 8 | (b[i + j] & 0xFFL);
                }
                for (int j = Math.min(rem, 8) - 1; j >= 0; j--) {
                    k1 = k1 << 8 | (b[i + j] & 0xFFL);
                }
            }
            if (rem > 8) {
                h2 ^= mixK2(k2);
            }
            h1 ^= mixK1(k1);
        }
        h1 ^= len;
        h2 ^= len;
        h1 += h2;
        h2 += h1;
        h1 = fmix64(h1);
        h2 = fmix64(h2);
        h1 += h2;
        h2 += h1;
        out[0] = h1;
        out[1] = h2;
    }

    private static long mixK1(long k1) {
        return Long.rotateLeft(k1 * C1, 31) * C2;
    }

    private static long mixK2(long k2) {
        return Long.rotateLeft(k2 * C2, 33) * C1;
    }

}
