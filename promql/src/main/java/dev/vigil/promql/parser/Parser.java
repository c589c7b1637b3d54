package dev.vigil.promql.parser;

import dev.vigil.promql.Labels;
import dev.vigil.promql.Matcher;
import dev.vigil.promql.Strings;
import dev.vigil.promql.ast.*;
import dev.vigil.promql.parser.Lexer.T;
import dev.vigil.promql.parser.Lexer.Tok;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.PatternSyntaxException;

/** Recursive-descent / precedence-climbing parser for PromQL (Prometheus 3.x grammar). */
public final class Parser {
    public static final Set<String> AGGREGATORS = Set.of("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
            "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio");
    private static final Set<String> PARAM_AGGS = Set.of("count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio");

    private final String q;
    private final List<Tok> toks;
    private int p;
    /** Set while parsing info()'s second argument: a label selector exempt from the non-empty matcher rule. */
    private boolean infoLabelSelector;

    private Parser(String q) {
        this.q = q;
        this.toks = Lexer.lex(q);
    }

    /** Parses a PromQL expression; throws {@link ParseException} on error. */
    public static Expr parse(String query) {
        Parser ps = new Parser(query);
        if (ps.peek().type() == T.EOF) throw new ParseException(query, 0, "no expression found in input");
        Expr e = ps.parseExpr(0);
        if (ps.peek().type() != T.EOF) throw ps.err(ps.peek(), "unexpected " + ps.describe(ps.peek()));
        return e;
    }

    /** Parses a series description such as {@code foo{a="b"}} (used by test scripts). */
    public static Labels parseSeries(String s) {
        Parser ps = new Parser(s);
        Expr e = ps.parsePrimary();
        if (ps.peek().type() != T.EOF) throw ps.err(ps.peek(), "unexpected " + ps.describe(ps.peek()));
        if (!(e instanceof VectorSelector vs)) throw new ParseException(s, 0, "expected series description");
        Labels.Builder b = new Labels.Builder();
        if (vs.name() != null) b.set(Labels.METRIC_NAME, vs.name());
        for (Matcher m : vs.matchers()) {
            if (m.type() != Matcher.Type.EQ) throw new ParseException(s, 0, "only = matchers allowed in series description");
            b.set(m.name(), m.value());
        }
        return b.build();
    }

    // ---------------------------------------------------------------- helpers

    private Tok peek() { return toks.get(p); }
    private Tok peek(int k) { return toks.get(Math.min(p + k, toks.size() - 1)); }
    private Tok next() { return toks.get(p++); }

    private ParseException err(Tok t, String msg) { return new ParseException(q, t.pos(), msg); }
    private ParseException err(int pos, String msg) { return new ParseException(q, pos, msg); }

    private String describe(Tok t) {
        return switch (t.type()) {
            case EOF -> "end of input";
            case IDENT -> "identifier \"" + t.text() + "\"";
            case NUMBER -> "number \"" + t.text() + "\"";
            case DURATION -> "duration \"" + t.text() + "\"";
            case STRING -> "string " + t.text();
            default -> "\"" + t.text() + "\"";
        };
    }

    private Tok expect(T type, String what) {
        Tok t = peek();
        if (t.type() != type) throw err(t, "unexpected " + describe(t) + ", expected " + what);
        return next();
    }

    // ---------------------------------------------------------------- expressions

    private static int precedence(Tok t) {
        if (t.type() == T.OP) {
            return switch (t.text()) {
                case "==", "!=", "<", "<=", ">", ">=" -> 3;
                case "+", "-" -> 4;
                case "*", "/", "%" -> 5;
                case "^" -> 6;
                default -> -1;
            };
        }
        if (t.type() == T.IDENT) {
            return switch (t.text().toLowerCase(Locale.ROOT)) {
                case "or" -> 1;
                case "and", "unless" -> 2;
                case "atan2" -> 5;
                default -> -1;
            };
        }
        return -1;
    }

