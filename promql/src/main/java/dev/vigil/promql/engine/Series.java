package dev.vigil.promql.engine;

import dev.vigil.promql.Labels;

import java.util.Arrays;

/** A series of float points (timestamps in ms) produced by evaluation. Only the first {@code size()} entries are valid. */
public final class Series {
    Labels labels;
    boolean dropName;
    long[] t;
    double[] f;
    /** Start timestamps (ms, 0 = unknown) parallel to t/f, or null; only raw selector data carries them. */
    long[] st;
    int n;

    Series(Labels labels, boolean dropName, int capacity) {
        this.labels = labels;
        this.dropName = dropName;
        this.t = new long[Math.max(1, capacity)];
        this.f = new double[Math.max(1, capacity)];
    }

    Series(Labels labels, boolean dropName, long[] t, double[] f, int n) {
        this.labels = labels;
        this.dropName = dropName;
        this.t = t;
        this.f = f;
        this.n = n;
        this.borrowed = true;
    }

    /** Arrays may be shared (storage data, other series): copied before the first add(). */
    private boolean borrowed;

    void add(long ts, double v) {
        if (n == t.length || borrowed) {
            borrowed = false;
            int cap = Math.max(4, n * 2);
            t = Arrays.copyOf(t, cap);
            f = Arrays.copyOf(f, cap);
            if (st != null) st = Arrays.copyOf(st, cap);
        }
        t[n] = ts;
        f[n] = v;
        if (st != null) st[n] = 0;
        n++;
    }

    Series copyWith(Labels l, boolean drop) { return new Series(l, drop, t, f, n); }

    public Labels labels() { return labels; }
    public int size() { return n; }
    public long timestamp(int i) { return t[i]; }
    public double value(int i) { return f[i]; }
    public long[] timestamps() { return Arrays.copyOf(t, n); }
    public double[] values() { return Arrays.copyOf(f, n); }

    @Override public String toString() {
        StringBuilder sb = new StringBuilder(labels.toString()).append(" =>");
        for (int i = 0; i < n; i++) sb.append(' ').append(f[i]).append(" @").append(t[i]);
        return sb.toString();
    }
}
