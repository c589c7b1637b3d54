package dev.vigil.clickhouse.http;

import com.clickhouse.client.api.internal.ClickHouseLZ4InputStream;
import dev.vigil.clickhouse.engine.ChdbException;
import net.jpountz.lz4.LZ4Factory;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CompressedBlocksTest {
    static byte[] sample(int n) {
        byte[] b = new byte[n];
        Random r = new Random(n);
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i % 7 == 0 ? r.nextInt() : 'a' + i % 5);
        }
        return b;
    }

    @Test
    void streamOutputIsReadableByTheDriver() throws Exception {
        byte[] data = sample(3 * CompressedBlocks.BLOCK_SIZE + 12345);
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (CompressedBlocks.Output out = new CompressedBlocks.Output(bos, CompressedBlocks.BLOCK_SIZE)) {
            out.write(data, 0, 1000);
            out.write(data, 1000, data.length - 1000);
        }
        byte[] framed = bos.toByteArray();
        try (var in = new ClickHouseLZ4InputStream(new ByteArrayInputStream(framed),
                LZ4Factory.fastestInstance().fastDecompressor(), 8192)) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
        assertThat(CompressedBlocks.decode(framed, 0, framed.length)).isEqualTo(data);
    }

    @Test
    void incompressibleAndTinyDataStillUseLz4() {
        for (byte[] d : new byte[][] {new byte[0], {1}, sample(17)}) {
            byte[] block = CompressedBlocks.encodeBlock(d, 0, d.length);
            assertThat(block[16]).isEqualTo(CompressedBlocks.METHOD_LZ4);
            assertThat(CompressedBlocks.decode(block, 0, block.length)).isEqualTo(d);
        }
    }

    @Test
    void corruptTruncatedAndUnknownBlocksAreRefusedWithClickHouseCodes() {
        byte[] data = sample(10_000);
        byte[] block = CompressedBlocks.encodeBlock(data, 0, data.length);
        byte[] corrupt = block.clone();
        corrupt[40] ^= 1;
        assertThatThrownBy(() -> CompressedBlocks.decode(corrupt, 0, corrupt.length))
                .isInstanceOfSatisfying(ChdbException.class, e -> assertThat(e.code()).isEqualTo(40));
        byte[] truncated = Arrays.copyOf(block, block.length - 1);
        assertThatThrownBy(() -> CompressedBlocks.decode(truncated, 0, truncated.length))
                .isInstanceOfSatisfying(ChdbException.class, e -> assertThat(e.code()).isEqualTo(32));
        byte[] headerOnly = Arrays.copyOf(block, 10);
        assertThatThrownBy(() -> CompressedBlocks.decode(headerOnly, 0, headerOnly.length))
                .isInstanceOfSatisfying(ChdbException.class, e -> assertThat(e.code()).isEqualTo(32));
        byte[] zstd = block.clone();
        zstd[16] = (byte) 0x90;
        assertThatThrownBy(() -> CompressedBlocks.decode(zstd, 0, zstd.length))
                .isInstanceOfSatisfying(ChdbException.class, e -> assertThat(e.code()).isEqualTo(89));
    }
}