    private Expr parseExpr(int minPrec) {
        Expr lhs = parseUnary();
        while (true) {
            Tok opTok = peek();
            int prec = precedence(opTok);
            if (prec < 0 || prec < minPrec) break;
            next();
            String op = opTok.type() == T.IDENT ? opTok.text().toLowerCase(Locale.ROOT) : opTok.text();
            boolean returnBool = false;
            if (peek().isKw("bool")) { next(); returnBool = true; }
            VectorMatching vm = parseVectorMatching(op);
            int nextMin = op.equals("^") ? prec : prec + 1;
            Expr rhs = parseExpr(nextMin);
            lhs = buildBinary(opTok, op, lhs, rhs, returnBool, vm);
        }
        return lhs;
    }

    private VectorMatching parseVectorMatching(String op) {
        boolean setOp = BinaryExpr.isSetOp(op);
        VectorMatching.Card card = setOp ? VectorMatching.Card.MANY_TO_MANY : VectorMatching.Card.ONE_TO_ONE;
        List<String> labels = List.of();
        boolean on = false;
        boolean explicit = false;
        List<String> include = List.of();
        Double fillL = null, fillR = null;
        if (peek().isKw("on") || peek().isKw("ignoring")) {
            on = peek().isKw("on");
            next();
            labels = parseLabelList();
            explicit = true;
        }
        if (peek().isKw("group_left") || peek().isKw("group_right")) {
            Tok g = next();
            if (setOp) throw err(g, "no grouping allowed for \"" + op + "\" operation");
            card = g.isKw("group_left") ? VectorMatching.Card.MANY_TO_ONE : VectorMatching.Card.ONE_TO_MANY;
            if (peek().type() == T.LPAREN) include = parseLabelList();
            explicit = true;
        }
        while ((peek().isKw("fill") || peek().isKw("fill_left") || peek().isKw("fill_right")) && peek(1).type() == T.LPAREN) {
            Tok f = next();
            expect(T.LPAREN, "\"(\"");
            Expr v = parseExpr(0);
            expect(T.RPAREN, "\")\"");
            double d = constNumber(v, f);
            String k = f.text().toLowerCase(Locale.ROOT);
            if (k.equals("fill") || k.equals("fill_left")) fillL = d;
            if (k.equals("fill") || k.equals("fill_right")) fillR = d;
            explicit = true;
        }
        if (!explicit && !setOp) return null;
        for (String l : include) {
            if (on && labels.contains(l)) throw err(peek(), "label \"" + l + "\" must not occur in ON and GROUP clause at once");
        }
        return new VectorMatching(card, labels, on, include, fillL, fillR);
    }

    private double constNumber(Expr e, Tok at) {
        if (e instanceof NumberLiteral n) return n.value();
        if (e instanceof ParenExpr pe) return constNumber(pe.expr(), at);
        if (e instanceof UnaryExpr u) return u.negate() ? -constNumber(u.expr(), at) : constNumber(u.expr(), at);
        throw err(at, "fill value must be a number literal");
    }

    private Expr buildBinary(Tok opTok, String op, Expr lhs, Expr rhs, boolean returnBool, VectorMatching vm) {
        ValueType lt = lhs.type(), rt = rhs.type();
        boolean cmp = BinaryExpr.isComparison(op);
        if (returnBool && !cmp) throw err(opTok, "bool modifier can only be used on comparison operators");
        if (cmp && lt == ValueType.SCALAR && rt == ValueType.SCALAR && !returnBool)
            throw err(opTok, "comparisons between scalars must use BOOL modifier");
        if ((lt != ValueType.SCALAR && lt != ValueType.VECTOR) || (rt != ValueType.SCALAR && rt != ValueType.VECTOR))
            throw err(lhs.pos(), "binary expression must contain only scalar and instant vector types");
        boolean bothVec = lt == ValueType.VECTOR && rt == ValueType.VECTOR;
        if (BinaryExpr.isSetOp(op)) {
            if (lt == ValueType.SCALAR || rt == ValueType.SCALAR)
                throw err(opTok, "set operator \"" + op + "\" not allowed in binary scalar expression");
        }
        if (vm != null && !bothVec) {
            if (!vm.labels().isEmpty() || vm.on() || vm.card() != VectorMatching.Card.MANY_TO_MANY && vm.card() != VectorMatching.Card.ONE_TO_ONE
                    || vm.fillLeft() != null || vm.fillRight() != null)
                throw err(opTok, "vector matching only allowed between instant vectors");
            vm = null;
        }
        if (bothVec && vm == null) vm = new VectorMatching(VectorMatching.Card.ONE_TO_ONE, List.of(), false, List.of(), null, null);
        return new BinaryExpr(op, lhs, rhs, returnBool, vm, lhs.pos(), rhs.end());
    }

