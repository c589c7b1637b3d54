package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.histogram.LogBuckets;
import dev.vigil.common.model.Event;

/** The allocation-free hot path's pieces give exactly what the reference structures give. */
class HotPathTest {
    @Test
    void denseHistogramWritesTheSameBytesAsTheSortedMap() {
        Random rnd = new Random(7);
        for (int round = 0; round < 300; round++) {
            Hist h = new Hist();
            IntLongMap ref = new IntLongMap();
            int shape = round % 6;
            int n = shape == 4 ? 200_000 : 1 + rnd.nextInt(3000);
            for (int i = 0; i < n; i++) {
                double v = switch (shape) {
                    case 0 -> Math.exp(3 + rnd.nextGaussian());
                    case 1 -> rnd.nextInt(50) == 0 ? 1.0 : 0.0;
                    case 2 -> rnd.nextGaussian() * 100;
                    case 3 -> Math.exp(rnd.nextGaussian() * 40); // wider than the dense window
                    case 4 -> 1.0; // one bucket wrapping its 8-bit counter 781 times
                    default -> rnd.nextBoolean() ? -Math.exp(rnd.nextGaussian()) : Math.exp(5 + rnd.nextGaussian() * 5);
                };
                int k = LogBuckets.key(v);
                h.addKey(k);
                ref.add(k, 1);
            }
            RowBinary a = new RowBinary(64);
            h.writeHist(a);
            RowBinary b = new RowBinary(64);
            ref.writeTo(b);
            assertThat(a.toArray()).as("round %d shape %d", round, shape).isEqualTo(b.toArray());
            assertThat(h.histSize()).isEqualTo(ref.size());
            for (int k : ref.sortedKeys()) {
                assertThat(h.histGet(k)).isEqualTo(ref.get(k));
            }
        }
    }

    @Test
    void positionalNamesAreTheInternedNamesOfTheirBytes() {
        Utf8Interner names = new Utf8Interner(100);
        byte[] b = "latency_mserrorlatency_us".getBytes(StandardCharsets.UTF_8);
        String latency = names.get(0, b, 0, 10);
        assertThat(latency).isEqualTo("latency_ms").isSameAs(names.get(b, 0, 10));
        assertThat(names.get(0, b, 0, 10)).isSameAs(latency);
        assertThat(names.get(0, b, 15, 10)).as("other bytes at the same position").isEqualTo("latency_us");
        assertThat(names.get(1, b, 10, 5)).isEqualTo("error");
        assertThat(names.get(0, b, 0, 10)).as("back to the first name").isSameAs(latency);
        assertThat(names.get(9, b, 10, 5)).as("beyond the remembered positions").isEqualTo("error");
    }

    /** Names as long as a record (a writer other than the gateway) are bounded by bytes, not only by count. */
    @Test
    void internedNamesAreBoundedInBytes() {
        Utf8Interner names = new Utf8Interner(4096, 100_000);
        byte[] b = new byte[30_000];
        java.util.Arrays.fill(b, (byte) 'x');
        for (int i = 0; i < 1_000; i++) {
            b[i % b.length] = (byte) ('a' + i % 26);
            b[(i * 7) % b.length] = (byte) ('a' + i % 23);
            assertThat(names.get(b, 0, 5_000 + i)).hasSize(5_000 + i);
            assertThat(names.bytesHeld()).isLessThanOrEqualTo(100_000);
        }
        String huge = names.get(b, 0, 25_000); // 4 x 25,000 + 96 > 100,000
        assertThat(huge).as("a name past the bound alone is returned, not kept").hasSize(25_000);
        assertThat(names.get(b, 0, 25_000)).isEqualTo(huge).isNotSameAs(huge);
        assertThat(names.bytesHeld()).isLessThanOrEqualTo(100_000);
        String kept = names.get(b, 0, 100);
        assertThat(names.get(b, 0, 100)).as("short names are still interned").isSameAs(kept);
    }

