package dev.vigil.clickhouse.http;

import dev.vigil.clickhouse.engine.ChdbException;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4FastDecompressor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * ClickHouse's own compressed-block framing (HTTP {@code compress=1} / {@code decompress=1}): each
 * block is a 16-byte CityHash128 v1.0.2 checksum, then a method byte (0x82 LZ4, 0x02 none), the
 * compressed size including the 9-byte header and the uncompressed size (both little-endian int32),
 * then the data. The checksum covers the header byte onwards.
 */
public final class CompressedBlocks {
    public static final byte METHOD_LZ4 = (byte) 0x82;
    public static final byte METHOD_NONE = (byte) 0x02;
    public static final byte METHOD_ZSTD = (byte) 0x90;
    /** ClickHouse's max_compress_block_size default. */
    public static final int BLOCK_SIZE = 1 << 20;
    /** A bound on one block's size, against corrupt headers (ClickHouse uses 1 GiB). */
    static final int MAX_BLOCK = 1 << 30;

    private static final LZ4Factory FACTORY = LZ4Factory.fastestInstance();
    private static final LZ4Compressor COMPRESSOR = FACTORY.fastCompressor();
    private static final LZ4FastDecompressor DECOMPRESSOR = FACTORY.fastDecompressor();

    private CompressedBlocks() {
    }

    /**
     * Frames {@code data[off, off+len)} as one LZ4 block. Always LZ4, even when it does not shrink the
     * data: jdbc-v2 0.10.0 rejects the uncompressed method byte (0x02) with "Invalid LZ4 magic byte".
     */
    public static byte[] encodeBlock(byte[] data, int off, int len) {
        int max = COMPRESSOR.maxCompressedLength(len);
        byte[] out = new byte[25 + max];
        int clen = COMPRESSOR.compress(data, off, len, out, 25, max);
        out[16] = METHOD_LZ4;
        putInt(out, 17, clen + 9);
        putInt(out, 21, len);
        long[] h = CityHash128.hash(out, 16, clen + 9);
        putLong(out, 0, h[0]);
        putLong(out, 8, h[1]);
        byte[] exact = new byte[25 + clen];
        System.arraycopy(out, 0, exact, 0, exact.length);
        return exact;
    }

    /** Decodes a whole framed body. Errors carry ClickHouse's codes for the same failures. */
    public static byte[] decode(byte[] in, int off, int len) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(32, len * 3));
        int p = off;
        int end = off + len;
        while (p < end) {
            if (end - p < 25) {
                throw ChdbException.of(ChdbException.ATTEMPT_TO_READ_AFTER_EOF, "ATTEMPT_TO_READ_AFTER_EOF",
                        "Attempt to read after eof: compressed block header is truncated (" + (end - p) + " of 25 bytes)");
            }
            byte method = in[p + 16];
            int csize = getInt(in, p + 17);
            int usize = getInt(in, p + 21);
            if (method != METHOD_LZ4 && method != METHOD_NONE) {
                throw ChdbException.of(ChdbException.UNKNOWN_COMPRESSION_METHOD, "UNKNOWN_COMPRESSION_METHOD",
                        String.format("Unknown compression method 0x%02x in compressed block", method & 0xFF));
            }
            if (csize < 9 || csize > MAX_BLOCK || usize < 0 || usize > MAX_BLOCK) {
                throw ChdbException.of(ChdbException.TOO_LARGE_SIZE_COMPRESSED, "TOO_LARGE_SIZE_COMPRESSED",
                        "Too large size_compressed_without_checksum: " + csize + " or size_decompressed: " + usize
                                + ". Most likely corrupted data");
            }
            if (end - (p + 16) < csize) {
                throw ChdbException.of(ChdbException.ATTEMPT_TO_READ_AFTER_EOF, "ATTEMPT_TO_READ_AFTER_EOF",
                        "Attempt to read after eof: compressed block is truncated (" + (end - p - 16) + " of " + csize
                                + " bytes)");
            }
            long[] h = CityHash128.hash(in, p + 16, csize);
            if (h[0] != getLong(in, p) || h[1] != getLong(in, p + 8)) {
                throw ChdbException.of(ChdbException.CHECKSUM_DOESNT_MATCH, "CHECKSUM_DOESNT_MATCH",
                        "Checksum doesn't match: corrupted data");
            }
            int dataStart = p + 25;
            int dataLen = csize - 9;
            if (method == METHOD_NONE) {
                if (dataLen != usize) {
                    throw ChdbException.of(ChdbException.CANNOT_DECOMPRESS, "CANNOT_DECOMPRESS",
                            "Uncompressed block size " + dataLen + " differs from declared " + usize);
                }
                out.write(in, dataStart, dataLen);
            } else {
                byte[] u = new byte[usize];
                try {
                    int read = DECOMPRESSOR.decompress(in, dataStart, u, 0, usize);
                    if (read != dataLen) {
                        throw new LZ4Exception("consumed " + read + " of " + dataLen + " bytes");
                    }
                } catch (LZ4Exception e) {
                    throw ChdbException.of(ChdbException.CANNOT_DECOMPRESS, "CANNOT_DECOMPRESS",
                            "Cannot decompress LZ4-encoded data: " + e.getMessage());
                }
                out.write(u, 0, usize);
            }
            p += 16 + csize;
        }
        return out.toByteArray();
    }

    /**
     * An output stream that frames what is written into blocks of {@code blockSize} (the last one shorter).
     * The buffer starts small and grows up to the block size, so a small response does not pay for
     * allocating (and zeroing) a whole 1 MiB block.
     */
    public static final class Output extends OutputStream {
        private final OutputStream out;
        private final int blockSize;
        private byte[] buf;
        private int n;

        public Output(OutputStream out, int blockSize) {
            this.out = out;
            this.blockSize = blockSize;
            this.buf = new byte[Math.min(blockSize, 4096)];
        }

        /** Room for at least one more byte in the current block. */
        private void room(int wanted) throws IOException {
            if (n == blockSize) {
                emit();
            } else if (n == buf.length) {
                buf = java.util.Arrays.copyOf(buf, (int) Math.min(blockSize, Math.max(2L * buf.length, (long) n + wanted)));
            }
        }

        @Override
        public void write(int b) throws IOException {
            room(1);
            buf[n++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                room(len);
                int k = Math.min(len, buf.length - n);
                System.arraycopy(b, off, buf, n, k);
                n += k;
                off += k;
                len -= k;
            }
        }

        private void emit() throws IOException {
            if (n > 0) {
                out.write(encodeBlock(buf, 0, n));
                n = 0;
            }
        }

        @Override
        public void flush() throws IOException {
            emit();
            out.flush();
        }

        @Override
        public void close() throws IOException {
            emit();
            out.close();
        }
    }

    static int getInt(byte[] b, int i) {
        return (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8 | (b[i + 2] & 0xFF) << 16 | (b[i + 3] & 0xFF) << 24;
    }

    static long getLong(byte[] b, int i) {
        return (getInt(b, i) & 0xFFFFFFFFL) | ((long) getInt(b, i + 4)) << 32;
    }

    static void putInt(byte[] b, int i, int v) {
        b[i] = (byte) v;
        b[i + 1] = (byte) (v >>> 8);
        b[i + 2] = (byte) (v >>> 16);
        b[i + 3] = (byte) (v >>> 24);
    }

    static void putLong(byte[] b, int i, long v) {
        putInt(b, i, (int) v);
        putInt(b, i + 4, (int) (v >>> 32));
    }
}
