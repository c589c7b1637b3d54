package dev.vigil.promql.parser;

import java.util.ArrayList;
import java.util.List;

/** Tokenizer for PromQL. */
final class Lexer {
    enum T { IDENT, NUMBER, DURATION, STRING, LBRACE, RBRACE, LPAREN, RPAREN, LBRACKET, RBRACKET, COMMA, COLON, AT, OP, EOF }

    record Tok(T type, String text, int pos) {
        int end() { return pos + text.length(); }
        boolean is(T t, String s) { return type == t && text.equals(s); }
        boolean isOp(String s) { return type == T.OP && text.equals(s); }
        boolean isKw(String s) { return type == T.IDENT && text.equalsIgnoreCase(s); }
    }

    private final String q;
    private int i;
    private int bracketDepth;
    private int braceDepth;

    Lexer(String q) { this.q = q; }

    static List<Tok> lex(String q) {
        Lexer l = new Lexer(q);
        List<Tok> out = new ArrayList<>();
        while (true) {
            Tok t = l.next();
            out.add(t);
            if (t.type == T.EOF) return out;
        }
    }

    private ParseException err(int pos, String msg) { return new ParseException(q, pos, msg); }

    private Tok next() {
        while (i < q.length()) {
            char c = q.charAt(i);
            if (c == '#') { while (i < q.length() && q.charAt(i) != '\n') i++; continue; }
            if (Character.isWhitespace(c)) { i++; continue; }
            break;
        }
        if (i >= q.length()) {
            if (braceDepth > 0) throw err(i, "unexpected end of input inside braces");
            if (bracketDepth > 0) throw err(i, "unexpected end of input inside brackets");
            return new Tok(T.EOF, "", i);
        }
        int s = i;
        char c = q.charAt(i);
        switch (c) {
            case '{' -> { i++; braceDepth++; return new Tok(T.LBRACE, "{", s); }
            case '}' -> { i++; braceDepth--; if (braceDepth < 0) throw err(s, "unexpected right brace '}'"); return new Tok(T.RBRACE, "}", s); }
            case '(' -> { i++; return new Tok(T.LPAREN, "(", s); }
            case ')' -> { i++; return new Tok(T.RPAREN, ")", s); }
            case '[' -> { i++; bracketDepth++; return new Tok(T.LBRACKET, "[", s); }
            case ']' -> { i++; bracketDepth--; if (bracketDepth < 0) throw err(s, "unexpected right bracket ']'"); return new Tok(T.RBRACKET, "]", s); }
            case ',' -> { i++; return new Tok(T.COMMA, ",", s); }
            case '@' -> { i++; return new Tok(T.AT, "@", s); }
            case '"', '\'', '`' -> { return lexString(c); }
            default -> { }
        }
        if (c == ':' && bracketDepth > 0) { i++; return new Tok(T.COLON, ":", s); }
        if (c == '=' || c == '!' || c == '<' || c == '>') {
            String two = i + 1 < q.length() ? q.substring(i, i + 2) : "";
            if (two.equals("==") || two.equals("!=") || two.equals("<=") || two.equals(">=") || two.equals("=~") || two.equals("!~")) {
                i += 2;
                return new Tok(T.OP, two, s);
            }
            if (c == '!') throw err(s, "unexpected character after '!': " + (i + 1 < q.length() ? "'" + q.charAt(i + 1) + "'" : "EOF"));
            i++;
            return new Tok(T.OP, String.valueOf(c), s);
        }
        if ("+-*/%^".indexOf(c) >= 0) { i++; return new Tok(T.OP, String.valueOf(c), s); }
        if (Character.isDigit(c) || (c == '.' && i + 1 < q.length() && Character.isDigit(q.charAt(i + 1)))) return lexNumber();
        if (Character.isLetter(c) || c == '_' || c == ':') {
            while (i < q.length()) {
                char d = q.charAt(i);
                if (Character.isLetterOrDigit(d) && d < 128 || d == '_' || (d == ':' && bracketDepth == 0 && braceDepth == 0)) i++;
                else break;
            }
            return new Tok(T.IDENT, q.substring(s, i), s);
        }
        throw err(s, "unexpected character: '" + c + "'");
    }

    private Tok lexString(char quote) {
        int s = i;
        i++;
        while (i < q.length()) {
            char c = q.charAt(i);
            if (c == '\\' && quote != '`') { i += 2; continue; }
            if (c == '\n' && quote != '`') throw err(s, "unterminated quoted string");
            if (c == quote) { i++; return new Tok(T.STRING, q.substring(s, i), s); }
            i++;
        }
        throw err(s, "unterminated quoted string");
    }

    private Tok lexNumber() {
        int s = i;
        if (q.startsWith("0x", i) || q.startsWith("0X", i)) {
            i += 2;
            while (i < q.length() && Character.digit(q.charAt(i), 16) >= 0) i++;
            return new Tok(T.NUMBER, q.substring(s, i), s);
        }
        // Try duration first: (digits unit)+
        int j = i;
        boolean dur = false;
        while (true) {
            int k = j;
            while (k < q.length() && Character.isDigit(q.charAt(k))) k++;
            if (k == j) break;
            int u = unitLen(k);
            if (u == 0) break;
            j = k + u;
            dur = true;
        }
        if (dur && (j >= q.length() || !isIdentChar(q.charAt(j)))) {
            i = j;
            return new Tok(T.DURATION, q.substring(s, i), s);
        }
        while (i < q.length() && Character.isDigit(q.charAt(i))) i++;
        if (i < q.length() && q.charAt(i) == '.') {
            i++;
            while (i < q.length() && Character.isDigit(q.charAt(i))) i++;
        }
        if (i < q.length() && (q.charAt(i) == 'e' || q.charAt(i) == 'E')) {
            int k = i + 1;
            if (k < q.length() && (q.charAt(k) == '+' || q.charAt(k) == '-')) k++;
            if (k < q.length() && Character.isDigit(q.charAt(k))) {
                i = k;
                while (i < q.length() && Character.isDigit(q.charAt(i))) i++;
            }
        }
        if (i < q.length() && isIdentChar(q.charAt(i))) {
            while (i < q.length() && isIdentChar(q.charAt(i))) i++;
            throw err(s, "bad number or duration syntax: \"" + q.substring(s, i) + "\"");
        }
        return new Tok(T.NUMBER, q.substring(s, i), s);
    }

    private static boolean isIdentChar(char c) { return Character.isLetterOrDigit(c) || c == '_'; }

    private int unitLen(int k) {
        if (q.startsWith("ms", k)) return 2;
        if (k < q.length() && "smhdwy".indexOf(q.charAt(k)) >= 0) return 1;
        return 0;
    }

    static long parseDurationMs(String s) {
        long total = 0;
        int i = 0;
        while (i < s.length()) {
            int j = i;
            while (Character.isDigit(s.charAt(j))) j++;
            long n = Long.parseLong(s.substring(i, j));
            long mult;
            if (s.startsWith("ms", j)) { mult = 1; j += 2; }
            else {
                mult = switch (s.charAt(j)) {
                    case 's' -> 1000L;
                    case 'm' -> 60_000L;
                    case 'h' -> 3_600_000L;
                    case 'd' -> 86_400_000L;
                    case 'w' -> 7 * 86_400_000L;
                    case 'y' -> 365 * 86_400_000L;
                    default -> throw new IllegalArgumentException("bad duration " + s);
                };
                j++;
            }
            total += n * mult;
            i = j;
        }
        return total;
    }
}
