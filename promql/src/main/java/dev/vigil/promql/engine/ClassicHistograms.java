package dev.vigil.promql.engine;

import dev.vigil.promql.Labels;

/**
 * The engine's arithmetic of classic (le-bucket) histograms and its counter-name check, public so
 * that a storage answering {@code histogram_quantile} itself (the query API's ClickHouse path)
 * computes exactly the engine's doubles with the engine's code instead of a copy of it.
 */
public final class ClassicHistograms {
    private ClassicHistograms() {
    }

    /** How the engine reads an {@code le} value: Go's {@code strconv.ParseFloat}. */
    public static double parseGoFloat(String s) {
        String l = s.toLowerCase();
        switch (l) {
            case "+inf", "inf", "+infinity", "infinity": return Double.POSITIVE_INFINITY;
            case "-inf", "-infinity": return Double.NEGATIVE_INFINITY;
            case "nan": return Double.NaN;
            default: break;
        }
        if (s.isEmpty() || s.endsWith("d") || s.endsWith("D") || s.endsWith("f") || s.endsWith("F")) throw new NumberFormatException(s);
        return Double.parseDouble(s);
    }

    /**
     * Prometheus' {@code bucketQuantile} over {@code n} buckets sorted by distinct upper bounds
     * {@code ub} with cumulative counts {@code c} (modified: precision fix and monotonicity);
     * {@code forced[0]} is set when counts had to be made monotonic (the engine then annotates).
     */
    public static double bucketQuantile(double q, double[] ub, double[] c, int n, boolean[] forced) {
        if (Double.isNaN(q)) return Double.NaN;
        if (q < 0) return Double.NEGATIVE_INFINITY;
        if (q > 1) return Double.POSITIVE_INFINITY;
        if (n == 0 || !Double.isInfinite(ub[n - 1]) || ub[n - 1] < 0) return Double.NaN;
        // correct precision errors
        double prev = c[0];
        for (int i = 1; i < n; i++) {
            double curr = c[i];
            double delta = Math.abs(curr - prev);
            if (delta == 0) continue;
            if (delta / curr <= 1e-12) c[i] = prev; else prev = curr;
        }
        double max = c[0];
        for (int i = 1; i < n; i++) {
            if (c[i] > max) max = c[i];
            else if (c[i] < max) { c[i] = max; forced[0] = true; }
        }
        if (n < 2) return Double.NaN;
        double obs = c[n - 1];
        if (obs == 0) return Double.NaN;
        double rank = q * obs;
        int b = 0;
        while (b < n - 1 && !(c[b] >= rank)) b++;
        if (b == n - 1) return ub[n - 2];
        if (b == 0 && ub[0] <= 0) return ub[0];
        double start = 0, endB = ub[b], count = c[b];
        if (b > 0) {
            start = ub[b - 1];
            count -= c[b - 1];
            rank -= c[b - 1];
        }
        return start + (endB - start) * (rank / count);
    }

    /** Why {@code rate}/{@code increase} would annotate a series as possibly not a counter. */
    public enum CounterCheck {
        /** No annotation. */
        OK,
        /** A {@code __type__} label other than counter or histogram. */
        TYPE_NOT_COUNTER,
        /** No {@code __type__} label and a name not ending in _total/_sum/_count/_bucket. */
        NAME_NOT_COUNTER
    }

    /** The engine's check behind its "metric might not be a counter" info annotation. */
    public static CounterCheck counterCheck(Labels l) {
        String mn = l.metricName();
        if (mn.isEmpty()) return CounterCheck.OK;
        String type = l.get("__type__");
        if (!type.isEmpty()) {
            return type.equals("counter") || type.equals("histogram") ? CounterCheck.OK : CounterCheck.TYPE_NOT_COUNTER;
        }
        return mn.endsWith("_total") || mn.endsWith("_sum") || mn.endsWith("_count") || mn.endsWith("_bucket")
                ? CounterCheck.OK : CounterCheck.NAME_NOT_COUNTER;
    }
}
