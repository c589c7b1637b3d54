package dev.vigil.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

import org.xerial.snappy.Snappy;

import com.github.luben.zstd.ZstdInputStream;

/**
 * Decompression of request bodies with a hard cap on the decompressed size. Decompression
 * streams: a bomb is stopped as soon as the cap is crossed, never inflated in full. Snappy
 * (block format, as remote write sends it) declares its length up front, which is checked
 * before anything is allocated.
 */
public final class BodyDecoder {
    private BodyDecoder() {
    }

    public enum Encoding { IDENTITY, GZIP, ZSTD, SNAPPY }

    public static Encoding encoding(String header) {
        if (header == null || header.isBlank()) {
            return Encoding.IDENTITY;
        }
        return switch (header.trim().toLowerCase(Locale.ROOT)) {
            case "identity" -> Encoding.IDENTITY;
            case "gzip", "x-gzip" -> Encoding.GZIP;
            case "zstd" -> Encoding.ZSTD;
            case "snappy" -> Encoding.SNAPPY;
            default -> throw new RequestException(415, "unsupported_encoding",
                    "unsupported Content-Encoding '" + header + "' (accepted: identity, gzip, zstd, snappy)");
        };
    }

    /** A stream of the decoded body that fails with 413 past {@code cap} bytes and 400 on corrupt input. */
    public static InputStream stream(InputStream raw, Encoding enc, long cap) {
        return switch (enc) {
            case IDENTITY -> new Capped(raw, cap, "identity");
            case GZIP -> new Capped(new Lazy(() -> new GZIPInputStream(raw, 8192)), cap, "gzip");
            case ZSTD -> new Capped(new Lazy(() -> new ZstdInputStream(raw)), cap, "zstd");
            case SNAPPY -> {
                try {
                    yield new java.io.ByteArrayInputStream(snappy(raw.readAllBytes(), cap));
                } catch (IOException e) {
                    throw corrupt("snappy", e);
                }
            }
        };
    }

    /** The whole decoded body (for protobuf), capped. */
    public static byte[] bytes(InputStream raw, Encoding enc, long cap) {
        if (enc == Encoding.SNAPPY) {
            try {
                return snappy(raw.readAllBytes(), cap);
            } catch (IOException e) {
                throw corrupt("snappy", e);
            }
        }
        try (InputStream in = stream(raw, enc, cap)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
            in.transferTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw corrupt(enc.name().toLowerCase(Locale.ROOT), e);
        }
    }

    static byte[] snappy(byte[] compressed, long cap) {
        // The block format starts with the decompressed length as a varint: check it before anything else.
        long declared = 0;
        for (int i = 0, shift = 0; i < compressed.length && i < 10; i++, shift += 7) {
            declared |= (long) (compressed[i] & 0x7F) << shift;
            if ((compressed[i] & 0x80) == 0) {
                break;
            }
        }
        if (declared > cap) {
            throw RequestException.tooLarge("decompressed_too_large",
                    "snappy body declares " + declared + " decompressed bytes, limit " + cap);
        }
        int n;
        try {
            n = Snappy.uncompressedLength(compressed);
        } catch (IOException | RuntimeException e) {
            throw corrupt("snappy", e);
        }
        if (n < 0 || n > cap) {
            throw RequestException.tooLarge("decompressed_too_large",
                    "snappy body declares " + Integer.toUnsignedString(n) + " decompressed bytes, limit " + cap);
        }
        try {
            if (!Snappy.isValidCompressedBuffer(compressed)) {
                throw corrupt("snappy", new IOException("invalid snappy block"));
            }
            return Snappy.uncompress(compressed);
        } catch (IOException | RuntimeException e) {
            if (e instanceof RequestException re) {
                throw re;
            }
            throw corrupt("snappy", e);
        }
    }

    static RequestException corrupt(String enc, Exception e) {
        return RequestException.badRequest("corrupt_body", "cannot decode " + enc + " body: " + e.getMessage());
    }

    @FunctionalInterface
    private interface Opener {
        InputStream open() throws IOException;
    }

    /** Opens the decompressor on first read, so a corrupt header surfaces as a read error. */
    private static final class Lazy extends InputStream {
        private final Opener opener;
        private InputStream in;

        Lazy(Opener opener) {
            this.opener = opener;
        }

        private InputStream in() throws IOException {
            if (in == null) {
                in = opener.open();
            }
            return in;
        }

        @Override
        public int read() throws IOException {
            return in().read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return in().read(b, off, len);
        }

        @Override
        public void close() throws IOException {
            if (in != null) {
                in.close();
            }
        }
    }

    /** Counts bytes read, fails with 413 past the cap and turns decoder IOExceptions into 400. */
    private static final class Capped extends InputStream {
        private final InputStream in;
        private final long cap;
        private final String enc;
        private long count;

        Capped(InputStream in, long cap, String enc) {
            this.in = in;
            this.cap = cap;
            this.enc = enc;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            int n;
            try {
                n = in.read(b, off, (int) Math.min(len, cap + 1 - count));
            } catch (IOException e) {
                throw corrupt(enc, e);
            } catch (RuntimeException e) {
                if (e instanceof RequestException re) {
                    throw re;
                }
                throw corrupt(enc, e);
            }
            if (n > 0) {
                count += n;
                if (count > cap) {
                    throw RequestException.tooLarge("decompressed_too_large",
                            "body exceeds " + cap + " bytes after decompression");
                }
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