    private Expr parseUnary() {
        Tok t = peek();
        if (t.isOp("-") || t.isOp("+")) {
            next();
            Expr e = parseExpr(6); // binds tighter than everything but ^
            if (e.type() != ValueType.SCALAR && e.type() != ValueType.VECTOR)
                throw err(t, "unary expression only allowed on expressions of type scalar or instant vector, got \"" + e.type() + "\"");
            if (t.isOp("+")) return e instanceof NumberLiteral n ? new NumberLiteral(n.value(), t.pos(), n.end()) : new UnaryExpr(false, e, t.pos(), e.end());
            if (e instanceof NumberLiteral n) return new NumberLiteral(-n.value(), t.pos(), n.end());
            return new UnaryExpr(true, e, t.pos(), e.end());
        }
        return parsePostfix(parsePrimary());
    }

    private Expr parsePostfix(Expr e) {
        while (true) {
            Tok t = peek();
            if (t.type() == T.LBRACKET) {
                e = parseRangeOrSubquery(e);
            } else if (t.isKw("offset")) {
                next();
                Dur d = parseDurationTerm();
                e = applyOffset(e, d, t);
            } else if (t.type() == T.AT) {
                next();
                e = applyAt(e, parseAt(), t);
            } else if (t.isKw("anchored") || t.isKw("smoothed")) {
                next();
                boolean anch = t.isKw("anchored");
                if (e instanceof MatrixSelector ms) {
                    if (ms.vs().anchored() || ms.vs().smoothed()) throw err(t, "anchored/smoothed may only be set once");
                    e = new MatrixSelector(ms.vs().withModifiers(anch, !anch), ms.range(), ms.pos(), t.end());
                } else if (e instanceof VectorSelector vs) {
                    if (vs.anchored() || vs.smoothed()) throw err(t, "anchored/smoothed may only be set once");
                    e = vs.withModifiers(anch, !anch);
                } else throw err(t, t.text() + " modifier must be preceded by a vector selector");
            } else return e;
        }
    }

    private Expr applyOffset(Expr e, Dur d, Tok t) {
        if (e instanceof VectorSelector vs) {
            if (vs.offset() != null) throw err(t, "offset may not be set multiple times");
            return vs.withOffset(d, prevEnd());
        }
        if (e instanceof MatrixSelector ms) {
            if (ms.vs().offset() != null) throw err(t, "offset may not be set multiple times");
            return new MatrixSelector(ms.vs().withOffset(d, ms.vs().end()), ms.range(), ms.pos(), prevEnd());
        }
        if (e instanceof SubqueryExpr sq) {
            if (sq.offset() != null) throw err(t, "offset may not be set multiple times");
            return sq.withOffset(d, prevEnd());
        }
        throw err(t, "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery");
    }

    private Expr applyAt(Expr e, At at, Tok t) {
        if (e instanceof VectorSelector vs) {
            if (vs.at() != null) throw err(t, "@ <timestamp> may not be set multiple times");
            return vs.withAt(at, prevEnd());
        }
        if (e instanceof MatrixSelector ms) {
            if (ms.vs().at() != null) throw err(t, "@ <timestamp> may not be set multiple times");
            return new MatrixSelector(ms.vs().withAt(at, ms.vs().end()), ms.range(), ms.pos(), prevEnd());
        }
        if (e instanceof SubqueryExpr sq) {
            if (sq.at() != null) throw err(t, "@ <timestamp> may not be set multiple times");
            return sq.withAt(at, prevEnd());
        }
        throw err(t, "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery");
    }

