package dev.vigil.promql.ast;

public record NumberLiteral(double value, int pos, int end) implements Expr {
    @Override public ValueType type() { return ValueType.SCALAR; }
}
