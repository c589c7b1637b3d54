package dev.vigil.common.codec;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

import dev.vigil.common.model.Event;
import dev.vigil.common.model.Sample;

/**
 * The compact, versioned binary encoding of Kafka record values (documented in
 * docs/kafka-records.md). Every value starts with a format version byte and a kind byte so
 * that consumers can reject (dead-letter) what they do not understand instead of guessing.
 *
 * <pre>
 * value   := version:u8 kind:u8 body
 * event   := tenant:str time:i64 type:str dims:map(str,str) measures:map(str,f64)
 *            unit:str? experiments:map(str,str) event_id:str? ingest:i64
 * sample  := tenant:str name:str labels:map(str,str) time:i64 value:f64
 * str     := len:uvarint utf8-bytes        str? := 0 (absent) | 1+len:uvarint bytes
 * map     := n:uvarint (key value)*
 * </pre>
 */
public final class RecordCodec {
    public static final byte VERSION = 1;
    public static final byte KIND_EVENT = 1;
    public static final byte KIND_SAMPLE = 2;

    private RecordCodec() {
    }

    public static byte[] encode(Event e) {
        Writer w = new Writer(96 + 16 * (e.dims().size() + e.measures().size()));
        w.u8(VERSION).u8(KIND_EVENT).str(e.tenant()).i64(e.timeMillis()).str(e.type());
        w.uvarint(e.dims().size());
        e.dims().forEach((k, v) -> w.str(k).str(v));
        w.uvarint(e.measures().size());
        e.measures().forEach((k, v) -> w.str(k).f64(v));
        w.optStr(e.unitId());
        w.uvarint(e.experiments().size());
        e.experiments().forEach((k, v) -> w.str(k).str(v));
        w.optStr(e.eventId()).i64(e.ingestMillis());
        return w.toArray();
    }

    public static byte[] encode(Sample s) {
        Writer w = new Writer(64 + 16 * s.labels().size());
        w.u8(VERSION).u8(KIND_SAMPLE).str(s.tenant()).str(s.name());
        w.uvarint(s.labels().size());
        s.labels().forEach((k, v) -> w.str(k).str(v));
        w.i64(s.timeMillis()).f64(s.value());
        return w.toArray();
    }

    /** The kind byte of an encoded value; throws {@link CodecException} for unknown versions. */
    public static byte kind(byte[] value) {
        if (value == null) {
            throw new CodecException("record too short: null");
        }
        return kind(value, 0, value.length);
    }

    /** {@link #kind(byte[])} of the record at {@code value[off, off + len)}. */
    private static byte kind(byte[] value, int off, int len) {
        if (len < 2) {
            throw new CodecException("record too short: " + len + " bytes");
        }
        if (value[off] != VERSION) {
            throw new CodecException("unknown record format version " + value[off] + " (this build reads " + VERSION + ")");
        }
        return value[off + 1];
    }

    public static Event decodeEvent(byte[] value) {
        if (kind(value) != KIND_EVENT) {
            throw new CodecException("expected an event record, got kind " + value[1]);
        }
        try {
            Reader r = new Reader(value, 2);
            String tenant = r.str();
            long time = r.i64();
            String type = r.str();
            SortedMap<String, String> dims = r.strMap();
            int nm = r.count();
            SortedMap<String, Double> measures = new TreeMap<>();
            for (int i = 0; i < nm; i++) {
                measures.put(r.str(), r.f64());
            }
            String unit = r.optStr();
            SortedMap<String, String> exps = r.strMap();
            String eventId = r.optStr();
            long ingest = r.i64();
            r.end();
            return new Event(tenant, time, type, dims, measures, unit, exps, eventId, ingest);
        } catch (RuntimeException ex) {
            throw ex instanceof CodecException ce ? ce : new CodecException("corrupt event record: " + ex);
        }
    }

