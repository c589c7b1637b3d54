package dev.vigil.promql.storage;

import dev.vigil.promql.Matcher;

import java.util.List;

/** Reads series for one query. Created by {@link Storage#querier}; closed when the query finishes. */
public interface Querier extends AutoCloseable {
    /**
     * Returns every series matching all matchers, with its samples whose timestamps are within
     * [hints.start, hints.end] (inclusive). Samples outside may be included; the engine clips.
     */
    List<SeriesData> select(SelectHints hints, List<Matcher> matchers);

    @Override default void close() {}
}