    @Test
    void measureOrderCheckAgreesWithUnsignedByteOrder() {
        Random rnd = new Random(5);
        byte[] b = new byte[16];
        for (int i = 0; i < 200_000; i++) {
            rnd.nextBytes(b);
            // few distinct bytes, so that equal names and prefixes are common; high bytes as in UTF-8
            for (int j = 0; j < b.length; j++) {
                b[j] = (byte) (rnd.nextBoolean() ? 0x61 : rnd.nextBoolean() ? 0x62 : 0xC3);
            }
            // names of 0-8 bytes: the two halves of the array, so one may be a prefix of the other at any length
            int prevLen = rnd.nextInt(9);
            int len = rnd.nextInt(9);
            boolean expected = java.util.Arrays.compareUnsigned(b, 0, prevLen, b, 8, 8 + len) < 0;
            assertThat(EventScratch.ascending(b, 0, prevLen, 8, len)).as("%s then %s", java.util.Arrays.toString(
                    java.util.Arrays.copyOfRange(b, 0, prevLen)), java.util.Arrays.toString(java.util.Arrays.copyOfRange(b, 8, 8 + len)))
                    .isEqualTo(expected);
        }
    }

    @Test
    void fastBucketKeysEqualLogBucketsKeys() {
        Random rnd = new Random(3);
        for (int i = 0; i < 2_000_000; i++) {
            double v = switch (i % 4) {
                case 0 -> Math.exp(rnd.nextGaussian() * 15);
                case 1 -> -Math.exp(rnd.nextGaussian() * 15);
                case 2 -> Math.pow(1.01, rnd.nextInt(6000) - 2100) * (rnd.nextBoolean() ? 1 : -1);
                default -> Math.nextUp(Math.pow(1.01, rnd.nextInt(6000) - 2100)) * (rnd.nextInt(3) - 1);
            };
            assertThat(FastBuckets.key(v)).as("value %s", v).isEqualTo(LogBuckets.key(v));
        }
        for (double v : new double[] {0.0, -0.0, 1e-10, -1e-10, 1e-9, 1.0, -1.0, Double.MIN_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE, 1e300, 1e-300}) {
            assertThat(FastBuckets.key(v)).as("value %s", v).isEqualTo(LogBuckets.key(v));
        }
        for (int k = -2300; k < 4500; k++) {
            double b = LogBuckets.upperBound(k);
            for (double v : new double[] {b, Math.nextUp(b), Math.nextDown(b), -b, -Math.nextUp(b)}) {
                assertThat(FastBuckets.key(v)).as("value %s", v).isEqualTo(LogBuckets.key(v));
            }
        }
    }

    @Test
    void byteIdHashEqualsTheStringHash() {
        long[] out = new long[2];
        for (String tenant : new String[] {"acme", "", "t\u00e9nant"}) {
            for (String id : new String[] {"", "evt-1", "b-123#45", "ünïcode-id", "\u00ff", "x".repeat(300)}) {
                // tenant and id inside a larger buffer, as in a record
                byte[] t = tenant.getBytes(StandardCharsets.UTF_8);
                byte[] b = (".." + tenant + "..." + id + "..").getBytes(StandardCharsets.UTF_8);
                int len = id.getBytes(StandardCharsets.UTF_8).length;
                SeriesIds.idHash(b, 2, t.length, b, 2 + t.length + 3, len, out);
                assertThat(out[0]).as("%s / %s", tenant, id).isEqualTo(SeriesIds.idHi(tenant, id));
                assertThat(out[1]).as("%s / %s", tenant, id).isEqualTo(SeriesIds.idLo(tenant, id));
            }
        }
        // the tenant is part of the identity
        assertThat(SeriesIds.idHi("a", "x")).isNotEqualTo(SeriesIds.idHi("b", "x"));
    }