    private int prevEnd() { return toks.get(p - 1).end(); }

    private At parseAt() {
        Tok t = peek();
        if (t.isKw("start") || t.isKw("end")) {
            next();
            expect(T.LPAREN, "\"(\"");
            expect(T.RPAREN, "\")\"");
            return new At(t.isKw("start") ? At.Kind.START : At.Kind.END, 0);
        }
        boolean neg = false;
        if (t.isOp("-") || t.isOp("+")) { neg = t.isOp("-"); next(); }
        Tok n = peek();
        double v;
        if (n.type() == T.NUMBER) { next(); v = parseNumber(n); }
        else if (n.type() == T.DURATION) { next(); v = Lexer.parseDurationMs(n.text()) / 1000.0; }
        else if (n.type() == T.IDENT && (n.text().equalsIgnoreCase("inf") || n.text().equalsIgnoreCase("nan"))) { next(); v = parseNumber(n); }
        else throw err(n, "unexpected " + describe(n) + " in @, expected timestamp");
        if (neg) v = -v;
        if (Double.isInfinite(v) || Double.isNaN(v) || Math.abs(v) > 9.2e15)
            throw err(n, "timestamp out of bounds for @ modifier: " + v);
        return new At(At.Kind.TIMESTAMP, Math.round(v * 1000.0));
    }

    private Expr parseRangeOrSubquery(Expr e) {
        Tok lb = next();
        Dur range = parseDurationExpr();
        if (peek().type() == T.COLON) {
            next();
            Dur step = null;
            if (peek().type() != T.RBRACKET) step = parseDurationExpr();
            Tok rb = expect(T.RBRACKET, "\"]\"");
            if (e.type() != ValueType.VECTOR)
                throw err(lb, "subquery is only allowed on instant vector, got " + e.type() + " instead");
            checkPositive(range, lb, "subquery range");
            return new SubqueryExpr(e, range, step, null, null, e.pos(), rb.end());
        }
        Tok rb = expect(T.RBRACKET, "\"]\" or \":\"");
        if (!(e instanceof VectorSelector vs)) {
            throw err(lb, "ranges only allowed for vector selectors");
        }
        if (vs.offset() != null || vs.at() != null) throw err(lb, "no offset or @ modifiers allowed before range");
        checkPositive(range, lb, "range");
        return new MatrixSelector(vs, range, vs.pos(), rb.end());
    }

    private void checkPositive(Dur d, Tok t, String what) {
        if (d.isConstant() && d.millis(0, 0) <= 0)
            throw err(t, "duration must be greater than 0");
    }

    // ---------------------------------------------------------------- durations

    /** Full arithmetic duration expression (inside brackets or parentheses). */
    private Dur parseDurationExpr() { return parseDurBin(0); }

    private static int durPrec(Tok t) {
        if (t.type() != T.OP) return -1;
        return switch (t.text()) {
            case "+", "-" -> 1;
            case "*", "/", "%" -> 2;
            case "^" -> 3;
            default -> -1;
        };
    }

    private Dur parseDurBin(int minPrec) {
        Dur l = parseDurUnary();
        while (true) {
            Tok t = peek();
            int pr = durPrec(t);
            if (pr < 0 || pr < minPrec) return l;
            next();
            Dur r = parseDurBin(t.text().equals("^") ? pr : pr + 1);
            l = new Dur.Bin(t.text().charAt(0), l, r);
        }
    }

    private Dur parseDurUnary() {
        Tok t = peek();
        if (t.isOp("-")) { next(); return new Dur.Neg(parseDurBin(3)); }
        if (t.isOp("+")) { next(); return parseDurBin(3); }
        return parseDurAtom();
    }

