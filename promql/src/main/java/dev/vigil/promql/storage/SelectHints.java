package dev.vigil.promql.storage;

import java.util.List;

/**
 * Hints passed to {@link Querier#select}. Implementations may use them to push work down (e.g.
 * into SQL); they are advisory. {@code start}/{@code end} bound the samples actually needed
 * (ms, inclusive). {@code func} is the enclosing function name (e.g. "rate"), {@code range} the
 * range-selector length in ms (0 for instant selectors), {@code step} the query step in ms,
 * {@code grouping}/{@code by} the enclosing aggregation's grouping, if any.
 */
public record SelectHints(long start, long end, long step, String func, long range, List<String> grouping, boolean by) {
    public static SelectHints of(long start, long end) { return new SelectHints(start, end, 0, null, 0, List.of(), false); }
}