    public static Sample decodeSample(byte[] value) {
        if (kind(value) != KIND_SAMPLE) {
            throw new CodecException("expected a sample record, got kind " + value[1]);
        }
        try {
            Reader r = new Reader(value, 2);
            String tenant = r.str();
            String name = r.str();
            SortedMap<String, String> labels = r.strMap();
            long time = r.i64();
            double v = r.f64();
            r.end();
            return new Sample(tenant, name, labels, time, v);
        } catch (RuntimeException ex) {
            throw ex instanceof CodecException ce ? ce : new CodecException("corrupt sample record: " + ex);
        }
    }

    private static final VarHandle BE_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    /**
     * Decodes an event record without building an {@link Event}: validates the whole record
     * exactly as {@link #decodeEvent(byte[])} does (same {@link CodecException}s, thrown before
     * any callback), then hands its fields to {@code visitor} in encoding order as ranges of
     * {@code value}. Allocates nothing on success. Strings are the UTF-8 bytes as encoded; for
     * well-formed UTF-8 they are exactly the bytes of the strings decodeEvent returns.
     */
    public static void visitEvent(byte[] value, EventVisitor visitor) {
        if (kind(value) != KIND_EVENT) {
            throw new CodecException("expected an event record, got kind " + value[1]);
        }
        try {
            walkEvent(value, 0, value.length, null);
        } catch (RuntimeException ex) {
            throw ex instanceof CodecException ce ? ce : new CodecException("corrupt event record: " + ex);
        }
        walkEvent(value, 0, value.length, visitor);
    }

    /**
     * {@link #visitEvent} in one pass instead of two (validate, then visit): accepts and rejects
     * exactly the same records with the same {@link CodecException}s, but a rejected record may
     * already have delivered callbacks for the fields before the fault. For visitors that keep
     * their state until the call returns and drop it when it throws (the aggregator's scratch);
     * a RuntimeException thrown by the visitor itself is reported as a CodecException too.
     */
    public static void scanEvent(byte[] value, EventVisitor visitor) {
        kind(value); // a null value: the same "record too short" as the other decoders
        scanEvent(value, 0, value.length, visitor);
    }

    /**
     * {@link #scanEvent(byte[], EventVisitor)} over the record at {@code value[off, off + len)}
     * (a Kafka record's value in place, without copying it out): the visitor's ranges are
     * positions in {@code value}; error messages count bytes from {@code off}, as if the record
     * had been copied out.
     */
    public static void scanEvent(byte[] value, int off, int len, EventVisitor visitor) {
        java.util.Objects.checkFromIndexSize(off, len, value.length);
        byte kind = kind(value, off, len);
        if (kind != KIND_EVENT) {
            throw new CodecException("expected an event record, got kind " + kind);
        }
        try {
            walkEvent(value, off, off + len, visitor);
        } catch (RuntimeException ex) {
            throw ex instanceof CodecException ce ? ce : new CodecException("corrupt event record: " + ex);
        }
    }

