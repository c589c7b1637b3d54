package dev.vigil.common.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import dev.vigil.common.model.Event;
import dev.vigil.common.model.Sample;

/** {@link RecordCodec#visitEvent} sees exactly what {@link RecordCodec#decodeEvent} returns, and rejects exactly what it rejects. */
class RecordCodecVisitTest {
    /** Rebuilds an Event from the callbacks (test only; the point of the API is not to do this). */
    static final class Collect implements EventVisitor {
        int calls;
        String tenant;
        String type;
        long time;
        long ingest = Long.MIN_VALUE;
        int dimsCount = -1;
        byte[] dimsBytes;
        final SortedMap<String, String> dims = new TreeMap<>();
        final SortedMap<String, Double> measures = new TreeMap<>();
        final SortedMap<String, String> exps = new TreeMap<>();
        String unit;
        String eventId;

        static String s(byte[] b, int off, int len) {
            return new String(b, off, len, StandardCharsets.UTF_8);
        }

        @Override
        public void begin(byte[] b, int to, int tl, long t, int yo, int yl) {
            calls++;
            tenant = s(b, to, tl);
            time = t;
            type = s(b, yo, yl);
        }

        @Override
        public void dims(byte[] b, int off, int len, int count) {
            calls++;
            dimsCount = count;
            dimsBytes = Arrays.copyOfRange(b, off, off + len);
        }

        @Override
        public void dim(byte[] b, int ko, int kl, int vo, int vl) {
            calls++;
            dims.put(s(b, ko, kl), s(b, vo, vl));
        }

        @Override
        public void measure(byte[] b, int ko, int kl, double v) {
            calls++;
            measures.put(s(b, ko, kl), v);
        }

        @Override
        public void unit(byte[] b, int off, int len) {
            calls++;
            unit = s(b, off, len);
        }

        @Override
        public void experiment(byte[] b, int ko, int kl, int vo, int vl) {
            calls++;
            exps.put(s(b, ko, kl), s(b, vo, vl));
        }

        @Override
        public void eventId(byte[] b, int off, int len) {
            calls++;
            eventId = s(b, off, len);
        }

        @Override
        public void end(long ingestMillis) {
            calls++;
            ingest = ingestMillis;
        }

        Event event() {
            return new Event(tenant, time, type, dims, measures, unit, exps, eventId, ingest);
        }
    }

    static Collect visit(byte[] b) {
        Collect c = new Collect();
        RecordCodec.visitEvent(b, c);
        return c;
    }

    @Test
    void visitSeesTheDecodedEvent() {
        Event e = RecordCodecTest.event();
        Collect c = visit(RecordCodec.encode(e));
        assertThat(c.event()).isEqualTo(e);
        assertThat(c.dimsCount).isEqualTo(3);
        Event noDims = new Event("t", 1, "x", new TreeMap<>(), new TreeMap<>(), null, new TreeMap<>(), null, 2);
        Event withDims = new Event("t", 1, "x", e.dims(), new TreeMap<>(), null, new TreeMap<>(), null, 2);
        byte[] a = RecordCodec.encode(withDims);
        byte[] n = RecordCodec.encode(noDims);
        // the dims range is the encoded map: what is added to a record without dims
        assertThat(c.dimsBytes.length).isEqualTo(a.length - n.length + 1);
    }

    @Test
    void optionalFieldsAbsentAreNotVisited() {
        Event e = new Event("t", 1, "x", new TreeMap<>(), new TreeMap<>(), null, new TreeMap<>(), null, 2);
        Collect c = visit(RecordCodec.encode(e));
        assertThat(c.unit).isNull();
        assertThat(c.eventId).isNull();
        assertThat(c.event()).isEqualTo(e);
        assertThat(c.calls).isEqualTo(3); // begin, dims, end
    }

