package dev.vigil.promql.ast;

public record BinaryExpr(String op, Expr lhs, Expr rhs, boolean returnBool, VectorMatching matching, int pos, int end) implements Expr {
    @Override public ValueType type() {
        return lhs.type() == ValueType.SCALAR && rhs.type() == ValueType.SCALAR ? ValueType.SCALAR : ValueType.VECTOR;
    }
    public boolean isComparison() { return BinaryExpr.isComparison(op); }
    public static boolean isComparison(String op) {
        return switch (op) { case "==", "!=", "<", "<=", ">", ">=" -> true; default -> false; };
    }
    public static boolean isSetOp(String op) { return op.equals("and") || op.equals("or") || op.equals("unless"); }
}