    /** One pass over an event body; with a null visitor it only validates. */
    private static void walkEvent(byte[] b, int base, int end, EventVisitor v) {
        int p = base + 2;
        long x = strLen(b, p, base, end);
        int tenantOff = next(x);
        int tenantLen = val(x);
        p = tenantOff + tenantLen;
        long time = be64(b, p, base, end);
        p += 8;
        x = strLen(b, p, base, end);
        int typeOff = next(x);
        int typeLen = val(x);
        p = typeOff + typeLen;
        if (v != null) {
            v.begin(b, tenantOff, tenantLen, time, typeOff, typeLen);
        }
        // dims
        int dimsStart = p;
        x = len(b, p, base, end);
        int nd = val(x);
        p = next(x);
        int dimsBody = p;
        for (int i = 0; i < nd; i++) {
            x = strLen(b, p, base, end);
            p = next(x) + val(x);
            x = strLen(b, p, base, end);
            p = next(x) + val(x);
        }
        if (v != null) {
            v.dims(b, dimsStart, p - dimsStart, nd);
        }
        if (v != null && v.wantsEachDim()) {
            int q = dimsBody;
            for (int i = 0; i < nd; i++) {
                x = strLen(b, q, base, end);
                int ko = next(x);
                int kl = val(x);
                q = ko + kl;
                x = strLen(b, q, base, end);
                int vo = next(x);
                int vl = val(x);
                q = vo + vl;
                v.dim(b, ko, kl, vo, vl);
            }
        }
        // measures
        x = len(b, p, base, end);
        int nm = val(x);
        p = next(x);
        if (v != null) {
            v.measures(nm);
        }
        for (int i = 0; i < nm; i++) {
            x = strLen(b, p, base, end);
            int ko = next(x);
            int kl = val(x);
            p = ko + kl;
            double d = Double.longBitsToDouble(be64(b, p, base, end));
            p += 8;
            if (v != null) {
                v.measure(b, ko, kl, d);
            }
        }
        // unit
        p = optStr(b, p, base, end, v, false);
        // experiments
        x = len(b, p, base, end);
        int ne = val(x);
        p = next(x);
        if (v != null) {
            v.experiments(ne);
        }
        for (int i = 0; i < ne; i++) {
            x = strLen(b, p, base, end);
            int ko = next(x);
            int kl = val(x);
            p = ko + kl;
            x = strLen(b, p, base, end);
            int vo = next(x);
            int vl = val(x);
            p = vo + vl;
            if (v != null) {
                v.experiment(b, ko, kl, vo, vl);
            }
        }
        p = optStr(b, p, base, end, v, true);
        long ingest = be64(b, p, base, end);
        p += 8;
        if (p != end) {
            throw new CodecException((end - p) + " trailing bytes after record");
        }
        if (v != null) {
            v.end(ingest);
        }
    }

    private static int optStr(byte[] b, int p, int base, int end, EventVisitor v, boolean eventId) {
        long n = 0;
        for (int shift = 0; ; shift += 7) {
            if (shift >= 64) {
                throw new CodecException("varint too long at byte " + (p - base));
            }
            if (p >= end) {
                throw new CodecException("truncated varint at byte " + (p - base));
            }
            byte x = b[p++];
            n |= (long) (x & 0x7F) << shift;
            if ((x & 0x80) == 0) {
                break;
            }
        }
        if (n == 0) {
            return p;
        }
        if (n - 1 > end - p) {
            throw new CodecException("string length " + (n - 1) + " exceeds remaining bytes at byte " + (p - base));
        }
        int l = (int) (n - 1);
        if (l < 0) {
            throw new CodecException("corrupt event record: negative string length at byte " + (p - base));
        }
        if (v != null) {
            if (eventId) {
                v.eventId(b, p, l);
            } else {
                v.unit(b, p, l);
            }
        }
        return p + l;
    }

    private static long be64(byte[] b, int p, int base, int end) {
        if (p + 8 > end) {
            throw new CodecException("truncated int64 at byte " + (p - base));
        }
        return (long) BE_LONG.get(b, p);
    }

    /**
     * The uvarint count or length at {@code p}, checked against the remaining bytes like
     * Reader.count: {@code (int) value << 32 | next position}.
     */
    private static long len(byte[] b, int p, int base, int end) {
        long n = 0;
        for (int shift = 0; ; shift += 7) {
            if (shift >= 64) {
                throw new CodecException("varint too long at byte " + (p - base));
            }
            if (p >= end) {
                throw new CodecException("truncated varint at byte " + (p - base));
            }
            byte x = b[p++];
            n |= (long) (x & 0x7F) << shift;
            if ((x & 0x80) == 0) {
                break;
            }
        }
        if (n > end - p) {
            throw new CodecException("count " + n + " exceeds remaining " + (end - p) + " bytes at byte " + (p - base));
        }
        return ((long) (int) n << 32) | (p & 0xFFFFFFFFL);
    }

    /** A string length: as {@link #len}, and never negative. */
    private static long strLen(byte[] b, int p, int base, int end) {
        long x = len(b, p, base, end);
        if (val(x) < 0) {
            throw new CodecException("corrupt event record: negative string length at byte " + (p - base));
        }
        return x;
    }