    @Test
    void everyTruncationIsRejectedWithTheSameReasonAndNoCallback() {
        byte[] full = RecordCodec.encode(RecordCodecTest.event());
        for (int n = 0; n < full.length; n++) {
            byte[] cut = Arrays.copyOf(full, n);
            String expected = message(() -> RecordCodec.decodeEvent(cut));
            Collect c = new Collect();
            assertThatThrownBy(() -> RecordCodec.visitEvent(cut, c)).isInstanceOf(RecordCodec.CodecException.class)
                    .hasMessage(expected);
            assertThat(c.calls).as("callbacks before rejection at length %d", n).isZero();
        }
        byte[] longer = Arrays.copyOf(full, full.length + 3);
        Collect c = new Collect();
        assertThatThrownBy(() -> RecordCodec.visitEvent(longer, c)).hasMessage("3 trailing bytes after record");
        assertThat(c.calls).isZero();
    }

    @Test
    void unknownVersionAndWrongKindAreRejected() {
        byte[] b = RecordCodec.encode(RecordCodecTest.event());
        b[0] = 9;
        assertThatThrownBy(() -> RecordCodec.visitEvent(b, new Collect())).hasMessageContaining("version 9");
        byte[] s = RecordCodec.encode(new Sample("t", "m", new TreeMap<>(), 1, 1));
        assertThatThrownBy(() -> RecordCodec.visitEvent(s, new Collect())).hasMessageContaining("expected an event");
        assertThatThrownBy(() -> RecordCodec.visitEvent(null, new Collect())).isInstanceOf(RecordCodec.CodecException.class);
    }

    @Test
    void randomCorruptionsAreAcceptedOrRejectedExactlyLikeDecodeEvent() {
        Random rnd = new Random(42);
        byte[] base = RecordCodec.encode(RecordCodecTest.event());
        for (int i = 0; i < 200_000; i++) {
            byte[] b = base.clone();
            int flips = 1 + rnd.nextInt(3);
            for (int f = 0; f < flips; f++) {
                int at = 2 + rnd.nextInt(b.length - 2);
                b[at] = switch (rnd.nextInt(4)) {
                    case 0 -> (byte) rnd.nextInt(256);
                    case 1 -> (byte) (b[at] + 1);
                    case 2 -> (byte) (b[at] - 1);
                    default -> (byte) 0xFF;
                };
            }
            if (rnd.nextInt(10) == 0) {
                b = Arrays.copyOf(b, b.length - 1 - rnd.nextInt(5));
            }
            Event decoded;
            try {
                decoded = RecordCodec.decodeEvent(b);
            } catch (RecordCodec.CodecException ex) {
                final byte[] bad = b;
                Collect c = new Collect();
                assertThatThrownBy(() -> RecordCodec.visitEvent(bad, c)).isInstanceOf(RecordCodec.CodecException.class);
                assertThat(c.calls).isZero();
                continue;
            }
            Collect c = visit(b);
            assertThat(c.event()).isEqualTo(decoded);
        }
    }

    @Test
    void scanAcceptsAndRejectsExactlyLikeDecodeEventInOnePass() {
        byte[] full = RecordCodec.encode(RecordCodecTest.event());
        for (int n = 0; n < full.length; n++) {
            byte[] cut = Arrays.copyOf(full, n);
            String expected = message(() -> RecordCodec.decodeEvent(cut));
            assertThatThrownBy(() -> RecordCodec.scanEvent(cut, new Collect())).isInstanceOf(RecordCodec.CodecException.class)
                    .hasMessage(expected);
        }
        Random rnd = new Random(7);
        for (int i = 0; i < 200_000; i++) {
            byte[] b = full.clone();
            int at = 2 + rnd.nextInt(b.length - 2);
            b[at] = (byte) rnd.nextInt(256);
            if (rnd.nextInt(10) == 0) {
                b = Arrays.copyOf(b, b.length - 1 - rnd.nextInt(5));
            }
            final byte[] x = b;
            String expected;
            Event decoded = null;
            try {
                decoded = RecordCodec.decodeEvent(x);
                expected = null;
            } catch (RecordCodec.CodecException ex) {
                expected = ex.getMessage();
            }
            Collect c = new Collect();
            if (expected != null) {
                assertThatThrownBy(() -> RecordCodec.scanEvent(x, c)).isInstanceOf(RecordCodec.CodecException.class).hasMessage(expected);
            } else {
                RecordCodec.scanEvent(x, c);
                assertThat(c.event()).isEqualTo(decoded);
            }
        }
    }

