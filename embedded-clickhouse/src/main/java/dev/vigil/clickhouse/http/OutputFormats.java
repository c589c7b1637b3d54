package dev.vigil.clickhouse.http;

import java.util.Arrays;
import java.util.Locale;
import java.util.Set;

/**
 * What the server needs to know about an output format: its Content-Type, and how to join the chunks
 * of chDB's streaming API (which repeats the format's header in every chunk) into one valid body.
 */
public final class OutputFormats {
    private OutputFormats() {
    }

    public enum Join {
        /** Chunks concatenate as they are (no header, or self-describing blocks like Native). */
        CONCAT,
        /** Header is the first line of the first chunk, repeated at the start of later chunks. */
        LINES_1,
        /** Header is the first two lines. */
        LINES_2,
        /** RowBinaryWithNames: varint count then names. */
        ROWBINARY_NAMES,
        /** RowBinaryWithNamesAndTypes: varint count, names, types. */
        ROWBINARY_NAMES_TYPES,
        /** Document formats (JSON, XML, Parquet, Pretty...): run the query materialised instead. */
        WHOLE
    }

    private static final Set<String> CONCAT = Set.of("TabSeparated", "TSV", "TabSeparatedRaw", "TSVRaw", "Raw",
            "CSV", "JSONEachRow", "JSONLines", "NDJSON", "JSONStringsEachRow", "JSONCompactEachRow",
            "JSONCompactStringsEachRow", "JSONObjectEachRow", "RowBinary", "Native", "Values", "TSKV", "RawBLOB",
            "LineAsString", "Null", "MsgPack", "BSONEachRow", "CustomSeparated", "CustomSeparatedIgnoreSpaces");
    private static final Set<String> LINES1 = Set.of("TabSeparatedWithNames", "TSVWithNames",
            "TabSeparatedRawWithNames", "TSVRawWithNames", "RawWithNames", "CSVWithNames",
            "JSONCompactEachRowWithNames", "JSONCompactStringsEachRowWithNames");
    private static final Set<String> LINES2 = Set.of("TabSeparatedWithNamesAndTypes", "TSVWithNamesAndTypes",
            "TabSeparatedRawWithNamesAndTypes", "TSVRawWithNamesAndTypes", "RawWithNamesAndTypes",
            "CSVWithNamesAndTypes", "JSONCompactEachRowWithNamesAndTypes",
            "JSONCompactStringsEachRowWithNamesAndTypes");

    public static Join join(String format) {
        if (CONCAT.contains(format)) {
            return Join.CONCAT;
        }
        if (LINES1.contains(format)) {
            return Join.LINES_1;
        }
        if (LINES2.contains(format)) {
            return Join.LINES_2;
        }
        if (format.equals("RowBinaryWithNames")) {
            return Join.ROWBINARY_NAMES;
        }
        if (format.equals("RowBinaryWithNamesAndTypes")) {
            return Join.ROWBINARY_NAMES_TYPES;
        }
        return Join.WHOLE;
    }

    public static String contentType(String format) {
        String f = format.toLowerCase(Locale.ROOT);
        if (f.startsWith("tabseparated") || f.startsWith("tsv")) {
            return "text/tab-separated-values; charset=UTF-8";
        }
        if (f.startsWith("csv")) {
            return "text/csv; charset=UTF-8; header=" + (f.contains("withnames") ? "present" : "absent");
        }
        if (f.startsWith("json") || f.equals("ndjson")) {
            return f.contains("eachrow") || f.equals("jsonlines") || f.equals("ndjson")
                    ? "application/x-ndjson; charset=UTF-8" : "application/json; charset=UTF-8";
        }
        if (f.equals("xml")) {
            return "application/xml; charset=UTF-8";
        }
        if (f.startsWith("pretty") || f.equals("vertical") || f.equals("markdown") || f.equals("values")
                || f.equals("tskv") || f.equals("lineasstring")) {
            return "text/plain; charset=UTF-8";
        }
        return "application/octet-stream";
    }

    /** Strips the header chDB repeats at the start of every chunk after the first. */
    public static final class HeaderStripper {
        private final Join join;
        private byte[] header;

        public HeaderStripper(Join join) {
            this.join = join;
        }

        /** Returns the bytes of this chunk to send (the chunk itself, or a copy without the header). */
        public byte[] apply(byte[] chunk) {
            if (join == Join.CONCAT || join == Join.WHOLE) {
                return chunk;
            }
            if (header == null) {
                int h = headerLength(chunk);
                header = Arrays.copyOf(chunk, Math.max(0, h));
                return chunk;
            }
            if (header.length > 0 && chunk.length >= header.length
                    && Arrays.equals(chunk, 0, header.length, header, 0, header.length)) {
                return Arrays.copyOfRange(chunk, header.length, chunk.length);
            }
            return chunk;
        }

        int headerLength(byte[] c) {
            switch (join) {
                case LINES_1, LINES_2 -> {
                    int lines = join == Join.LINES_1 ? 1 : 2;
                    int p = 0;
                    for (int i = 0; i < lines; i++) {
                        while (p < c.length && c[p] != '\n') {
                            p++;
                        }
                        if (p >= c.length) {
                            return 0;
                        }
                        p++;
                    }
                    return p;
                }
                case ROWBINARY_NAMES, ROWBINARY_NAMES_TYPES -> {
                    int[] pos = {0};
                    long n = varint(c, pos);
                    if (n < 0) {
                        return 0;
                    }
                    long strings = join == Join.ROWBINARY_NAMES ? n : 2 * n;
                    for (long i = 0; i < strings; i++) {
                        long len = varint(c, pos);
                        if (len < 0 || pos[0] + len > c.length) {
                            return 0;
                        }
                        pos[0] += (int) len;
                    }
                    return pos[0];
                }
                default -> {
                    return 0;
                }
            }
        }

        private static long varint(byte[] c, int[] pos) {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos[0] >= c.length) {
                    return -1;
                }
                byte b = c[pos[0]++];
                v |= (long) (b & 0x7F) << shift;
                if ((b & 0x80) == 0) {
                    return v;
                }
            }
            return -1;
        }
    }
}
