package dev.vigil.promql.ast;

/** {@code expr[range:step]}; step may be null (defaults to the engine's default evaluation interval). */
public record SubqueryExpr(Expr expr, Dur range, Dur step, Dur offset, At at, int pos, int end) implements Expr {
    @Override public ValueType type() { return ValueType.MATRIX; }
    public SubqueryExpr withOffset(Dur o, int e) { return new SubqueryExpr(expr, range, step, o, at, pos, e); }
    public SubqueryExpr withAt(At a, int e) { return new SubqueryExpr(expr, range, step, offset, a, pos, e); }
}
