package dev.vigil.promql;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * String helpers mimicking Go semantics. Invalid UTF-8 bytes in string literals are kept as
 * lone low surrogates U+DC80..U+DCFF ("surrogateescape") so they can be reported faithfully.
 */
public final class Strings {
    private Strings() {}

    public static boolean isValidUtf8(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) { i++; continue; }
                return false;
            }
        }
        return true;
    }

    /** Decodes bytes as UTF-8, mapping invalid bytes to U+DC80+b. */
    public static String decodeBytes(byte[] b, int len) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            return dec.decode(ByteBuffer.wrap(b, 0, len)).toString();
        } catch (CharacterCodingException e) {
            StringBuilder sb = new StringBuilder();
            int i = 0;
            while (i < len) {
                int c = b[i] & 0xff;
                int n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
                if (n > 0 && i + n <= len) {
                    try {
                        sb.append(dec.reset().decode(ByteBuffer.wrap(b, i, n)));
                        i += n;
                        continue;
                    } catch (CharacterCodingException ignored) { }
                }
                sb.append((char) (0xDC00 + c));
                i++;
            }
            return sb.toString();
        }
    }

    /** Go strconv.Quote-like quoting with double quotes. */
    public static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case 7 -> sb.append("\\a");
                case 8 -> sb.append("\\b");
                case 12 -> sb.append("\\f");
                case 11 -> sb.append("\\v");
                default -> {
                    if (c >= 0xDC80 && c <= 0xDCFF && !(i > 0 && Character.isHighSurrogate(s.charAt(i - 1)))) {
                        sb.append(String.format("\\x%02x", c - 0xDC00));
                    } else if (c < 0x20 || c == 0x7f) {
                        sb.append(String.format("\\x%02x", (int) c));
                    } else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }

    /** Unquotes a PromQL string literal including its quotes ("...", '...' or `...`). */
    public static String unquote(String lit) {
        char q = lit.charAt(0);
        String body = lit.substring(1, lit.length() - 1);
        if (q == '`') return body;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int i = 0;
        while (i < body.length()) {
            char c = body.charAt(i);
            if (c != '\\') {
                int cp = body.codePointAt(i);
                byte[] bs = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8);
                out.writeBytes(bs);
                i += Character.charCount(cp);
                continue;
            }
            if (i + 1 >= body.length()) throw new IllegalArgumentException("invalid syntax");
            char e = body.charAt(i + 1);
            i += 2;
            switch (e) {
                case 'a' -> out.write(7);
                case 'b' -> out.write(8);
                case 'f' -> out.write(12);
                case 'n' -> out.write('\n');
                case 'r' -> out.write('\r');
                case 't' -> out.write('\t');
                case 'v' -> out.write(11);
                case '\\' -> out.write('\\');
                case '\'' -> { if (q != '\'') throw new IllegalArgumentException("invalid syntax"); out.write('\''); }
                case '"' -> { if (q != '"') throw new IllegalArgumentException("invalid syntax"); out.write('"'); }
                case 'x' -> { out.write(Integer.parseInt(body.substring(i, i + 2), 16)); i += 2; }
                case 'u', 'U' -> {
                    int n = e == 'u' ? 4 : 8;
                    int cp = Integer.parseInt(body.substring(i, i + n), 16);
                    i += n;
                    out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = Integer.parseInt(body.substring(i - 1, i + 2), 8);
                        i += 2;
                        out.write(v);
                    } else throw new IllegalArgumentException("unknown escape sequence");
                }
            }
        }
        byte[] b = out.toByteArray();
        return decodeBytes(b, b.length);
    }
}
