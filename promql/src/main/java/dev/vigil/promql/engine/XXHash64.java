package dev.vigil.promql.engine;

import dev.vigil.promql.Labels;

import java.nio.charset.StandardCharsets;

/** xxHash64 (seed 0), used to reproduce Prometheus labels.Hash() for limit_ratio sampling. */
final class XXHash64 {
    private XXHash64() {}
    private static final long P1 = 0x9E3779B185EBCA87L, P2 = 0xC2B2AE3D27D4EB4FL, P3 = 0x165667B19E3779F9L,
            P4 = 0x85EBCA77C2B2AE63L, P5 = 0x27D4EB2F165667C5L;

    static long labelsHash(Labels l) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < l.size(); i++) {
            b.writeBytes(toBytes(l.name(i)));
            b.write(0xff);
            b.writeBytes(toBytes(l.value(i)));
            b.write(0xff);
        }
        byte[] a = b.toByteArray();
        return hash(a, 0, a.length);
    }

    private static byte[] toBytes(String s) {
        // Restore raw bytes for surrogate-escaped invalid UTF-8.
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0xDC80 && c <= 0xDCFF && !(i > 0 && Character.isHighSurrogate(s.charAt(i - 1)))) { o.write(c - 0xDC00); continue; }
            int cp = s.codePointAt(i);
            if (Character.charCount(cp) == 2) i++;
            o.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
        }
        return o.toByteArray();
    }

    private static long getLong(byte[] b, int i) {
        return (b[i] & 0xffL) | (b[i + 1] & 0xffL) << 8 | (b[i + 2] & 0xffL) << 16 | (b[i + 3] & 0xffL) << 24
                | (b[i + 4] & 0xffL) << 32 | (b[i + 5] & 0xffL) << 40 | (b[i + 6] & 0xffL) << 48 | (b[i + 7] & 0xffL) << 56;
    }

    private static long getInt(byte[] b, int i) {
        return (b[i] & 0xffL) | (b[i + 1] & 0xffL) << 8 | (b[i + 2] & 0xffL) << 16 | (b[i + 3] & 0xffL) << 24;
    }

    private static long round(long acc, long input) {
        acc += input * P2;
        acc = Long.rotateLeft(acc, 31);
        return acc * P1;
    }

    private static long merge(long acc, long val) {
        val = round(0, val);
        acc ^= val;
        return acc * P1 + P4;
    }

    static long hash(byte[] b, int off, int len) {
        int end = off + len;
        int i = off;
        long h;
        if (len >= 32) {
            long v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1;
            int limit = end - 32;
            do {
                v1 = round(v1, getLong(b, i)); i += 8;
                v2 = round(v2, getLong(b, i)); i += 8;
                v3 = round(v3, getLong(b, i)); i += 8;
                v4 = round(v4, getLong(b, i)); i += 8;
            } while (i <= limit);
            h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
            h = merge(h, v1);
            h = merge(h, v2);
            h = merge(h, v3);
            h = merge(h, v4);
        } else {
            h = P5;
        }
        h += len;
        while (i + 8 <= end) {
            long k1 = round(0, getLong(b, i));
            h ^= k1;
            h = Long.rotateLeft(h, 27) * P1 + P4;
            i += 8;
        }
        if (i + 4 <= end) {
            h ^= getInt(b, i) * P1;
            h = Long.rotateLeft(h, 23) * P2 + P3;
            i += 4;
        }
        while (i < end) {
            h ^= (b[i] & 0xffL) * P5;
            h = Long.rotateLeft(h, 11) * P1;
            i++;
        }
        h ^= h >>> 33;
        h *= P2;
        h ^= h >>> 29;
        h *= P3;
        h ^= h >>> 32;
        return h;
    }
}
