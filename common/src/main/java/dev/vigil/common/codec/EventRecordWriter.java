package dev.vigil.common.codec;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A reusable, allocation-light writer of event record values in exactly the
 * {@link RecordCodec} format (version 1, kind event), and of the event's series key
 * ({@code dev.vigil.common.model.Event#seriesKey()} as UTF-8), for producers that hold the
 * parts of an event rather than an {@code Event} object (the ingest gateway's hot path).
 *
 * <p>Usage: {@link #begin}, then the dims (sorted by name, no duplicates), then
 * {@link #measuresHeader} and the measures (sorted), {@link #unit}, {@link #experimentsHeader}
 * and the experiments (sorted), {@link #eventId...}, {@link #end}; then {@link #value()} copies
 * the encoded bytes out. The series key is collected on the side ({@link #key()}). Strings are
 * written as UTF-8 without intermediate byte arrays. Not thread-safe: one per thread.
 */
public final class EventRecordWriter {
    private byte[] buf = new byte[512];
    private int pos;
    private byte[] key = new byte[256];
    private int keyPos;

    /** Starts an event: version, kind, tenant, time, type, and the dims count. */
    public EventRecordWriter begin(String tenant, long timeMillis, String type, int dims) {
        pos = 0;
        keyPos = 0;
        u8(RecordCodec.VERSION);
        u8(RecordCodec.KIND_EVENT);
        str(tenant);
        i64(timeMillis);
        str(type);
        uvarint(dims);
        keyStr(tenant);
        keyByte(0);
        keyStr(type);
        return this;
    }

    /** One dim (in name order); also appended to the series key as {@code \0name=value}. */
    public EventRecordWriter dim(String name, String value) {
        str(name);
        str(value);
        keyByte(0);
        keyStr(name);
        keyByte('=');
        keyStr(value);
        return this;
    }

    public EventRecordWriter measuresHeader(int n) {
        uvarint(n);
        return this;
    }

    public EventRecordWriter measure(String name, double value) {
        str(name);
        i64(Double.doubleToRawLongBits(value));
        return this;
    }

    /** The optional unit id ({@code null}: absent). */
    public EventRecordWriter unit(String unitId) {
        optStr(unitId);
        return this;
    }

    public EventRecordWriter experimentsHeader(int n) {
        uvarint(n);
        return this;
    }

    public EventRecordWriter experiment(String id, String variant) {
        str(id);
        str(variant);
        return this;
    }

    /** The optional event id ({@code null}: absent). */
    public EventRecordWriter eventId(String eventId) {
        optStr(eventId);
        return this;
    }

    /** The event id {@code <batchId>#<index>} without building the string. */
    public EventRecordWriter derivedEventId(String batchId, int index) {
        return derivedEventId(batchId.getBytes(StandardCharsets.UTF_8), index);
    }

    /** As {@link #derivedEventId(String, int)} with the batch id already UTF-8 (encode it once per batch). */
    public EventRecordWriter derivedEventId(byte[] batchIdUtf8, int index) {
        if (index < 0) {
            throw new IllegalArgumentException("negative index " + index);
        }
        int digits = 1;
        for (int v = index; v >= 10; v /= 10) {
            digits++;
        }
        int len = batchIdUtf8.length + 1 + digits;
        uvarint(len + 1L);
        ensure(len);
        System.arraycopy(batchIdUtf8, 0, buf, pos, batchIdUtf8.length);
        pos += batchIdUtf8.length;
        buf[pos++] = '#';
        int end = pos + digits;
        int v = index;
        for (int i = end - 1; i >= pos; i--) {
            buf[i] = (byte) ('0' + v % 10);
            v /= 10;
        }
        pos = end;
        return this;
    }

    /** Finishes the value with the ingest time. */
    public EventRecordWriter end(long ingestMillis) {
        i64(ingestMillis);
        return this;
    }

    /** The encoded value (a copy of exactly its length). */
    public byte[] value() {
        return Arrays.copyOf(buf, pos);
    }

    /** The series key as UTF-8 bytes (a copy). */
    public byte[] key() {
        return Arrays.copyOf(key, keyPos);
    }

    public int valueLength() {
        return pos;
    }

    // ---- value primitives (same encoding as RecordCodec.Writer) ----

    private void ensure(int n) {
        if (pos + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
        }
    }

    private void u8(int b) {
        ensure(1);
        buf[pos++] = (byte) b;
    }

    private void uvarint(long v) {
        ensure(10);
        while ((v & ~0x7FL) != 0) {
            buf[pos++] = (byte) ((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        buf[pos++] = (byte) v;
    }

    private void i64(long v) {
        ensure(8);
        byte[] b = buf;
        int p = pos;
        b[p] = (byte) (v >>> 56);
        b[p + 1] = (byte) (v >>> 48);
        b[p + 2] = (byte) (v >>> 40);
        b[p + 3] = (byte) (v >>> 32);
        b[p + 4] = (byte) (v >>> 24);
        b[p + 5] = (byte) (v >>> 16);
        b[p + 6] = (byte) (v >>> 8);
        b[p + 7] = (byte) v;
        pos = p + 8;
    }

    private void str(String s) {
        int chars = s.length();
        if (chars <= 42) {
            // At most 126 UTF-8 bytes: a one-byte length, patched after one encoding pass.
            ensure(1 + 3 * chars);
            int at = pos++;
            pos = encodeUtf8(s, buf, pos);
            buf[at] = (byte) (pos - at - 1);
            return;
        }
        int n = utf8Length(s);
        uvarint(n);
        ensure(n);
        putUtf8(s);
    }

    private void optStr(String s) {
        if (s == null) {
            uvarint(0);
            return;
        }
        int chars = s.length();
        if (chars <= 42) {
            ensure(1 + 3 * chars);
            int at = pos++;
            pos = encodeUtf8(s, buf, pos);
            buf[at] = (byte) (pos - at); // length + 1
            return;
        }
        int n = utf8Length(s);
        uvarint(n + 1L);
        ensure(n);
        putUtf8(s);
    }

    /** Writes s as UTF-8 at pos (room already ensured). */
    private void putUtf8(String s) {
        pos = encodeUtf8(s, buf, pos);
    }

    // ---- key primitives ----

    private void keyByte(int b) {
        if (keyPos + 1 > key.length) {
            key = Arrays.copyOf(key, key.length * 2);
        }
        key[keyPos++] = (byte) b;
    }

    private void keyStr(String s) {
        int n = 3 * s.length();
        if (keyPos + n > key.length) {
            key = Arrays.copyOf(key, Math.max(key.length * 2, keyPos + n));
        }
        keyPos = encodeUtf8(s, key, keyPos);
    }

    // ---- UTF-8 (as String.getBytes(UTF_8): unpaired surrogates become '?') ----

    static int utf8Length(String s) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            if (s.charAt(i) >= 0x80) {
                return slowLength(s);
            }
        }
        return n;
    }

    private static int slowLength(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    static int encodeUtf8(String s, byte[] dst, int p) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                // Rare: fall back to the JDK encoder for the whole string (exact getBytes semantics).
                byte[] b = s.getBytes(StandardCharsets.UTF_8);
                System.arraycopy(b, 0, dst, p, b.length);
                return p + b.length;
            }
            dst[p + i] = (byte) c;
        }
        return p + n;
    }
}