    /** A single duration term after 'offset': optional sign, then atom (or parenthesised expression). */
    private Dur parseDurationTerm() {
        Tok t = peek();
        if (t.isOp("-")) { next(); return new Dur.Neg(parseDurAtom()); }
        if (t.isOp("+")) { next(); return parseDurAtom(); }
        return parseDurAtom();
    }

    private Dur parseDurAtom() {
        Tok t = next();
        switch (t.type()) {
            case DURATION: return new Dur.Lit(Lexer.parseDurationMs(t.text()) / 1000.0, true);
            case NUMBER: return new Dur.Lit(parseNumber(t), false);
            case LPAREN: {
                Dur d = parseDurationExpr();
                expect(T.RPAREN, "\")\"");
                return d;
            }
            case IDENT: {
                String k = t.text().toLowerCase(Locale.ROOT);
                if (k.equals("step") || k.equals("range")) {
                    expect(T.LPAREN, "\"(\"");
                    expect(T.RPAREN, "\")\"");
                    return k.equals("step") ? new Dur.Step() : new Dur.Range();
                }
                if (k.equals("min_of") || k.equals("max_of")) {
                    expect(T.LPAREN, "\"(\"");
                    Dur a = parseDurationExpr();
                    expect(T.COMMA, "\",\"");
                    Dur b = parseDurationExpr();
                    expect(T.RPAREN, "\")\"");
                    return new Dur.Bin(k.equals("min_of") ? 'm' : 'M', a, b);
                }
            }
            // fall through
            default:
                throw err(t, "unexpected " + describe(t) + " in duration expression");
        }
    }

    // ---------------------------------------------------------------- primaries

    private double parseNumber(Tok t) {
        String s = t.text();
        String l = s.toLowerCase(Locale.ROOT);
        if (l.equals("inf")) return Double.POSITIVE_INFINITY;
        if (l.equals("nan")) return Double.NaN;
        try {
            if (l.startsWith("0x")) return Long.parseLong(s.substring(2), 16);
            if (s.length() > 1 && s.charAt(0) == '0' && s.chars().allMatch(Character::isDigit)) {
                try { return Long.parseLong(s, 8); } catch (NumberFormatException ignored) { }
            }
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw err(t, "bad number or duration syntax: \"" + s + "\"");
        }
    }

    private Expr parsePrimary() {
        Tok t = peek();
        switch (t.type()) {
            case NUMBER: next(); return new NumberLiteral(parseNumber(t), t.pos(), t.end());
            case DURATION: next(); return new NumberLiteral(Lexer.parseDurationMs(t.text()) / 1000.0, t.pos(), t.end());
            case STRING: next(); return new StringLiteral(unquote(t), t.pos(), t.end());
            case LPAREN: {
                next();
                Expr e = parseExpr(0);
                Tok r = expect(T.RPAREN, "\")\"");
                return new ParenExpr(e, t.pos(), r.end());
            }
            case LBRACE: return parseSelector(null, t);
            case IDENT: break;
            default: throw err(t, "unexpected " + describe(t));
        }
        String word = t.text();
        String lw = word.toLowerCase(Locale.ROOT);
        if (lw.equals("inf") || lw.equals("nan")) { next(); return new NumberLiteral(parseNumber(t), t.pos(), t.end()); }
        if (AGGREGATORS.contains(lw) && (peek(1).type() == T.LPAREN || peek(1).isKw("by") || peek(1).isKw("without"))) {
            return parseAggregation();
        }
        if (peek(1).type() == T.LPAREN) {
            Function f = Function.ALL.get(word);
            if (f == null && (lw.equals("step") || lw.equals("range") || lw.equals("start") || lw.equals("end") || lw.equals("min_of") || lw.equals("max_of"))) f = Function.ALL.get(lw);
            if (f == null) throw err(t, "unknown function with name \"" + word + "\"");
            return parseCall(f);
        }
        if (precedence(t) > 0 || isKeyword(lw)) throw err(t, "unexpected " + describe(t));
        next();
        if (peek().type() == T.LBRACE) return parseSelector(word, t);
        return new VectorSelector(word, List.of(Matcher.eq(Labels.METRIC_NAME, word)), null, null, false, false, t.pos(), t.end());
    }

