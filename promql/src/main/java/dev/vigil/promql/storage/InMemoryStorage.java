package dev.vigil.promql.storage;

import dev.vigil.promql.Labels;
import dev.vigil.promql.Matcher;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Thread-safe in-memory storage with a metric-name index. Samples per series kept sorted. */
public final class InMemoryStorage implements AppendableStorage {
    private static final class Mem {
        final Labels labels;
        long[] ts = new long[8];
        double[] vs = new double[8];
        long[] sts; // start timestamps, allocated on the first non-zero one
        int n;
        boolean shared; // arrays were handed out by select(): copy before changing existing entries
        Mem(Labels l) { labels = l; }

        void add(long t, double v, long st) {
            if (st != 0 && sts == null) sts = new long[ts.length];
            if (n > 0 && ts[n - 1] >= t) {
                if (shared) {
                    ts = ts.clone();
                    vs = vs.clone();
                    if (sts != null) sts = sts.clone();
                    shared = false;
                }
                int i = Arrays.binarySearch(ts, 0, n, t);
                if (i >= 0) {
                    vs[i] = v;
                    if (sts != null) sts[i] = st;
                    return;
                }
                int ins = -i - 1;
                grow();
                System.arraycopy(ts, ins, ts, ins + 1, n - ins);
                System.arraycopy(vs, ins, vs, ins + 1, n - ins);
                if (sts != null) System.arraycopy(sts, ins, sts, ins + 1, n - ins);
                ts[ins] = t;
                vs[ins] = v;
                if (sts != null) sts[ins] = st;
                n++;
                return;
            }
            grow();
            ts[n] = t;
            vs[n] = v;
            if (sts != null) sts[n] = st;
            n++;
        }

        void grow() {
            if (n == ts.length) {
                shared = false; // fresh arrays below
                ts = Arrays.copyOf(ts, n * 2);
                vs = Arrays.copyOf(vs, n * 2);
                if (sts != null) sts = Arrays.copyOf(sts, n * 2);
            }
        }
    }

    private final Map<Labels, Mem> series = new LinkedHashMap<>();
    private final Map<String, List<Mem>> byName = new HashMap<>();

    @Override public synchronized Appender appender() {
        return new Appender() {
            @Override public void append(Labels labels, long t, double v) {
                append(labels, t, v, 0);
            }

            @Override public void append(Labels labels, long t, double v, long st) {
                synchronized (InMemoryStorage.this) {
                    Mem m = series.get(labels);
                    if (m == null) {
                        m = new Mem(labels);
                        series.put(labels, m);
                        byName.computeIfAbsent(labels.metricName(), k -> new ArrayList<>()).add(m);
                    }
                    m.add(t, v, st);
                }
            }
        };
    }

    @Override public synchronized void clear() {
        series.clear();
        byName.clear();
    }

    public synchronized int seriesCount() { return series.size(); }

    @Override public Querier querier(long mint, long maxt) {
        return (hints, matchers) -> select(Math.max(mint, hints.start()), Math.min(maxt, hints.end()), matchers);
    }

    private synchronized List<SeriesData> select(long mint, long maxt, List<Matcher> matchers) {
        Iterable<Mem> candidates = series.values();
        for (Matcher m : matchers) {
            if (m.name().equals(Labels.METRIC_NAME) && m.type() == Matcher.Type.EQ) {
                candidates = byName.getOrDefault(m.value(), List.of());
                break;
            }
        }
        List<SeriesData> out = new ArrayList<>();
        outer:
        for (Mem s : candidates) {
            for (Matcher m : matchers) if (!m.matches(s.labels)) continue outer;
            int from = lowerBound(s.ts, s.n, mint);
            int to = lowerBound(s.ts, s.n, maxt + 1);
            if (to <= from) continue;
            if (from == 0) {
                // Zero-copy: hand out the arrays themselves (readers only see [0, to)); the next
                // in-place change (overwrite / out-of-order insert) copies them first.
                s.shared = true;
                out.add(new SeriesData(s.labels, s.ts, s.vs, to, s.sts));
            } else {
                out.add(new SeriesData(s.labels, Arrays.copyOfRange(s.ts, from, to), Arrays.copyOfRange(s.vs, from, to), to - from,
                        s.sts == null ? null : Arrays.copyOfRange(s.sts, from, to)));
            }
        }
        return out;
    }

    static int lowerBound(long[] a, int n, long key) {
        int lo = 0, hi = n;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] < key) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
