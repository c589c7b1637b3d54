package dev.vigil.promql.ast;

import java.util.List;

/** An aggregation. {@code param} is non-null for topk/bottomk/quantile/count_values/limitk/limit_ratio. */
public record AggregateExpr(String op, Expr expr, Expr param, List<String> grouping, boolean without, int pos, int end) implements Expr {
    @Override public ValueType type() { return ValueType.VECTOR; }
}
