package dev.vigil.promql.ast;

public record UnaryExpr(boolean negate, Expr expr, int pos, int end) implements Expr {
    @Override public ValueType type() { return expr.type(); }
}
