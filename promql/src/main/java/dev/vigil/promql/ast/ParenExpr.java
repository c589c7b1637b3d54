package dev.vigil.promql.ast;

public record ParenExpr(Expr expr, int pos, int end) implements Expr {
    @Override public ValueType type() { return expr.type(); }
}
