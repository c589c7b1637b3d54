package dev.vigil.query.storage;

import java.util.ArrayList;
import java.util.List;

import dev.vigil.promql.Labels;
import dev.vigil.promql.Matcher;
import dev.vigil.promql.ast.AggregateExpr;
import dev.vigil.promql.ast.BinaryExpr;
import dev.vigil.promql.ast.Call;
import dev.vigil.promql.ast.Expr;
import dev.vigil.promql.ast.MatrixSelector;
import dev.vigil.promql.ast.ParenExpr;
import dev.vigil.promql.ast.SubqueryExpr;
import dev.vigil.promql.ast.UnaryExpr;
import dev.vigil.promql.ast.VectorSelector;
import dev.vigil.promql.parser.Parser;

/**
 * Aggregation pushdown. The engine hands the storage one selector at a time and never the
 * enclosing aggregation, so this rewriter marks the selectors of
 * {@code sum by (G) (rate|increase(sel[r]))} (also inside {@code histogram_quantile}) with the
 * pseudo-matcher {@link ClickHouseStorage#GROUP_MATCHER}{@code ="G"}; the storage then sums the
 * rollups per group and bucket in ClickHouse and returns one counter per group (and le). This is
 * exact because the synthesized counters of all series share the same timestamps and never reset,
 * so the sum of their rates equals the rate of their sum. Raw-sample selectors ignore the marker.
 */
public final class PushdownRewriter {
    private PushdownRewriter() {
    }

    private record Edit(int pos, int end, String text) {
    }

    /** The query with pushdown markers, or the query itself when nothing applies (or on any doubt). */
    public static String rewrite(String query) {
        Expr e;
        try {
            e = Parser.parse(query);
        } catch (RuntimeException ex) {
            return query;
        }
        List<Edit> edits = new ArrayList<>();
        walk(e, query, edits);
        if (edits.isEmpty()) {
            return query;
        }
        edits.sort((a, b) -> Integer.compare(b.pos, a.pos));
        StringBuilder sb = new StringBuilder(query);
        for (Edit ed : edits) {
            sb.replace(ed.pos, ed.end, ed.text);
        }
        String out = sb.toString();
        try {
            Parser.parse(out);
            return out;
        } catch (RuntimeException ex) {
            return query;
        }
    }

    private static void walk(Expr e, String q, List<Edit> edits) {
        switch (e) {
            case AggregateExpr a -> {
                if (a.op().equals("sum") && !a.without() && a.param() == null) {
                    Expr inner = unparen(a.expr());
                    if (inner instanceof Call c && (c.func().name().equals("rate") || c.func().name().equals("increase"))
                            && c.args().size() == 1 && unparen(c.args().get(0)) instanceof MatrixSelector ms) {
                        Edit ed = mark(ms.vs(), a.grouping(), q);
                        if (ed != null) {
                            edits.add(ed);
                            return;
                        }
                    }
                }
                if (a.param() != null) {
                    walk(a.param(), q, edits);
                }
                walk(a.expr(), q, edits);
            }
            case Call c -> c.args().forEach(x -> walk(x, q, edits));
            case ParenExpr p -> walk(p.expr(), q, edits);
            case UnaryExpr u -> walk(u.expr(), q, edits);
            case BinaryExpr b -> {
                walk(b.lhs(), q, edits);
                walk(b.rhs(), q, edits);
            }
            case SubqueryExpr s -> walk(s.expr(), q, edits);
            default -> {
            }
        }
    }

    private static Expr unparen(Expr e) {
        while (e instanceof ParenExpr p) {
            e = p.expr();
        }
        return e;
    }

    private static Edit mark(VectorSelector vs, List<String> grouping, String q) {
        if (vs.offset() != null || vs.at() != null || vs.anchored() || vs.smoothed()) {
            return null;
        }
        List<String> g = new ArrayList<>();
        for (String l : grouping) {
            if (l.equals(Labels.METRIC_NAME) || l.contains(",")) {
                return null;
            }
            if (!l.equals("le")) {
                g.add(l);
            }
        }
        if (vs.pos() < 0 || vs.end() > q.length() || vs.end() <= vs.pos()) {
            return null;
        }
        String text = q.substring(vs.pos(), vs.end());
        if (text.contains("[") || text.contains(ClickHouseStorage.GROUP_MATCHER)) {
            return null;
        }
        StringBuilder sb = new StringBuilder("{");
        for (Matcher m : vs.matchers()) {
            sb.append(m).append(", ");
        }
        sb.append(ClickHouseStorage.GROUP_MATCHER).append("=\"").append(String.join(",", g)).append("\"}");
        return new Edit(vs.pos(), vs.end(), sb.toString());
    }
}
