package dev.vigil.promql.storage;

/** A source of series for the PromQL engine. */
public interface Storage {
    /** Opens a querier over samples within [mint, maxt] (ms, inclusive). */
    Querier querier(long mint, long maxt);
}