    private static int val(long packed) {
        return (int) (packed >>> 32);
    }

    private static int next(long packed) {
        return (int) packed;
    }

    /** Thrown for a record that cannot be decoded; carries the reason for the dead-letter topic. */
    public static final class CodecException extends RuntimeException {
        public CodecException(String message) {
            super(message);
        }
    }

    private static final class Writer {
        private byte[] buf;
        private int pos;

        Writer(int capacity) {
            buf = new byte[capacity];
        }

        private void ensure(int n) {
            if (pos + n > buf.length) {
                buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
            }
        }

        Writer u8(int b) {
            ensure(1);
            buf[pos++] = (byte) b;
            return this;
        }

        Writer uvarint(long v) {
            ensure(10);
            while ((v & ~0x7FL) != 0) {
                buf[pos++] = (byte) ((v & 0x7F) | 0x80);
                v >>>= 7;
            }
            buf[pos++] = (byte) v;
            return this;
        }

        Writer i64(long v) {
            ensure(8);
            ByteBuffer.wrap(buf, pos, 8).putLong(v);
            pos += 8;
            return this;
        }

        Writer f64(double v) {
            return i64(Double.doubleToRawLongBits(v));
        }

        Writer str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            uvarint(b.length);
            ensure(b.length);
            System.arraycopy(b, 0, buf, pos, b.length);
            pos += b.length;
            return this;
        }

        Writer optStr(String s) {
            if (s == null) {
                return uvarint(0);
            }
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            uvarint(b.length + 1L);
            ensure(b.length);
            System.arraycopy(b, 0, buf, pos, b.length);
            pos += b.length;
            return this;
        }

        byte[] toArray() {
            return java.util.Arrays.copyOf(buf, pos);
        }
    }

    private static final class Reader {
        private final byte[] buf;
        private int pos;

        Reader(byte[] buf, int pos) {
            this.buf = buf;
            this.pos = pos;
        }

        long uvarint() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= buf.length) {
                    throw new CodecException("truncated varint at byte " + pos);
                }
                byte b = buf[pos++];
                v |= (long) (b & 0x7F) << shift;
                if ((b & 0x80) == 0) {
                    return v;
                }
            }
            throw new CodecException("varint too long at byte " + pos);
        }

        int count() {
            long n = uvarint();
            if (n > buf.length - pos) {
                throw new CodecException("count " + n + " exceeds remaining " + (buf.length - pos) + " bytes at byte " + pos);
            }
            return (int) n;
        }

        long i64() {
            if (pos + 8 > buf.length) {
                throw new CodecException("truncated int64 at byte " + pos);
            }
            long v = ByteBuffer.wrap(buf, pos, 8).getLong();
            pos += 8;
            return v;
        }

        double f64() {
            return Double.longBitsToDouble(i64());
        }

        String str() {
            int n = count();
            String s = new String(buf, pos, n, StandardCharsets.UTF_8);
            pos += n;
            return s;
        }

        String optStr() {
            long n = uvarint();
            if (n == 0) {
                return null;
            }
            if (n - 1 > buf.length - pos) {
                throw new CodecException("string length " + (n - 1) + " exceeds remaining bytes at byte " + pos);
            }
            String s = new String(buf, pos, (int) (n - 1), StandardCharsets.UTF_8);
            pos += (int) (n - 1);
            return s;
        }

        SortedMap<String, String> strMap() {
            int n = count();
            SortedMap<String, String> m = new TreeMap<>();
            for (int i = 0; i < n; i++) {
                m.put(str(), str());
            }
            return m;
        }

        void end() {
            if (pos != buf.length) {
                throw new CodecException((buf.length - pos) + " trailing bytes after record");
            }
        }
    }

    /** Convenience for tests and tools: a sorted copy. */
    public static <V> SortedMap<String, V> sorted(Map<String, V> m) {
        return new TreeMap<>(m);
    }
}
