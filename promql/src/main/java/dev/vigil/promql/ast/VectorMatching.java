package dev.vigil.promql.ast;

import java.util.List;

/**
 * Vector matching for binary operations. {@code on} true means on(labels), false means
 * ignoring(labels). {@code include} lists group_left/group_right extra labels. Fill values
 * (Prometheus fill/fill_left/fill_right modifiers) are null when absent.
 */
public record VectorMatching(Card card, List<String> labels, boolean on, List<String> include, Double fillLeft, Double fillRight) {
    public enum Card { ONE_TO_ONE, MANY_TO_ONE, ONE_TO_MANY, MANY_TO_MANY }
}
