package dev.vigil.promql.parser;

/** A PromQL parse error with its position (0-based offset, 1-based line and column). */
public final class ParseException extends RuntimeException {
    private final int offset;
    private final int line;
    private final int column;
    private final String detail;

    public ParseException(String query, int offset, String detail) {
        super(format(query, offset, detail));
        this.offset = offset;
        int l = 1, c = 1;
        for (int i = 0; i < Math.min(offset, query.length()); i++) {
            if (query.charAt(i) == '\n') { l++; c = 1; } else c++;
        }
        this.line = l;
        this.column = c;
        this.detail = detail;
    }

    private static String format(String q, int offset, String detail) {
        int l = 1, c = 1;
        for (int i = 0; i < Math.min(offset, q.length()); i++) {
            if (q.charAt(i) == '\n') { l++; c = 1; } else c++;
        }
        return l + ":" + c + ": parse error: " + detail;
    }

    public int offset() { return offset; }
    public int line() { return line; }
    public int column() { return column; }
    public String detail() { return detail; }
}