    /**
     * A record whose id (or tenant) is not valid UTF-8, as only a writer other than the gateway sends it: the decoding
     * path keys it as the hot path and recovery do (over the record's bytes), not over the decoded Strings, whose U+FFFD
     * replaced the bytes; otherwise a client retry after a recovery would be counted again.
     */
    @Test
    void decodedIdKeyIsTheRecordsKeyEvenForInvalidUtf8() {
        long now = 1_700_000_000_000L;
        for (String id : new String[] {"evt-\u00e9", "b-\u00e9#7"}) {
            for (boolean badTenant : new boolean[] {false, true}) {
                String tenant = badTenant ? "t\u00e9" : "acme";
                byte[] v = RecordCodec.encode(new Event(tenant, now, "inference", new TreeMap<>(), new TreeMap<>(Map.of("ms", 1.0)), null,
                        new TreeMap<>(), id, now));
                // break one UTF-8 sequence (0xC3 0xA9 -> 0xFF 0xA9: the same length): the id's, else the tenant's
                int first = indexOfE9(v, 0);
                int second = indexOfE9(v, first + 1);
                int at = badTenant || second < 0 ? first : second; // the tenant's comes first
                byte[] bad = v.clone();
                bad[at] = (byte) 0xFF;
                for (byte[] rec : List.of(v, bad)) {
                    Event e = RecordCodec.decodeEvent(rec);
                    long[] viaRecord = new long[2];
                    int indexViaRecord = Rollup.recordIdKey(rec, new EventScratch(), viaRecord);
                    long[] viaDecoded = new long[2];
                    int indexViaDecoded = Rollup.decodedIdKey(e, rec, new EventScratch(), viaDecoded);
                    assertThat(viaDecoded).as("%s, tenant %s, %s", id, tenant, rec == v ? "valid" : "broken").isEqualTo(viaRecord);
                    assertThat(indexViaDecoded).isEqualTo(indexViaRecord).isNotEqualTo(Rollup.NO_ID);
                }
                // and the Strings' key would not have been the record's: what the test guards against
                long[] viaStrings = new long[2];
                Event broken = RecordCodec.decodeEvent(bad);
                SeenIds.key(broken.tenant(), broken.eventId(), viaStrings);
                long[] viaRecord = new long[2];
                Rollup.recordIdKey(bad, new EventScratch(), viaRecord);
                assertThat(viaStrings).isNotEqualTo(viaRecord);
            }
        }
    }

