package dev.vigil.promql.engine;

import java.util.ArrayList;
import java.util.Collection;

/** Internal: an instant vector evaluated over all steps (or raw range data). */
final class Mat extends ArrayList<Series> {
    Mat() {}
    Mat(int cap) { super(cap); }
    Mat(Collection<Series> c) { super(c); }
}