    private static boolean isKeyword(String lw) {
        return switch (lw) {
            case "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset" -> true;
            default -> false;
        };
    }

    private String unquote(Tok t) {
        try {
            return Strings.unquote(t.text());
        } catch (RuntimeException e) {
            throw err(t, "invalid syntax in string " + t.text());
        }
    }

    private Expr parseSelector(String name, Tok start) {
        boolean bypassEmpty = infoLabelSelector;
        infoLabelSelector = false;
        Tok lb = expect(T.LBRACE, "\"{\"");
        List<Matcher> ms = new ArrayList<>();
        String quotedName = null;
        while (peek().type() != T.RBRACE) {
            Tok n = next();
            String label;
            if (n.type() == T.STRING) {
                label = unquote(n);
                if (peek().type() == T.COMMA || peek().type() == T.RBRACE) {
                    if (quotedName != null || name != null) throw err(n, "metric name must not be set twice");
                    quotedName = label;
                    ms.add(Matcher.eq(Labels.METRIC_NAME, label));
                    if (peek().type() == T.COMMA) next();
                    continue;
                }
            } else if (n.type() == T.IDENT) {
                label = n.text();
            } else throw err(n, "unexpected " + describe(n) + " in label matching, expected label matching operator");
            Tok op = next();
            Matcher.Type type;
            if (op.isOp("=")) type = Matcher.Type.EQ;
            else if (op.isOp("!=")) type = Matcher.Type.NEQ;
            else if (op.isOp("=~")) type = Matcher.Type.RE;
            else if (op.isOp("!~")) type = Matcher.Type.NRE;
            else throw err(op, "unexpected " + describe(op) + " in label matching, expected label matching operator");
            Tok v = next();
            if (v.type() != T.STRING) throw err(v, "unexpected " + describe(v) + " in label matching, expected string");
            String val = unquote(v);
            try {
                ms.add(new Matcher(type, label, val));
            } catch (PatternSyntaxException e) {
                throw err(v, "error parsing regexp: " + e.getDescription());
            }
            if (peek().type() == T.COMMA) next();
            else if (peek().type() != T.RBRACE) throw err(peek(), "unexpected " + describe(peek()) + " in label matching, expected \",\" or \"}\"");
        }
        Tok rb = next();
        if (name != null) {
            for (Matcher m : ms) {
                if (m.name().equals(Labels.METRIC_NAME))
                    throw err(start, "metric name must not be set twice: \"" + name + "\" or \"" + m.value() + "\"");
            }
            ms.add(0, Matcher.eq(Labels.METRIC_NAME, name));
        }
        String effName = name != null ? name : quotedName;
        if (effName == null) {
            for (Matcher m : ms) if (m.name().equals(Labels.METRIC_NAME) && m.type() == Matcher.Type.EQ) effName = m.value();
        }
        boolean nonEmpty = false;
        for (Matcher m : ms) if (!m.matchesEmpty()) { nonEmpty = true; break; }
        if (!nonEmpty && !bypassEmpty) throw err(lb, "vector selector must contain at least one non-empty matcher");
        return new VectorSelector(effName, List.copyOf(ms), null, null, false, false, start.pos(), rb.end());
    }

    private List<String> parseLabelList() {
        expect(T.LPAREN, "\"(\"");
        List<String> out = new ArrayList<>();
        while (peek().type() != T.RPAREN) {
            Tok t = next();
            if (t.type() == T.IDENT) out.add(t.text());
            else if (t.type() == T.STRING) out.add(unquote(t));
            else throw err(t, "unexpected " + describe(t) + " in grouping opts, expected label");
            if (peek().type() == T.COMMA) next();
            else if (peek().type() != T.RPAREN) throw err(peek(), "unexpected " + describe(peek()) + " in grouping opts, expected \",\" or \")\"");
        }
        next();
        return out;
    }

