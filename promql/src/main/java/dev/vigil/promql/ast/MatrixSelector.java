package dev.vigil.promql.ast;

public record MatrixSelector(VectorSelector vs, Dur range, int pos, int end) implements Expr {
    @Override public ValueType type() { return ValueType.MATRIX; }
}
