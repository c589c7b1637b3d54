package dev.vigil.promql.ast;

public enum ValueType {
    NONE("none"), SCALAR("scalar"), VECTOR("instant vector"), MATRIX("range vector"), STRING("string");
    public final String display;
    ValueType(String d) { display = d; }
    @Override public String toString() { return display; }
}