    private Expr parseAggregation() {
        Tok opTok = next();
        String op = opTok.text().toLowerCase(Locale.ROOT);
        List<String> grouping = List.of();
        boolean without = false;
        boolean haveGrouping = false;
        if (peek().isKw("by") || peek().isKw("without")) {
            without = next().isKw("without");
            grouping = parseLabelList();
            haveGrouping = true;
        }
        Tok lp = expect(T.LPAREN, "\"(\"");
        List<Expr> args = new ArrayList<>();
        if (peek().type() != T.RPAREN) {
            args.add(parseExpr(0));
            while (peek().type() == T.COMMA) { next(); args.add(parseExpr(0)); }
        }
        Tok rp = expect(T.RPAREN, "\")\"");
        int end = rp.end();
        if (peek().isKw("by") || peek().isKw("without")) {
            if (haveGrouping) throw err(peek(), "unexpected " + describe(peek()));
            without = next().isKw("without");
            grouping = parseLabelList();
            end = prevEnd();
        }
        Expr param = null, expr;
        if (PARAM_AGGS.contains(op)) {
            if (args.size() != 2) throw err(lp, "wrong number of arguments for aggregate expression provided, expected 2, got " + args.size());
            param = args.get(0);
            expr = args.get(1);
            ValueType want = op.equals("count_values") ? ValueType.STRING : ValueType.SCALAR;
            if (param.type() != want) throw err(param.pos(), "expected type " + want + " in aggregation parameter, got " + param.type());
        } else {
            if (args.size() != 1) throw err(lp, "wrong number of arguments for aggregate expression provided, expected 1, got " + args.size());
            expr = args.get(0);
        }
        if (expr.type() != ValueType.VECTOR) throw err(expr.pos(), "expected type instant vector in aggregation expression, got " + expr.type());
        return new AggregateExpr(op, expr, param, List.copyOf(grouping), without, opTok.pos(), end);
    }

    private Expr parseCall(Function f) {
        Tok name = next();
        expect(T.LPAREN, "\"(\"");
        List<Expr> args = new ArrayList<>();
        if (peek().type() != T.RPAREN) {
            args.add(parseExpr(0));
            while (peek().type() == T.COMMA) {
                next();
                Tok first = peek();
                boolean infoSel = f.name().equals("info") && args.size() == 1;
                infoLabelSelector = infoSel && first.type() == T.LBRACE;
                Expr a = parseExpr(0);
                infoLabelSelector = false;
                if (infoSel && a instanceof VectorSelector && first.type() == T.IDENT)
                    throw err(a.pos(), "expected label selectors only, got vector selector instead");
                args.add(a);
            }
        }
        Tok rp = expect(T.RPAREN, "\")\"");
        int n = f.argTypes().size();
        if (f.variadic() == 0) {
            if (args.size() != n) throw err(name, "expected " + n + " argument(s) in call to \"" + f.name() + "\", got " + args.size());
        } else if (f.variadic() > 0) {
            int min = n - 1;
            int max = n - 1 + f.variadic();
            if (f.name().equals("histogram_quantiles")) { min = 3; max = n - 1 + f.variadic(); }
            if (args.size() < min || args.size() > max)
                throw err(name, "expected " + (args.size() < min ? "at least " + min : "at most " + max) + " argument(s) in call to \"" + f.name() + "\", got " + args.size());
        } else {
            if (args.size() < n - 1) throw err(name, "expected at least " + (n - 1) + " argument(s) in call to \"" + f.name() + "\", got " + args.size());
        }
        for (int i = 0; i < args.size(); i++) {
            ValueType want = i < n ? f.argTypes().get(i) : f.argTypes().get(n - 1);
            Expr a = args.get(i);
            if (a.type() != want)
                throw err(a.pos(), "expected type " + want + " in call to function \"" + f.name() + "\", got " + a.type());
        }
        return new Call(f, List.copyOf(args), name.pos(), rp.end());
    }
}
