package dev.vigil.alerting.template;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The subset of Go's text/template that Prometheus alert labels and annotations use, with
 * Prometheus' functions and the variables {@code $labels}, {@code $value},
 * {@code $externalLabels}, {@code $externalURL} (and {@code .Labels}, {@code .Value},
 * {@code .ExternalLabels}, {@code .ExternalURL}). Missing map keys expand to "" like
 * Prometheus' {@code missingkey=zero}.
 *
 * <p>Supported: text, {@code {{ pipeline }}} with {@code {{-}} / {@code -}}} trimming, comments,
 * pipes, parenthesised pipelines, variable declaration/assignment, {@code if / else if / else /
 * end}; functions humanize, humanize1024, humanizePercentage, humanizeDuration,
 * humanizeTimestamp, printf, toUpper, toLower, title, reReplaceAll, match, eq, ne, lt, le, gt, ge,
 * and, or, not, len, index. Anything else ({@code range}, {@code with}, {@code define},
 * {@code query}, ...) is rejected at parse time with a message naming the construct.
 */
public final class AlertTemplate {
    private static final Set<String> FUNCS = Set.of("humanize", "humanize1024", "humanizePercentage", "humanizeDuration",
            "humanizeTimestamp", "printf", "toUpper", "toLower", "title", "reReplaceAll", "match",
            "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "len", "index");
    private static final Set<String> PROMETHEUS_UNSUPPORTED = Set.of("query", "first", "label", "value", "strvalue", "args",
            "safeHtml", "sortByLabel", "graphLink", "tableLink", "pathPrefix", "externalURL", "parseDuration", "stripPort",
            "stripDomain", "toTime", "urlquery", "html", "js", "print", "println", "call", "slice");
    private static final Set<String> UNSUPPORTED_KEYWORDS = Set.of("range", "with", "define", "template", "block", "break", "continue");

    private final String name;
    private final String text;
    private final List<Node> nodes;

    private AlertTemplate(String name, String text, List<Node> nodes) {
        this.name = name;
        this.text = text;
        this.nodes = nodes;
    }

    /** Parses {@code text}; throws {@link TemplateException} naming the unsupported or invalid construct. */
    public static AlertTemplate parse(String name, String text) {
        Parser p = new Parser(name, text);
        List<Node> nodes = p.parseList(Set.of());
        if (p.pendingEnd != null) {
            throw p.error("unexpected {{" + p.pendingEnd + "}}");
        }
        return new AlertTemplate(name, text, nodes);
    }

    /** True if the text contains no template action (expansion is the identity). */
    public boolean isPlain() {
        return nodes.size() == 1 && nodes.get(0) instanceof Text || nodes.isEmpty();
    }

    public String text() {
        return text;
    }

    /** The data an alert template sees. */
    public record Data(Map<String, String> labels, Map<String, String> externalLabels, String externalURL, double value) {
    }

    /** Expands the template; throws {@link TemplateException} on an execution error. */
    public String expand(Data data) {
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put("$", data);
        vars.put("$labels", data.labels());
        vars.put("$externalLabels", data.externalLabels());
        vars.put("$externalURL", data.externalURL());
        vars.put("$value", data.value());
        StringBuilder out = new StringBuilder();
        exec(nodes, new Scope(vars, null), data, out);
        return out.toString();
    }

    // ---------------------------------------------------------------- AST

    private sealed interface Node permits Text, Action, If {
    }

    private record Text(String s) implements Node {
    }

    /** decl: null, or variable name; assign: true for '=' (reassign) */
    private record Action(Pipeline pipe, int pos) implements Node {
    }

    private record If(Pipeline cond, List<Node> then, List<Node> otherwise, int pos) implements Node {
    }

    private record Pipeline(String declVar, boolean assign, List<Cmd> cmds) {
    }

    private record Cmd(List<Arg> args) {
    }

    private sealed interface Arg permits Lit, Var, Field, Fn, Sub {
    }

    private record Lit(Object value) implements Arg {
    }

    private record Var(String name, List<String> fields) implements Arg {
    }

    /** A field chain on the root (dot): {@code .Labels.model}; empty chain means dot. */
    private record Field(List<String> fields) implements Arg {
    }

    private record Fn(String name) implements Arg {
    }

    private record Sub(Pipeline pipe, List<String> fields) implements Arg {
    }

    // ---------------------------------------------------------------- parser

    private static final class Parser {
        final String name;
        final String src;
        int pos;
        String pendingEnd;
        // token state within an action
        List<Tok> toks;
        int ti;
        int actionPos;
        final java.util.Deque<Set<String>> declared = new java.util.ArrayDeque<>();

        Parser(String name, String src) {
            this.name = name;
            this.src = src;
            declared.push(new java.util.HashSet<>(Set.of("$", "$labels", "$value", "$externalLabels", "$externalURL")));
        }

        TemplateException error(String msg) {
            int line = 1;
            for (int i = 0; i < Math.min(actionPos, src.length()); i++) {
                if (src.charAt(i) == '\n') {
                    line++;
                }
            }
            return new TemplateException("template: " + name + ":" + line + ": " + msg);
        }

        /** Parses until one of the terminators ("end", "else") is met; sets pendingEnd to it. */
        List<Node> parseList(Set<String> terminators) {
            List<Node> out = new ArrayList<>();
            while (pos < src.length()) {
                int open = src.indexOf("{{", pos);
                if (open < 0) {
                    out.add(new Text(src.substring(pos)));
                    pos = src.length();
                    break;
                }
                boolean trimLeft = open + 3 < src.length() && src.charAt(open + 2) == '-'
                        && Character.isWhitespace(src.charAt(open + 3));
                String textPart = src.substring(pos, open);
                if (trimLeft) {
                    textPart = stripTrailing(textPart);
                }
                if (!textPart.isEmpty()) {
                    out.add(new Text(textPart));
                }
                actionPos = open;
                int start = open + (trimLeft ? 3 : 2);
                int close = findClose(start);
                if (close < 0) {
                    throw error("unclosed action");
                }
                boolean trimRight = close - 2 >= start && src.charAt(close - 1) == '-'
                        && Character.isWhitespace(src.charAt(close - 2));
                int innerEnd = trimRight ? close - 1 : close;
                String inner = src.substring(start, Math.max(start, innerEnd));
                pos = close + 2;
                if (trimRight) {
                    while (pos < src.length() && Character.isWhitespace(src.charAt(pos))) {
                        pos++;
                    }
                }
                String trimmed = inner.strip();
                if (trimmed.startsWith("/*")) {
                    if (!trimmed.endsWith("*/")) {
                        throw error("unclosed comment");
                    }
                    continue;
                }
                toks = lex(inner);
                ti = 0;
                if (toks.isEmpty()) {
                    throw error("missing value for command");
                }
                Tok first = toks.get(0);
                if (first.kind == 'i') {
                    switch (first.text) {
                        case "if" -> {
                            ti++;
                            out.add(parseIf());
                            continue;
                        }
                        case "else", "end" -> {
                            if (!terminators.contains(first.text)) {
                                throw error("unexpected {{" + first.text + "}}");
                            }
                            pendingEnd = first.text;
                            ti++;
                            return out;
                        }
                        default -> {
                            if (UNSUPPORTED_KEYWORDS.contains(first.text)) {
                                throw error("unsupported template syntax: '" + first.text
                                        + "' (Vigil's alert templates support if/else/end, pipelines, variables and functions only)");
                            }
                        }
                    }
                }
                Pipeline p = parsePipeline(true);
                if (ti != toks.size()) {
                    throw error("unexpected " + toks.get(ti).text + " in operand");
                }
                out.add(new Action(p, open));
            }
            return out;
        }

        private int findClose(int from) {
            int i = from;
            while (i < src.length()) {
                char c = src.charAt(i);
                if (c == '"') {
                    i++;
                    while (i < src.length() && src.charAt(i) != '"') {
                        if (src.charAt(i) == '\\') {
                            i++;
                        }
                        i++;
                    }
                    i++;
                    continue;
                }
                if (c == '`') {
                    int e = src.indexOf('`', i + 1);
                    if (e < 0) {
                        return -1;
                    }
                    i = e + 1;
                    continue;
                }
                if (src.startsWith("}}", i)) {
                    return i;
                }
                i++;
            }
            return -1;
        }

        private If parseIf() {
            int p0 = actionPos;
            Set<String> outer = new java.util.HashSet<>(declared.peek());
            declared.push(outer);
            Pipeline cond = parsePipeline(true);
            if (ti != toks.size()) {
                throw error("unexpected " + toks.get(ti).text + " in if");
            }
            List<Node> then = parseList(Set.of("else", "end"));
            List<Node> otherwise = List.of();
            if (pendingEnd == null) {
                throw error("unexpected EOF: missing {{end}}");
            }
            if (pendingEnd.equals("else")) {
                pendingEnd = null;
                if (ti < toks.size() && toks.get(ti).kind == 'i' && toks.get(ti).text.equals("if")) {
                    ti++;
                    otherwise = List.of(parseIf());
                    declared.pop();
                    return new If(cond, then, otherwise, p0);
                }
                if (ti != toks.size()) {
                    throw error("unexpected " + toks.get(ti).text + " after else");
                }
                otherwise = parseList(Set.of("end"));
                if (pendingEnd == null) {
                    throw error("unexpected EOF: missing {{end}}");
                }
            }
            if (ti != toks.size()) {
                throw error("unexpected " + toks.get(ti).text + " after end");
            }
            pendingEnd = null;
            declared.pop();
            return new If(cond, then, otherwise, p0);
        }

        private Pipeline parsePipeline(boolean allowDecl) {
            String decl = null;
            boolean assign = false;
            if (allowDecl && ti + 1 < toks.size() && toks.get(ti).kind == '$'
                    && (toks.get(ti + 1).text.equals(":=") || toks.get(ti + 1).text.equals("="))) {
                decl = toks.get(ti).text;
                assign = toks.get(ti + 1).text.equals("=");
                if (assign && !declared.peek().contains(decl)) {
                    throw error("undefined variable: " + decl);
                }
                ti += 2;
            }
            List<Cmd> cmds = new ArrayList<>();
            while (true) {
                cmds.add(parseCmd());
                if (ti < toks.size() && toks.get(ti).text.equals("|") && toks.get(ti).kind == 'p') {
                    ti++;
                    continue;
                }
                break;
            }
            if (decl != null) {
                declared.peek().add(decl);
            }
            return new Pipeline(decl, assign, cmds);
        }

        private Cmd parseCmd() {
            List<Arg> args = new ArrayList<>();
            while (ti < toks.size()) {
                Tok t = toks.get(ti);
                if (t.kind == 'p' && (t.text.equals("|") || t.text.equals(")"))) {
                    break;
                }
                args.add(parseArg(args.isEmpty()));
            }
            if (args.isEmpty()) {
                throw error("missing value for command");
            }
            if (!(args.get(0) instanceof Fn) && args.size() > 1) {
                throw error("can't give argument to non-function " + describe(args.get(0)));
            }
            return new Cmd(args);
        }

        private String describe(Arg a) {
            return switch (a) {
                case Lit l -> String.valueOf(l.value());
                case Var v -> v.name() + (v.fields().isEmpty() ? "" : "." + String.join(".", v.fields()));
                case Field f -> "." + String.join(".", f.fields());
                case Fn f -> f.name();
                case Sub s -> "(...)";
            };
        }

        private Arg parseArg(boolean first) {
            Tok t = toks.get(ti++);
            switch (t.kind) {
                case 's':
                    return new Lit(t.value);
                case 'n':
                    return new Lit(t.value);
                case '$': {
                    if (!declared.peek().contains(t.text)) {
                        throw error("undefined variable \"" + t.text + "\"");
                    }
                    return new Var(t.text, t.fields);
                }
                case '.':
                    return new Field(t.fields);
                case 'i': {
                    switch (t.text) {
                        case "true":
                            return new Lit(Boolean.TRUE);
                        case "false":
                            return new Lit(Boolean.FALSE);
                        case "nil":
                            throw error("nil is not a command");
                        default:
                            break;
                    }
                    if (UNSUPPORTED_KEYWORDS.contains(t.text) || t.text.equals("if") || t.text.equals("else") || t.text.equals("end")) {
                        throw error("unsupported template syntax: '" + t.text + "' in this position");
                    }
                    if (PROMETHEUS_UNSUPPORTED.contains(t.text)) {
                        throw error("unsupported template function \"" + t.text + "\" (Vigil supports: "
                                + String.join(", ", new java.util.TreeSet<>(FUNCS)) + ")");
                    }
                    if (!FUNCS.contains(t.text)) {
                        throw error("function \"" + t.text + "\" not defined");
                    }
                    return new Fn(t.text);
                }
                case 'p':
                    if (t.text.equals("(")) {
                        Pipeline p = parsePipeline(false);
                        if (ti >= toks.size() || !toks.get(ti).text.equals(")")) {
                            throw error("unclosed left paren");
                        }
                        ti++;
                        List<String> fields = List.of();
                        if (ti < toks.size() && toks.get(ti).kind == '.' && toks.get(ti).attached) {
                            fields = toks.get(ti).fields;
                            ti++;
                        }
                        return new Sub(p, fields);
                    }
                    throw error("unexpected \"" + t.text + "\" in operand");
                default:
                    throw error("unexpected " + t.text);
            }
        }

        private static final class Tok {
            char kind; // s string, n number, $ variable, . field, i identifier, p punctuation
            String text;
            Object value;
            List<String> fields = List.of();
            boolean attached;

            Tok(char kind, String text) {
                this.kind = kind;
                this.text = text;
            }
        }

        private List<Tok> lex(String s) {
            List<Tok> out = new ArrayList<>();
            int i = 0;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (Character.isWhitespace(c)) {
                    i++;
                    continue;
                }
                boolean attached = !out.isEmpty() && i > 0 && !Character.isWhitespace(s.charAt(i - 1));
                if (c == '"') {
                    StringBuilder sb = new StringBuilder();
                    int j = i + 1;
                    while (j < s.length() && s.charAt(j) != '"') {
                        char d = s.charAt(j);
                        if (d == '\\' && j + 1 < s.length()) {
                            char e = s.charAt(++j);
                            switch (e) {
                                case 'n' -> sb.append('\n');
                                case 't' -> sb.append('\t');
                                case 'r' -> sb.append('\r');
                                case '\\' -> sb.append('\\');
                                case '"' -> sb.append('"');
                                case '\'' -> sb.append('\'');
                                default -> throw error("unsupported escape sequence \\" + e + " in string");
                            }
                        } else {
                            sb.append(d);
                        }
                        j++;
                    }
                    if (j >= s.length()) {
                        throw error("unterminated quoted string");
                    }
                    Tok t = new Tok('s', s.substring(i, j + 1));
                    t.value = sb.toString();
                    out.add(t);
                    i = j + 1;
                } else if (c == '`') {
                    int j = s.indexOf('`', i + 1);
                    if (j < 0) {
                        throw error("unterminated raw quoted string");
                    }
                    Tok t = new Tok('s', s.substring(i, j + 1));
                    t.value = s.substring(i + 1, j);
                    out.add(t);
                    i = j + 1;
                } else if (c == '\'') {
                    throw error("unsupported template syntax: character constants");
                } else if (c == '$' || c == '.') {
                    int j = i + 1;
                    String head = null;
                    if (c == '$') {
                        while (j < s.length() && isIdent(s.charAt(j))) {
                            j++;
                        }
                        head = s.substring(i, j);
                    }
                    List<String> fields = new ArrayList<>();
                    int k = c == '$' ? j : i;
                    while (k < s.length() && s.charAt(k) == '.') {
                        int m = k + 1;
                        while (m < s.length() && isIdent(s.charAt(m))) {
                            m++;
                        }
                        if (m == k + 1) {
                            if (c == '.' && k == i && fields.isEmpty()) {
                                // bare dot
                                k = m;
                                break;
                            }
                            throw error("bad character after '.'");
                        }
                        fields.add(s.substring(k + 1, m));
                        k = m;
                    }
                    if (c == '.' && !fields.isEmpty() && Character.isDigit(fields.get(0).charAt(0))) {
                        // a number like .5
                        int m = i + 1;
                        while (m < s.length() && (Character.isLetterOrDigit(s.charAt(m)) || s.charAt(m) == '.')) {
                            m++;
                        }
                        out.add(number(s.substring(i, m)));
                        i = m;
                        continue;
                    }
                    Tok t = new Tok(c, c == '$' ? head : s.substring(i, k));
                    t.fields = List.copyOf(fields);
                    t.attached = attached && c == '.';
                    out.add(t);
                    i = k;
                } else if (c == '|' || c == '(' || c == ')' || c == ',') {
                    if (c == ',') {
                        throw error("unsupported template syntax: ','");
                    }
                    out.add(new Tok('p', String.valueOf(c)));
                    i++;
                } else if (c == ':' && i + 1 < s.length() && s.charAt(i + 1) == '=') {
                    out.add(new Tok('p', ":="));
                    i += 2;
                } else if (c == '=') {
                    out.add(new Tok('p', "="));
                    i++;
                } else if (Character.isDigit(c) || ((c == '-' || c == '+') && i + 1 < s.length()
                        && (Character.isDigit(s.charAt(i + 1)) || s.charAt(i + 1) == '.'))) {
                    int j = i + 1;
                    while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '.' || s.charAt(j) == '_'
                            || ((s.charAt(j) == '-' || s.charAt(j) == '+') && (s.charAt(j - 1) == 'e' || s.charAt(j - 1) == 'E')))) {
                        j++;
                    }
                    out.add(number(s.substring(i, j)));
                    i = j;
                } else if (isIdent(c)) {
                    int j = i;
                    while (j < s.length() && isIdent(s.charAt(j))) {
                        j++;
                    }
                    out.add(new Tok('i', s.substring(i, j)));
                    i = j;
                } else {
                    throw error("unsupported template syntax: unexpected character '" + c + "'");
                }
            }
            return out;
        }

        private Tok number(String text) {
            Tok t = new Tok('n', text);
            String clean = text.replace("_", "");
            try {
                if (clean.matches("[+-]?\\d+")) {
                    t.value = Long.parseLong(clean);
                } else if (clean.matches("[+-]?0[xX][0-9a-fA-F]+")) {
                    boolean neg = clean.startsWith("-");
                    long v = Long.parseLong(clean.replaceFirst("^[+-]?0[xX]", ""), 16);
                    t.value = neg ? -v : v;
                } else {
                    t.value = Double.parseDouble(clean);
                }
            } catch (NumberFormatException e) {
                throw error("bad number syntax: \"" + text + "\"");
            }
            return t;
        }

        private static boolean isIdent(char c) {
            return c == '_' || Character.isLetterOrDigit(c);
        }

        private static String stripTrailing(String s) {
            int e = s.length();
            while (e > 0 && Character.isWhitespace(s.charAt(e - 1))) {
                e--;
            }
            return s.substring(0, e);
        }
    }

    // ---------------------------------------------------------------- execution

    private static final class Scope {
        final Map<String, Object> vars;
        final Scope parent;

        Scope(Map<String, Object> vars, Scope parent) {
            this.vars = vars;
            this.parent = parent;
        }

        Object get(String n) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.vars.containsKey(n)) {
                    return s.vars.get(n);
                }
            }
            throw new TemplateException("undefined variable: " + n);
        }

        void set(String n, Object v) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.vars.containsKey(n)) {
                    s.vars.put(n, v);
                    return;
                }
            }
            vars.put(n, v);
        }
    }

    private void exec(List<Node> list, Scope scope, Data dot, StringBuilder out) {
        for (Node n : list) {
            switch (n) {
                case Text t -> out.append(t.s());
                case Action a -> {
                    Object v = evalPipeline(a.pipe(), scope, dot);
                    if (a.pipe().declVar() == null) {
                        out.append(print(v));
                    }
                }
                case If f -> {
                    Scope inner = new Scope(new LinkedHashMap<>(), scope);
                    Object c = evalPipeline(f.cond(), inner, dot);
                    if (truth(c)) {
                        exec(f.then(), inner, dot, out);
                    } else {
                        exec(f.otherwise(), inner, dot, out);
                    }
                }
            }
        }
    }

    private Object evalPipeline(Pipeline p, Scope scope, Data dot) {
        Object last = null;
        boolean hasLast = false;
        for (Cmd c : p.cmds()) {
            last = evalCmd(c, scope, dot, hasLast, last);
            hasLast = true;
        }
        if (p.declVar() != null) {
            if (p.assign()) {
                scope.set(p.declVar(), last);
            } else {
                scope.vars.put(p.declVar(), last);
            }
        }
        return last;
    }

    private Object evalCmd(Cmd c, Scope scope, Data dot, boolean hasPrev, Object prev) {
        Arg head = c.args().get(0);
        if (head instanceof Fn fn) {
            List<Object> args = new ArrayList<>();
            // and/or short-circuit
            for (int i = 1; i < c.args().size(); i++) {
                args.add(evalArg(c.args().get(i), scope, dot));
            }
            if (hasPrev) {
                args.add(prev);
            }
            return call(fn.name(), args);
        }
        if (hasPrev) {
            throw new TemplateException("can't give argument to non-function");
        }
        return evalArg(head, scope, dot);
    }

    private Object evalArg(Arg a, Scope scope, Data dot) {
        return switch (a) {
            case Lit l -> l.value();
            case Var v -> fields(scope.get(v.name()), v.fields(), v.name());
            case Field f -> fields(dot, f.fields(), "");
            case Fn f -> call(f.name(), List.of());
            case Sub s -> fields(evalPipeline(s.pipe(), scope, dot), s.fields(), "(...)");
        };
    }

    private static Object fields(Object base, List<String> fields, String what) {
        Object cur = base;
        String path = what;
        for (String f : fields) {
            path = path + "." + f;
            if (cur instanceof Data d) {
                cur = switch (f) {
                    case "Labels" -> d.labels();
                    case "ExternalLabels" -> d.externalLabels();
                    case "ExternalURL" -> d.externalURL();
                    case "Value" -> d.value();
                    default -> throw new TemplateException("can't evaluate field " + f + " in alert template data");
                };
            } else if (cur instanceof Map<?, ?> m) {
                Object v = m.get(f);
                cur = v == null ? "" : v;
            } else if (cur == null) {
                throw new TemplateException("nil pointer evaluating " + path);
            } else {
                throw new TemplateException("can't evaluate field " + f + " in type " + goType(cur));
            }
        }
        return cur;
    }

    private static String goType(Object o) {
        return switch (o) {
            case null -> "<nil>";
            case String s -> "string";
            case Double d -> "float64";
            case Long l -> "int";
            case Boolean b -> "bool";
            case Map<?, ?> m -> "map[string]string";
            default -> o.getClass().getSimpleName();
        };
    }

    static boolean truth(Object v) {
        return switch (v) {
            case null -> false;
            case Boolean b -> b;
            case String s -> !s.isEmpty();
            case Double d -> d != 0;
            case Long l -> l != 0;
            case Map<?, ?> m -> !m.isEmpty();
            default -> true;
        };
    }

    /** Go's fmt.Sprint of one value. */
    static String print(Object v) {
        return switch (v) {
            case null -> "<no value>";
            case String s -> s;
            case Double d -> GoFormat.v(d);
            case Long l -> Long.toString(l);
            case Boolean b -> b.toString();
            case Map<?, ?> m -> {
                StringBuilder sb = new StringBuilder("map[");
                boolean first = true;
                for (Map.Entry<?, ?> e : new TreeMap<>(m).entrySet()) {
                    if (!first) {
                        sb.append(' ');
                    }
                    first = false;
                    sb.append(e.getKey()).append(':').append(print(e.getValue()));
                }
                yield sb.append(']').toString();
            }
            default -> v.toString();
        };
    }

    private static double toFloat(String fn, Object v) {
        return switch (v) {
            case Double d -> d;
            case Long l -> (double) l;
            case String s -> {
                try {
                    yield Double.parseDouble(s.trim());
                } catch (NumberFormatException e) {
                    throw new TemplateException("error calling " + fn + ": strconv.ParseFloat: parsing \"" + s + "\": invalid syntax");
                }
            }
            default -> throw new TemplateException("error calling " + fn + ": can't convert " + goType(v) + " to float");
        };
    }

    private static void arity(String fn, List<Object> args, int n) {
        if (args.size() != n) {
            throw new TemplateException("wrong number of args for " + fn + ": want " + n + " got " + args.size());
        }
    }

    private static String str(String fn, Object v) {
        if (v instanceof String s) {
            return s;
        }
        throw new TemplateException("wrong type for value; expected string; got " + goType(v) + " (in " + fn + ")");
    }

    private Object call(String fn, List<Object> args) {
        switch (fn) {
            case "humanize": {
                arity(fn, args, 1);
                return Humanize.humanize(toFloat(fn, args.get(0)));
            }
            case "humanize1024": {
                arity(fn, args, 1);
                return Humanize.humanize1024(toFloat(fn, args.get(0)));
            }
            case "humanizePercentage": {
                arity(fn, args, 1);
                return Humanize.percentage(toFloat(fn, args.get(0)));
            }
            case "humanizeDuration": {
                arity(fn, args, 1);
                return Humanize.duration(toFloat(fn, args.get(0)));
            }
            case "humanizeTimestamp": {
                arity(fn, args, 1);
                return Humanize.timestamp(toFloat(fn, args.get(0)));
            }
            case "printf": {
                if (args.isEmpty()) {
                    throw new TemplateException("wrong number of args for printf: want at least 1 got 0");
                }
                return GoPrintf.sprintf(str(fn, args.get(0)), args.subList(1, args.size()));
            }
            case "toUpper": {
                arity(fn, args, 1);
                return str(fn, args.get(0)).toUpperCase(Locale.ROOT);
            }
            case "toLower": {
                arity(fn, args, 1);
                return str(fn, args.get(0)).toLowerCase(Locale.ROOT);
            }
            case "title": {
                arity(fn, args, 1);
                return title(str(fn, args.get(0)));
            }
            case "reReplaceAll": {
                arity(fn, args, 3);
                return Pattern.compile(str(fn, args.get(0))).matcher(str(fn, args.get(2)))
                        .replaceAll(goReplacement(str(fn, args.get(1))));
            }
            case "match": {
                arity(fn, args, 2);
                return Pattern.compile(str(fn, args.get(0))).matcher(str(fn, args.get(1))).find();
            }
            case "not": {
                arity(fn, args, 1);
                return !truth(args.get(0));
            }
            case "and": {
                Object r = null;
                for (Object a : args) {
                    r = a;
                    if (!truth(a)) {
                        return a;
                    }
                }
                return r;
            }
            case "or": {
                Object r = null;
                for (Object a : args) {
                    r = a;
                    if (truth(a)) {
                        return a;
                    }
                }
                return r;
            }
            case "len": {
                arity(fn, args, 1);
                Object v = args.get(0);
                if (v instanceof String s) {
                    return (long) s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
                }
                if (v instanceof Map<?, ?> m) {
                    return (long) m.size();
                }
                throw new TemplateException("error calling len: len of type " + goType(v));
            }
            case "index": {
                arity(fn, args, 2);
                if (args.get(0) instanceof Map<?, ?> m) {
                    Object v = m.get(str(fn, args.get(1)));
                    return v == null ? "" : v;
                }
                throw new TemplateException("error calling index: can't index item of type " + goType(args.get(0)));
            }
            case "eq", "ne", "lt", "le", "gt", "ge": {
                if (args.size() < 2 || (!fn.equals("eq") && args.size() != 2)) {
                    throw new TemplateException("wrong number of args for " + fn);
                }
                if (fn.equals("eq")) {
                    for (int i = 1; i < args.size(); i++) {
                        if (compare(fn, args.get(0), args.get(i)) == 0) {
                            return true;
                        }
                    }
                    return false;
                }
                int c = compare(fn, args.get(0), args.get(1));
                return switch (fn) {
                    case "ne" -> c != 0;
                    case "lt" -> c < 0;
                    case "le" -> c <= 0;
                    case "gt" -> c > 0;
                    default -> c >= 0;
                };
            }
            default:
                throw new TemplateException("function \"" + fn + "\" not defined");
        }
    }

    private static int compare(String fn, Object a, Object b) {
        if (a instanceof String x && b instanceof String y) {
            return x.compareTo(y);
        }
        if ((a instanceof Double || a instanceof Long) && (b instanceof Double || b instanceof Long)) {
            return Double.compare(((Number) a).doubleValue(), ((Number) b).doubleValue());
        }
        if (a instanceof Boolean x && b instanceof Boolean y && (fn.equals("eq") || fn.equals("ne"))) {
            return x.equals(y) ? 0 : 1;
        }
        throw new TemplateException("error calling " + fn + ": incompatible types for comparison (" + goType(a) + ", " + goType(b) + ")");
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean prevLetter = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean letter = Character.isLetterOrDigit(c) || c == '_' || c == '\'';
            sb.append(letter && !prevLetter ? Character.toTitleCase(c) : c);
            prevLetter = letter;
        }
        return sb.toString();
    }

    /** Go's regexp replacement uses $1 / ${name}; Java uses the same $1 / ${name}, but a lone $ is literal in Go. */
    private static String goReplacement(String repl) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < repl.length(); i++) {
            char c = repl.charAt(i);
            if (c == '\\') {
                sb.append("\\\\");
            } else if (c == '$') {
                if (i + 1 < repl.length() && repl.charAt(i + 1) == '$') {
                    sb.append("\\$");
                    i++;
                } else if (i + 1 < repl.length() && (Character.isDigit(repl.charAt(i + 1)) || repl.charAt(i + 1) == '{')) {
                    sb.append('$');
                } else {
                    sb.append("\\$");
                }
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
