package dev.vigil.query.health;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import dev.vigil.common.histogram.LogBuckets;

/**
 * Quantiles and drift from log-bucket histograms (key = {@link LogBuckets#key}, value = count).
 *
 * <p>Drift: the fine log buckets (1 % wide) are coarsened into the baseline's deciles: the bin
 * edges are the bucket upper bounds at which the baseline's cumulative share first reaches
 * 10 %, 20 %, ..., 90 % (bins that would be empty because one bucket holds more than 10 % are
 * merged), so each bin holds about a tenth of the baseline. Both histograms are then binned
 * exactly (bins end on bucket bounds). PSI = sum (w - b) ln(w / b); Jensen-Shannon distance =
 * sqrt(JSD) with log base 2 (0 = same, 1 = disjoint), both over those bins. Empty bins get a share
 * of {@link #EPSILON} before the logarithms (the usual smoothing).
 */
public final class Histograms {
    public static final double EPSILON = 1e-4;

    private Histograms() {
    }

    public static long total(Map<Integer, Long> h) {
        long n = 0;
        for (long c : h.values()) n += c;
        return n;
    }

    /** Quantile q with linear interpolation inside the bucket (as histogram_quantile); NaN when empty. */
    public static double quantile(TreeMap<Integer, Long> h, double q) {
        long n = total(h);
        if (n == 0) return Double.NaN;
        double rank = q * n, cum = 0;
        for (var e : h.entrySet()) {
            long c = e.getValue();
            if (cum + c >= rank && c > 0) {
                double lo = LogBuckets.lowerBound(e.getKey()), hi = LogBuckets.upperBound(e.getKey());
                if (e.getKey() == LogBuckets.ZERO_KEY) return 0;
                return lo + (hi - lo) * Math.max(0, Math.min(1, (rank - cum) / c));
            }
            cum += c;
        }
        return LogBuckets.upperBound(h.lastKey());
    }

    /** Bin upper keys (inclusive) of the baseline's deciles; the last bin is open-ended. */
    public static List<Integer> decileEdges(TreeMap<Integer, Long> baseline, int bins) {
        long n = total(baseline);
        List<Integer> edges = new ArrayList<>();
        if (n == 0) return edges;
        long cum = 0;
        int next = 1;
        for (var e : baseline.entrySet()) {
            cum += e.getValue();
            boolean crossed = false;
            while (next < bins && cum >= (double) n * next / bins) {
                next++;
                crossed = true;
            }
            if (crossed && !e.getKey().equals(baseline.lastKey())) edges.add(e.getKey());
        }
        return edges;
    }

    /** Shares of h in the bins given by {@code edges} (edges.size() + 1 bins). */
    public static double[] shares(TreeMap<Integer, Long> h, List<Integer> edges) {
        double[] s = new double[edges.size() + 1];
        long n = total(h);
        if (n == 0) return s;
        int bin = 0;
        for (var e : h.entrySet()) {
            while (bin < edges.size() && e.getKey() > edges.get(bin)) bin++;
            s[bin] += e.getValue();
        }
        for (int i = 0; i < s.length; i++) s[i] /= n;
        return s;
    }

    private static double[] smooth(double[] p) {
        double[] out = new double[p.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) sum += out[i] = Math.max(p[i], EPSILON);
        for (int i = 0; i < p.length; i++) out[i] /= sum;
        return out;
    }

    /** Drift of {@code window} against {@code baseline}: [PSI, JS distance]; NaN when either is empty. */
    public static double[] drift(TreeMap<Integer, Long> window, TreeMap<Integer, Long> baseline) {
        if (total(window) == 0 || total(baseline) == 0) return new double[]{Double.NaN, Double.NaN};
        List<Integer> edges = decileEdges(baseline, 10);
        return drift(shares(window, edges), shares(baseline, edges));
    }

    /**
     * {@link #drift(TreeMap, TreeMap)} over dense counts: {@code window[i]} and {@code baseline[i]}
     * are the counts of the i-th of one ascending list of bucket keys (0 = key absent). The same
     * operations in the same order as the map version, so the same doubles (tested).
     */
    public static double[] drift(long[] window, long[] baseline) {
        long nw = 0, nb = 0;
        int last = -1;
        for (int i = 0; i < baseline.length; i++) {
            nw += window[i];
            nb += baseline[i];
            if (baseline[i] != 0) last = i;
        }
        if (nw == 0 || nb == 0) return new double[]{Double.NaN, Double.NaN};
        // decile edges of the baseline (as indices; the keys ascend with them)
        int bins = 10;
        int[] edges = new int[bins];
        int ne = 0;
        long cum = 0;
        int next = 1;
        for (int i = 0; i < baseline.length; i++) {
            if (baseline[i] == 0) continue;
            cum += baseline[i];
            boolean crossed = false;
            while (next < bins && cum >= (double) nb * next / bins) {
                next++;
                crossed = true;
            }
            if (crossed && i != last) edges[ne++] = i;
        }
        return drift(denseShares(window, nw, edges, ne), denseShares(baseline, nb, edges, ne));
    }

    private static double[] denseShares(long[] h, long n, int[] edges, int ne) {
        double[] s = new double[ne + 1];
        int bin = 0;
        for (int i = 0; i < h.length; i++) {
            if (h[i] == 0) continue;
            while (bin < ne && i > edges[bin]) bin++;
            s[bin] += h[i];
        }
        for (int i = 0; i < s.length; i++) s[i] /= n;
        return s;
    }

    /** PSI and JS distance of two share vectors over the same bins. */
    private static double[] drift(double[] windowShares, double[] baselineShares) {
        double[] w = smooth(windowShares), b = smooth(baselineShares);
        double psi = 0, js = 0;
        for (int i = 0; i < w.length; i++) {
            psi += (w[i] - b[i]) * Math.log(w[i] / b[i]);
            double m = (w[i] + b[i]) / 2;
            js += 0.5 * w[i] * Math.log(w[i] / m) + 0.5 * b[i] * Math.log(b[i] / m);
        }
        return new double[]{psi, Math.sqrt(Math.max(0, js / Math.log(2)))};
    }
}
