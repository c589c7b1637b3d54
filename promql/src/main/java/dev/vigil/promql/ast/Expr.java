package dev.vigil.promql.ast;

/** A PromQL expression node. {@code pos}/{@code end} are character offsets into the query. */
public sealed interface Expr permits NumberLiteral, StringLiteral, VectorSelector, MatrixSelector, SubqueryExpr,
        Call, AggregateExpr, BinaryExpr, UnaryExpr, ParenExpr {
    ValueType type();
    int pos();
    int end();
}
