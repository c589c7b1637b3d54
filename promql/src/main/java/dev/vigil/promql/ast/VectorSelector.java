package dev.vigil.promql.ast;

import dev.vigil.promql.Matcher;

import java.util.List;

/** An instant vector selector. {@code offset} and {@code at} may be null. */
public record VectorSelector(String name, List<Matcher> matchers, Dur offset, At at, boolean anchored, boolean smoothed,
                             int pos, int end) implements Expr {
    @Override public ValueType type() { return ValueType.VECTOR; }
    public VectorSelector withOffset(Dur o, int e) { return new VectorSelector(name, matchers, o, at, anchored, smoothed, pos, e); }
    public VectorSelector withAt(At a, int e) { return new VectorSelector(name, matchers, offset, a, anchored, smoothed, pos, e); }
    public VectorSelector withModifiers(boolean anch, boolean smooth) { return new VectorSelector(name, matchers, offset, at, anch, smooth, pos, end); }
}
