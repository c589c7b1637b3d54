package dev.vigil.clickhouse.http;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Just enough of ClickHouse's lexer to route a request: the statement's first keyword, whether it holds
 * more than one statement, the FORMAT clause, and for an INSERT where its inline data starts (after
 * {@code FORMAT name} or {@code VALUES}), so the data can go to the engine's streaming insert instead of
 * through the SQL parser. Data after the start is never lexed.
 */
public final class SqlStatement {
    public enum Kind { EMPTY, SELECT, INSERT, SET, USE, OTHER }

    public final Kind kind;
    /** First keyword, upper case ("SELECT", "CREATE", ...); "(" for a parenthesised query. */
    public final String keyword;
    public final boolean multiStatement;
    /** The top-level FORMAT clause's format (for an INSERT: its input format, "Values" for VALUES). */
    public final String format;
    /** INSERT only: end (exclusive) of the statement head, before FORMAT/VALUES. */
    public final int insertHeadEnd;
    /** INSERT only: where inline data starts, or -1 for INSERT ... SELECT. */
    public final int dataStart;
    /** For USE: the database named. */
    public final String useDatabase;
    /** Start of the statement (after leading whitespace and comments). */
    public final int start;

    private SqlStatement(Kind kind, String keyword, boolean multi, String format, int headEnd, int dataStart,
                         String useDatabase, int start) {
        this.kind = kind;
        this.keyword = keyword;
        this.multiStatement = multi;
        this.format = format;
        this.insertHeadEnd = headEnd;
        this.dataStart = dataStart;
        this.useDatabase = useDatabase;
        this.start = start;
    }

    /** True for statements chDB's streaming query API accepts (SELECT / WITH / parenthesised). */
    public boolean streamable() {
        return kind == Kind.SELECT;
    }

    public boolean hasInlineData() {
        return kind == Kind.INSERT && dataStart >= 0;
    }

    public static SqlStatement parse(String sql) {
        byte[] b = sql.getBytes(StandardCharsets.UTF_8);
        return parse(b, 0, b.length);
    }

    public static SqlStatement parse(byte[] s, int from, int to) {
        Lexer lx = new Lexer(s, from, to);
        Token first = lx.next();
        if (first == null) {
            return new SqlStatement(Kind.EMPTY, "", false, null, -1, -1, null, to);
        }
        String kw = first.type == T.WORD ? first.text(s).toUpperCase(Locale.ROOT) : first.text(s);
        Kind kind = switch (kw) {
            case "SELECT", "WITH", "(" -> Kind.SELECT;
            case "INSERT" -> Kind.INSERT;
            case "SET" -> Kind.SET;
            case "USE" -> Kind.USE;
            default -> Kind.OTHER;
        };
        int depth = first.type == T.OPEN ? 1 : 0;
        String format = null;
        boolean multi = false;
        String useDb = null;
        if (kind == Kind.USE) {
            Token db = lx.next();
            if (db != null) {
                useDb = db.type == T.QUOTED_ID ? db.unquoted(s) : db.text(s);
            }
        }
        Token prev = first;
        while (true) {
            Token t = lx.next();
            if (t == null) {
                break;
            }
            switch (t.type) {
                case OPEN -> depth++;
                case CLOSE -> depth = Math.max(0, depth - 1);
                case SEMICOLON -> {
                    if (depth == 0) {
                        // Only whitespace and comments may follow the last statement.
                        if (lx.next() != null) {
                            multi = true;
                        }
                        return new SqlStatement(kind, kw, multi, format, kind == Kind.INSERT ? t.start : -1, -1,
                                useDb, first.start);
                    }
                }
                case WORD -> {
                    if (depth == 0) {
                        String w = t.text(s).toUpperCase(Locale.ROOT);
                        if (w.equals("FORMAT") && !(prev.type == T.OTHER && prev.text(s).equals("."))) {
                            int save = lx.pos;
                            Token name = lx.next();
                            if (name != null && (name.type == T.WORD || name.type == T.QUOTED_ID)) {
                                String fname = name.type == T.QUOTED_ID ? name.unquoted(s) : name.text(s);
                                if (kind == Kind.INSERT) {
                                    return new SqlStatement(kind, kw, false, fname, t.start, dataStartAfter(s, name.end, to),
                                            null, first.start);
                                }
                                format = fname;
                                prev = name;
                                continue;
                            }
                            lx.pos = save;
                        } else if (kind == Kind.INSERT && w.equals("VALUES")) {
                            return new SqlStatement(kind, kw, false, "Values", t.start, t.end, null, first.start);
                        } else if (kind == Kind.INSERT && (w.equals("SELECT") || w.equals("WITH"))
                                && prev.type != T.OTHER) {
                            // INSERT ... SELECT: no inline data; the rest is SQL.
                            kind = Kind.INSERT;
                            return finishInsertSelect(lx, s, kw, first.start, depth);
                        }
                    }
                }
                default -> {
                }
            }
            prev = t;
        }
        return new SqlStatement(kind, kw, false, format, kind == Kind.INSERT ? to : -1, -1, useDb, first.start);
    }

