package dev.vigil.clickhouse.http;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class HeaderStripperTest {
    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void stripsRepeatedTextHeaders() {
        var s = new OutputFormats.HeaderStripper(OutputFormats.join("TSVWithNamesAndTypes"));
        assertThat(s.apply(b("n\ns\nUInt64\tString\n0\ta\n"))).isEqualTo(b("n\ns\nUInt64\tString\n0\ta\n"));
        // Header "n\ns\n" here is the first two lines of the first chunk.
        assertThat(s.apply(b("n\ns\n1\tb\n"))).isEqualTo(b("1\tb\n"));
        assertThat(s.apply(b("2\tc\n"))).isEqualTo(b("2\tc\n"));
    }

    @Test
    void stripsRepeatedRowBinaryHeaders() {
        byte[] header = {2, 1, 'a', 1, 'b', 6, 'U', 'I', 'n', 't', '6', '4', 6, 'S', 't', 'r', 'i', 'n', 'g'};
        byte[] first = new byte[header.length + 3];
        System.arraycopy(header, 0, first, 0, header.length);
        first[header.length] = 9;
        var s = new OutputFormats.HeaderStripper(OutputFormats.join("RowBinaryWithNamesAndTypes"));
        assertThat(s.apply(first)).isEqualTo(first);
        byte[] second = first.clone();
        second[header.length] = 10;
        assertThat(s.apply(second)).containsExactly(10, 0, 0);
    }

    @Test
    void documentFormatsAreNotStreamed() {
        assertThat(OutputFormats.join("JSON")).isEqualTo(OutputFormats.Join.WHOLE);
        assertThat(OutputFormats.join("Parquet")).isEqualTo(OutputFormats.Join.WHOLE);
        assertThat(OutputFormats.join("Native")).isEqualTo(OutputFormats.Join.CONCAT);
        assertThat(OutputFormats.contentType("JSON")).startsWith("application/json");
        assertThat(OutputFormats.contentType("RowBinaryWithNamesAndTypes")).isEqualTo("application/octet-stream");
    }
}