    /** Where the UTF-8 bytes of \u00e9 (0xC3 0xA9) begin in {@code b}, from {@code from}; -1 if nowhere. */
    private static int indexOfE9(byte[] b, int from) {
        for (int i = from; i + 1 < b.length; i++) {
            if (b[i] == (byte) 0xC3 && b[i + 1] == (byte) 0xA9) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The id hash's core is MurmurHash3 x64 128: the same 128 bits as Guava's, at every length around the 16-byte blocks,
     * with the bytes at the array's end (read a byte at a time) or followed by others (read as whole words, then masked).
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "bytes after the hashed ones: {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {0, 3, 7, 8, 15, 16})
    void murmur3EqualsGuavasMurmur3(int after) {
        Random rnd = new Random(9);
        long[] out = new long[2];
        for (int len = 0; len <= 70; len++) {
            for (int rep = 0; rep < 20; rep++) {
                byte[] b = new byte[2 + len + after];
                rnd.nextBytes(b);
                int seed = rep == 0 ? 0 : rnd.nextInt(Integer.MAX_VALUE);
                byte[] want = com.google.common.hash.Hashing.murmur3_128(seed).hashBytes(b, 2, len).asBytes();
                java.nio.ByteBuffer w = java.nio.ByteBuffer.wrap(want).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                SeriesIds.murmur3(b, 2, len, seed, out);
                assertThat(out[0]).as("h1, %d bytes, seed %d", len, seed).isEqualTo(w.getLong(0));
                assertThat(out[1]).as("h2, %d bytes, seed %d", len, seed).isEqualTo(w.getLong(8));
            }
        }
    }

    @Test
    void seriesCacheFindsTheSameBytesOnlyAndSurvivesAReset() {
        SeriesCache cache = new SeriesCache(3, Long.MAX_VALUE);
        EventScratch s = new EventScratch();
        Event a = ev("t1", "inference", Map.of("model", "m1"));
        Event b = ev("t1", "inference", Map.of("model", "m2"));
        Event c = ev("t1i", "nference", Map.of("model", "m1")); // same concatenated bytes, different split
        RecordCodec.visitEvent(RecordCodec.encode(a), s);
        int ha = SeriesCache.hash(s);
        assertThat(cache.get(s, ha)).isNull();
        SeriesCache.Entry ea = cache.put(s, ha, "t1", "inference", null);
        // the entry's tenant seed completes a client id's hash as the tenant's bytes do
        long[] viaSeed = new long[2];
        byte[] id = "b-7#3".getBytes(StandardCharsets.UTF_8);
        SeriesIds.idHash(ea.idSeed, id, 0, id.length, viaSeed);
        assertThat(viaSeed).containsExactly(SeriesIds.idHi("t1", "b-7#3"), SeriesIds.idLo("t1", "b-7#3"));
        RecordCodec.visitEvent(RecordCodec.encode(a), s);
        assertThat(cache.get(s, SeriesCache.hash(s))).isSameAs(ea);
        RecordCodec.visitEvent(RecordCodec.encode(b), s);
        assertThat(cache.get(s, SeriesCache.hash(s))).isNull();
        RecordCodec.visitEvent(RecordCodec.encode(c), s);
        assertThat(cache.get(s, SeriesCache.hash(s))).isNull();
        for (int i = 0; i < 10; i++) {
            RecordCodec.visitEvent(RecordCodec.encode(ev("t" + i, "x", Map.of())), s);
            cache.put(s, SeriesCache.hash(s), "t" + i, "x", null);
        }
        assertThat(cache.size()).isLessThanOrEqualTo(3);
    }

    @Test
    void touchingAGroupReadsItsRowsAndCreatesNothing() {
        FlushBuffer buf = new FlushBuffer();
        TreeMap<String, String> labels = new TreeMap<>(Map.of("model", "m1"));
        FlushBuffer.SeriesRef ref = new FlushBuffer.SeriesRef("t", FlushBuffer.KIND_EVENT, "inference", SeriesIds.seriesId("inference", labels), labels);
        FlushBuffer.Group g = buf.group(ref, 10);
        g.add(1.0, false);
        buf.addValue(buf.row(g, "latency_ms", 0), 3.0);
        buf.addValue(buf.row(g, "error", 1), 0.0);
        // the group's count, its rows' count and its two rows' counts
        assertThat(buf.touch(ref, 10)).isEqualTo(1 + 2 + 1 + 1);
        assertThat(buf.touch(ref, 20)).isZero();
        assertThat(buf.seriesRows()).isEqualTo(3);
        assertThat(buf.keys()).isEqualTo(3);
    }

    @Test
    void flushBufferMergesRowsOfEqualSeriesAcrossRefInstances() {
        FlushBuffer buf = new FlushBuffer();
        TreeMap<String, String> labels = new TreeMap<>(Map.of("model", "m1"));
        long sid = SeriesIds.seriesId("inference", labels);
        FlushBuffer.SeriesRef r1 = new FlushBuffer.SeriesRef("t", FlushBuffer.KIND_EVENT, "inference", sid, labels);
        FlushBuffer.SeriesRef r2 = new FlushBuffer.SeriesRef("t", FlushBuffer.KIND_EVENT, "inference", sid, new TreeMap<>(labels));
        for (int i = 0; i < 5000; i++) {
            buf.series(i % 2 == 0 ? r1 : r2, i % 3 == 0 ? "" : new String("latency_ms"), 10L * (i % 7)).add(i, i % 3 != 0);
        }
        buf.addSeries("t", FlushBuffer.KIND_EVENT, "inference", "latency_ms", sid, 0, labels, 1.0, true);
        assertThat(buf.seriesRows()).isEqualTo(14);
        FlushBuffer.SeriesAgg row = buf.series(r2, "latency_ms", 0);
        long expected = 1;
        for (int i = 0; i < 5000; i++) {
            if (i % 3 != 0 && i % 7 == 0) {
                expected++;
            }
        }
        assertThat(row.count).isEqualTo(expected);
        // the way an aggregator before migration 9 wrote it (the views add the 1 m and 1 h rows)
        assertThat(buf.encode(false)).hasSize(1);
        assertThat(buf.encode(false).getFirst().rows().rows()).isEqualTo(14);
        // buckets 0-60 s of two measures: two minutes and one hour each
        List<FlushBuffer.Block> blocks = buf.encode();
        assertThat(blocks).extracting(FlushBuffer.Block::table).containsExactly("vigil_rollup_10s", "vigil_rollup_1m", "vigil_rollup_1h");
        assertThat(blocks).extracting(b -> b.rows().rows()).containsExactly(14, 4, 2);
    }

    @Test
    void coarseRowsHistogramIsTheSumOfTheTenSecondRows() {
        Random rnd = new Random(5);
        for (int round = 0; round < 200; round++) {
            FlushBuffer.WideHist wide = new FlushBuffer.WideHist();
            TreeMap<Integer, Long> expected = new TreeMap<>();
            int rows = 1 + rnd.nextInt(8);
            for (int r = 0; r < rows; r++) {
                FlushBuffer.SeriesAgg row = new FlushBuffer.SeriesAgg(null, "m", 0);
                int n = rnd.nextInt(3000);
                double centre = Math.exp(rnd.nextGaussian() * 8);
                double spread = rnd.nextInt(4) == 0 ? 12 : 1; // some rows wider than any window: the sparse map
                for (int i = 0; i < n; i++) {
                    double v = switch (rnd.nextInt(20)) {
                        case 0 -> 0.0;                          // the zero bucket, outside every window
                        case 1 -> -centre;                      // negative keys
                        case 2 -> 7.0;                          // one bucket wrapping its 8-bit counter
                        default -> centre * Math.exp(rnd.nextGaussian() * spread);
                    };
                    row.add(v, true);
                    expected.merge(FastBuckets.key(v), 1L, Long::sum);
                }
                row.addHistTo(wide);
            }
            RowBinary want = new RowBinary(64);
            want.leb128(expected.size());
            expected.forEach((k, c) -> want.i32(k).i64(c));
            RowBinary got = new RowBinary(64);
            wide.write(got);
            assertThat(got.toArray()).as("round %d", round).isEqualTo(want.toArray());
        }
    }

    @Test
    void queuedHistogramIncrementsWriteTheSameBlockAsDirectOnes() {
        Random rnd = new Random(11);
        TreeMap<String, String> labels = new TreeMap<>(Map.of("model", "m1"));
        FlushBuffer.SeriesRef[] refs = new FlushBuffer.SeriesRef[40];
        for (int i = 0; i < refs.length; i++) {
            refs[i] = new FlushBuffer.SeriesRef("t", FlushBuffer.KIND_EVENT, "inference", i, labels);
        }
        String[] measures = {"latency_ms", "error", "score", "tokens"};
        for (int round = 0; round < 20; round++) {
            FlushBuffer direct = new FlushBuffer();
            FlushBuffer queued = new FlushBuffer();
            // not a multiple of the batch, so encode must apply a partial batch; 0 and 1 keep a round below one batch
            int n = round < 2 ? round * 700 : 1 + rnd.nextInt(40 * FlushBuffer.PENDING_INCREMENTS);
            for (int i = 0; i < n; i++) {
                FlushBuffer.SeriesRef ref = refs[rnd.nextInt(refs.length)];
                long bucket = 10L * rnd.nextInt(6);
                int m = rnd.nextInt(measures.length);
                double v = switch (m) {
                    case 0 -> Math.exp(3 + rnd.nextGaussian());
                    case 1 -> rnd.nextInt(50) == 0 ? 1.0 : 0.0; // zero beside one: the sparse map
                    case 2 -> rnd.nextGaussian() * 100;         // negative and positive keys
                    default -> 7.0;                            // one bucket wrapping its 8-bit counter
                };
                direct.row(direct.group(ref, bucket), measures[m], m).add(v, true);
                queued.addValue(queued.row(queued.group(ref, bucket), measures[m], m), v);
            }
            List<FlushBuffer.Block> a = direct.encode();
            List<FlushBuffer.Block> b = queued.encode();
            assertThat(b).hasSameSizeAs(a);
            for (int i = 0; i < a.size(); i++) {
                assertThat(b.get(i).rows().toArray()).as("round %d, %d values", round, n).isEqualTo(a.get(i).rows().toArray());
            }
        }
    }

    private static Event ev(String tenant, String type, Map<String, String> dims) {
        return new Event(tenant, 1, type, new TreeMap<>(dims), new TreeMap<>(Map.of("latency_ms", 1.0)), null, new TreeMap<>(), null, 1);
    }
}
