package dev.vigil.promql;

import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Translates Go RE2 syntax to java.util.regex. */
public final class RegexTranslator {
    private RegexTranslator() {}
    private static final ConcurrentHashMap<String, Pattern> CACHE = new ConcurrentHashMap<>();

    public static Pattern compileAnchored(String re2) {
        return CACHE.computeIfAbsent("A" + re2, k -> Pattern.compile("^(?:" + translate(re2) + ")$", Pattern.DOTALL));
    }

    public static Pattern compile(String re2) {
        return CACHE.computeIfAbsent("U" + re2, k -> Pattern.compile(translate(re2)));
    }

    /** Translation without anchoring or caching, for label_replace. */
    public static String translateForReplace(String re2) { return translate(re2); }

    /** Validates that the given RE2 regex is acceptable; throws PatternSyntaxException otherwise. */
    public static void validate(String re2) { compile(re2); }

    static String translate(String s) {
        StringBuilder out = new StringBuilder(s.length() + 8);
        int i = 0;
        int n = s.length();
        boolean inClass = false;
        int classStart = -1;
        while (i < n) {
            char c = s.charAt(i);
            if (c == '\\') {
                if (i + 1 >= n) throw new PatternSyntaxException("trailing backslash at end of expression", s, i);
                char d = s.charAt(i + 1);
                if (d == 'Q') {
                    int e = s.indexOf("\\E", i + 2);
                    String lit = e < 0 ? s.substring(i + 2) : s.substring(i + 2, e);
                    out.append(Pattern.quote(lit));
                    i = e < 0 ? n : e + 2;
                    continue;
                }
                if (d == 'z') { out.append("\\z"); i += 2; continue; }
                if (d == 'C') { out.append("."); i += 2; continue; }
                out.append(c).append(d);
                i += 2;
                continue;
            }
            if (inClass) {
                if (c == '[') {
                    if (s.startsWith("[:", i)) {
                        int e = s.indexOf(":]", i + 2);
                        if (e > 0) {
                            String name = s.substring(i + 2, e);
                            boolean neg = name.startsWith("^");
                            if (neg) name = name.substring(1);
                            String p = posix(name);
                            if (p != null) {
                                out.append(neg ? "\\P{" : "\\p{").append(p).append('}');
                                i = e + 2;
                                continue;
                            }
                        }
                    }
                    out.append("\\[");
                    i++;
                    continue;
                }
                if (c == '&' && i + 1 < n && s.charAt(i + 1) == '&') { out.append("&\\&"); i += 2; continue; }
                if (c == ']' && i > classStart) { inClass = false; out.append(c); i++; continue; }
                out.append(c);
                i++;
                continue;
            }
            if (c == '[') {
                inClass = true;
                out.append(c);
                i++;
                if (i < n && s.charAt(i) == '^') { out.append('^'); i++; }
                // A leading ']' is literal in RE2.
                if (i < n && s.charAt(i) == ']') { out.append("\\]"); i++; }
                classStart = i;
                continue;
            }
            if (c == '(' && s.startsWith("(?P<", i)) { out.append("(?<"); i += 4; continue; }
            out.append(c);
            i++;
        }
        return out.toString();
    }

    private static String posix(String name) {
        return switch (name) {
            case "alnum" -> "Alnum";
            case "alpha" -> "Alpha";
            case "ascii" -> "ASCII";
            case "blank" -> "Blank";
            case "cntrl" -> "Cntrl";
            case "digit" -> "Digit";
            case "graph" -> "Graph";
            case "lower" -> "Lower";
            case "print" -> "Print";
            case "punct" -> "Punct";
            case "space" -> "Space";
            case "upper" -> "Upper";
            case "word" -> "Alnum"; // approximate
            case "xdigit" -> "XDigit";
            default -> null;
        };
    }
}
