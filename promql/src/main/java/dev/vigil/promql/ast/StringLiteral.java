package dev.vigil.promql.ast;

public record StringLiteral(String value, int pos, int end) implements Expr {
    @Override public ValueType type() { return ValueType.STRING; }
}