    /**
     * The record read in place inside a larger array (as a Kafka value lies in its fetched batch),
     * with bytes that would decode as more record before and after it: the same result or the
     * same message as the record copied out, so nothing outside the range is read.
     */
    @Test
    void scanInPlaceIsTheSameAsScanOfTheCopiedRecord() {
        byte[] full = RecordCodec.encode(RecordCodecTest.event());
        Random rnd = new Random(11);
        for (int i = 0; i < 50_000; i++) {
            byte[] rec = full.clone();
            if (i > 0) {
                rec[2 + rnd.nextInt(rec.length - 2)] = (byte) rnd.nextInt(256);
            }
            if (rnd.nextInt(5) == 0) {
                rec = Arrays.copyOf(rec, rnd.nextInt(rec.length));
            }
            int before = rnd.nextInt(20);
            byte[] host = new byte[before + rec.length + 1 + rnd.nextInt(40)];
            Arrays.fill(host, (byte) 0x01); // small varints and lengths: past the end they would look valid
            System.arraycopy(rec, 0, host, before, rec.length);
            final byte[] x = rec;
            String expected = null;
            Collect copied = new Collect();
            try {
                RecordCodec.scanEvent(x, copied);
            } catch (RecordCodec.CodecException ex) {
                expected = ex.getMessage();
            }
            Collect inPlace = new Collect();
            if (expected != null) {
                assertThatThrownBy(() -> RecordCodec.scanEvent(host, before, x.length, inPlace))
                        .isInstanceOf(RecordCodec.CodecException.class).hasMessage(expected);
            } else {
                RecordCodec.scanEvent(host, before, x.length, inPlace);
                assertThat(inPlace.event()).isEqualTo(copied.event());
                assertThat(inPlace.dimsBytes).isEqualTo(copied.dimsBytes);
            }
        }
        assertThatThrownBy(() -> RecordCodec.scanEvent(full, 4, full.length, new Collect())).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void aVisitorThatNeedsOnlyTheDimsRangeGetsNoDimCalls() {
        byte[] b = RecordCodec.encode(RecordCodecTest.event());
        int[] dimCalls = {0};
        int[] dimsLen = {-1};
        EventVisitor v = new EventVisitor() {
            @Override
            public void begin(byte[] buf, int to, int tl, long t, int yo, int yl) {
            }

            @Override
            public void dims(byte[] buf, int off, int len, int count) {
                dimsLen[0] = len;
            }

            @Override
            public void dim(byte[] buf, int ko, int kl, int vo, int vl) {
                dimCalls[0]++;
            }

            @Override
            public boolean wantsEachDim() {
                return false;
            }
        };
        RecordCodec.scanEvent(b, v);
        assertThat(RecordCodecTest.event().dims()).isNotEmpty();
        assertThat(dimsLen[0]).isPositive();
        assertThat(dimCalls[0]).isZero();
    }

    @Test
    void visitingAllocatesNothing() {
        byte[] b = RecordCodec.encode(RecordCodecTest.event());
        EventVisitor v = new EventVisitor() {
            long sum;

            @Override
            public void begin(byte[] buf, int to, int tl, long t, int yo, int yl) {
                sum += t + tl + yl;
            }

            @Override
            public void measure(byte[] buf, int ko, int kl, double value) {
                sum += (long) value;
            }
        };
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        for (int i = 0; i < 200_000; i++) {
            RecordCodec.visitEvent(b, v);
        }
        long before = mx.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 100_000; i++) {
            RecordCodec.visitEvent(b, v);
        }
        long after = mx.getThreadAllocatedBytes(tid);
        // nothing per record (a few bytes of noise from the measurement itself are tolerated)
        assertThat(after - before).isLessThan(100_000);
    }

    private static String message(Runnable r) {
        try {
            r.run();
        } catch (RecordCodec.CodecException ex) {
            return ex.getMessage();
        }
        throw new AssertionError("expected a CodecException");
    }

}
