package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

class RowBinaryTest {
    @Test
    void stringsAreUtf8WithTheirByteLengthWhetherAsciiOrNot() throws Exception {
        String long200 = "u".repeat(200); // a length that needs two LEB128 bytes
        for (String s : new String[] {"", "exp-42", "ab\u00e9c", "\u00e9", "x\uD83D\uDE00y", long200, long200 + "\u00e9"}) {
            RowBinary rb = new RowBinary(1);
            rb.u16(7).str(s).u16(9);
            byte[] utf8 = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            java.io.ByteArrayOutputStream want = new java.io.ByteArrayOutputStream();
            want.write(new byte[] {7, 0});
            int n = utf8.length;
            while ((n & ~0x7F) != 0) {
                want.write((n & 0x7F) | 0x80);
                n >>>= 7;
            }
            want.write(n);
            want.write(utf8);
            want.write(new byte[] {9, 0});
            assertThat(rb.toArray()).as(s).containsExactly(want.toByteArray());
        }
    }

    @Test
    void encodesLittleEndianAndLeb128() {
        RowBinary rb = new RowBinary(8);
        rb.i32(1).leb128(300).str("é").u16(0x0102).endRow();
        assertThat(rb.toArray()).containsExactly(1, 0, 0, 0, (byte) 0xAC, 0x02, 2, (byte) 0xC3, (byte) 0xA9, 2, 1);
        assertThat(rb.rows()).isEqualTo(1);
    }

    @Test
    void histogramMapIsSortedAndSummed() {
        IntLongMap m = new IntLongMap();
        for (int i = 0; i < 100; i++) {
            m.add(i % 7 - 3, 1);
        }
        RowBinary rb = new RowBinary(8);
        m.writeTo(rb);
        byte[] b = rb.toArray();
        assertThat(b[0]).isEqualTo((byte) 7);
        assertThat(b[1]).isEqualTo((byte) -3);
        assertThat(m.get(0)).isEqualTo(14 + (100 % 7 > 3 ? 1 : 0));
    }

    @Test
    void seriesIdIsStableAndLabelSensitive() {
        Map<String, String> a = new TreeMap<>(Map.of("model", "m1", "region", "eu"));
        Map<String, String> b = new TreeMap<>(Map.of("model", "m1", "region", "us"));
        assertThat(SeriesIds.seriesId("inference", a)).isEqualTo(SeriesIds.seriesId("inference", new TreeMap<>(a)));
        assertThat(SeriesIds.seriesId("inference", a)).isNotEqualTo(SeriesIds.seriesId("inference", b));
        assertThat(SeriesIds.seriesId("inference", Map.of())).isNotEqualTo(SeriesIds.seriesId("inferenc", Map.of()));
    }

    @Test
    void jobSpecValidates() {
        JobSpec s = JobSpec.events("events", "vigil.events");
        assertThat(s.rollups()).containsExactlyInAnyOrder("series", "experiments", "exposures");
        assertThat(s.bucketSeconds()).isEqualTo(10);
        assertThatThrownBy(() -> new JobSpec("x", "t", "events", java.util.List.of("raw"), null, null, null, null, null, null).normalized())
                .hasMessageContaining("rollups");
        assertThatThrownBy(() -> new JobSpec("x", "t", "events", null, 7, null, null, null, null, null).normalized())
                .hasMessageContaining("bucket_seconds");
        assertThatThrownBy(() -> new JobSpec("Bad Name", "t", "events", null, null, null, null, null, null, null).normalized())
                .hasMessageContaining("name");
        assertThatThrownBy(() -> new JobSpec("x", "t", "events", null, null, null, null, null, null, 0).normalized())
                .hasMessageContaining("consumers must be in [1, 64], got 0");
        assertThatThrownBy(() -> new JobSpec("x", "t", "events", null, null, null, null, null, null, 65).normalized())
                .hasMessageContaining("consumers");
    }

    @Test
    void oneConsumerIsStoredAsAbsentSoOlderInstancesStillReadTheSpec() throws Exception {
        JobSpec one = new JobSpec("x", "t", "events", null, null, null, null, null, null, 1).normalized();
        assertThat(one.consumerCount()).isEqualTo(1);
        assertThat(GoalStore.JSON.writeValueAsString(one)).doesNotContain("consumers");
        JobSpec two = new JobSpec("x", "t", "events", null, null, null, null, null, null, 2).normalized();
        assertThat(two.consumerCount()).isEqualTo(2);
        String json = GoalStore.JSON.writeValueAsString(two);
        assertThat(json).contains("\"consumers\":2");
        assertThat(GoalStore.JSON.readValue(json, JobSpec.class).normalized()).isEqualTo(two);
    }

    @Test
    void migrationsAreOrderedAndIdempotent() {
        int v = 0;
        for (Migrations.Migration m : Migrations.ALL) {
            assertThat(m.version()).isGreaterThan(v);
            v = m.version();
            for (String s : m.statements()) {
                // DDL is IF NOT EXISTS; a backfill INSERT runs only while its target is empty; a view's
                // MODIFY QUERY sets the same query again, a MODIFY TTL the same TTL (which the retention keys then set)
                assertThat(s).containsAnyOf("IF NOT EXISTS", ") = 0\n", " MODIFY QUERY\n", " MODIFY TTL ");
            }
        }
    }
}