    private static SqlStatement finishInsertSelect(Lexer lx, byte[] s, String kw, int start, int depth) {
        boolean multi = false;
        while (true) {
            Token t = lx.next();
            if (t == null) {
                break;
            }
            if (t.type == T.OPEN) {
                depth++;
            } else if (t.type == T.CLOSE) {
                depth = Math.max(0, depth - 1);
            } else if (t.type == T.SEMICOLON && depth == 0) {
                multi = lx.next() != null;
                break;
            }
        }
        return new SqlStatement(Kind.INSERT, kw, multi, null, -1, -1, null, start);
    }

    /** ClickHouse: data starts after the first newline following the format name, or after blanks. */
    static int dataStartAfter(byte[] s, int p, int to) {
        while (p < to && (s[p] == ' ' || s[p] == '\t' || s[p] == '\f')) {
            p++;
        }
        if (p < to && s[p] == '\r') {
            p++;
        }
        if (p < to && s[p] == '\n') {
            p++;
        }
        return p;
    }

    enum T { WORD, STRING, QUOTED_ID, NUMBER, OPEN, CLOSE, SEMICOLON, OTHER }

    record Token(T type, int start, int end) {
        String text(byte[] s) {
            return new String(s, start, end - start, StandardCharsets.UTF_8);
        }

        String unquoted(byte[] s) {
            return new String(s, start + 1, Math.max(0, end - start - 2), StandardCharsets.UTF_8);
        }
    }

    static final class Lexer {
        final byte[] s;
        final int to;
        int pos;

        Lexer(byte[] s, int from, int to) {
            this.s = s;
            this.pos = from;
            this.to = to;
        }

        /** Next significant token, or null at the end. Unterminated literals run to the end. */
        Token next() {
            skipBlank();
            if (pos >= to) {
                return null;
            }
            int st = pos;
            byte c = s[pos];
            if (c == '\'' || c == '"' || c == '`') {
                pos = skipQuoted(pos, c);
                return new Token(c == '\'' ? T.STRING : T.QUOTED_ID, st, pos);
            }
            if (isWordStart(c)) {
                while (pos < to && isWordPart(s[pos])) {
                    pos++;
                }
                return new Token(T.WORD, st, pos);
            }
            if (c >= '0' && c <= '9') {
                while (pos < to && (isWordPart(s[pos]) || s[pos] == '.')) {
                    pos++;
                }
                return new Token(T.NUMBER, st, pos);
            }
            if (c == '$') {
                int q = heredocEnd(pos);
                if (q > 0) {
                    pos = q;
                    return new Token(T.STRING, st, pos);
                }
            }
            pos++;
            return switch (c) {
                case '(', '[' -> new Token(T.OPEN, st, pos);
                case ')', ']' -> new Token(T.CLOSE, st, pos);
                case ';' -> new Token(T.SEMICOLON, st, pos);
                default -> new Token(T.OTHER, st, pos);
            };
        }

        private int heredocEnd(int p) {
            int q = p + 1;
            while (q < to && isWordPart(s[q])) {
                q++;
            }
            if (q >= to || s[q] != '$') {
                return -1;
            }
            byte[] tag = java.util.Arrays.copyOfRange(s, p, q + 1);
            for (int i = q + 1; i + tag.length <= to; i++) {
                if (java.util.Arrays.equals(s, i, i + tag.length, tag, 0, tag.length)) {
                    return i + tag.length;
                }
            }
            return to;
        }

        private int skipQuoted(int p, byte q) {
            p++;
            while (p < to) {
                byte c = s[p];
                if (c == '\\') {
                    p += 2;
                    continue;
                }
                if (c == q) {
                    if (p + 1 < to && s[p + 1] == q) {
                        p += 2;
                        continue;
                    }
                    return p + 1;
                }
                p++;
            }
            return to;
        }

        private void skipBlank() {
            while (pos < to) {
                byte c = s[pos];
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
                    pos++;
                } else if (c == '-' && pos + 1 < to && s[pos + 1] == '-' || c == '#') {
                    while (pos < to && s[pos] != '\n') {
                        pos++;
                    }
                } else if (c == '/' && pos + 1 < to && s[pos + 1] == '*') {
                    int nest = 1;
                    pos += 2;
                    while (pos < to && nest > 0) {
                        if (s[pos] == '/' && pos + 1 < to && s[pos + 1] == '*') {
                            nest++;
                            pos += 2;
                        } else if (s[pos] == '*' && pos + 1 < to && s[pos + 1] == '/') {
                            nest--;
                            pos += 2;
                        } else {
                            pos++;
                        }
                    }
                } else {
                    return;
                }
            }
        }

        private static boolean isWordStart(byte c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c < 0;
        }

        private static boolean isWordPart(byte c) {
            return isWordStart(c) || (c >= '0' && c <= '9') || c == '$';
        }
    }
}
