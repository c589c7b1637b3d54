package dev.vigil.guardrails;

/**
 * Quantile of event-level values from a histogram, with the unit-clustered order-statistic standard error of
 * Deng, Knoblich &amp; Yu (2018, "Applying the delta method in metric analytics", section 3.3).
 *
 * <ol>
 *   <li>q = value at rank p * E (E = number of events), interpolated linearly inside its bucket.</li>
 *   <li>F = fraction of events &lt;= q = sum_i S_i / sum_i M_i is a ratio metric over units, so by the delta method
 *       {@code Var(F) = sum_i (S_i - p M_i)^2 / ((n - 1) n Mbar^2)}, with {@code sum_i (S_i - p M_i)^2 =
 *       sum S_i^2 - 2 p sum S_i M_i + p^2 sum M_i^2}; the two sums at q are interpolated between the bucket edges
 *       with the same fraction as q itself.</li>
 *   <li>Ranks L, U = E (p -+ z sigma_F), z = 1.96; the 95 % interval of the quantile is [value at L, value at U],
 *       and its standard error is (value at U - value at L) / (2 z).</li>
 * </ol>
 */
final class QuantileEstimator {
    static final double Z = 1.959963984540054;

    private QuantileEstimator() {
    }

    static MetricEstimate estimate(QuantileSums q, double p) {
        long n = q.units();
        long[] counts = q.bucketCounts();
        int k = counts.length;
        double[] cum = new double[k + 1]; // cum[j] = events <= edges[j]
        for (int j = 0; j < k; j++) cum[j + 1] = cum[j] + counts[j];
        double events = cum[k];
        if (events <= 0) throw new IllegalArgumentException("no events in the histogram");
        if (Math.abs(events - q.sumEvents()) > 1e-6 * events)
            throw new IllegalArgumentException("sumEvents " + q.sumEvents() + " differs from the histogram total " + events);
        double rank = p * events;
        int b = bucketOf(counts, rank);
        double t = (rank - cum[b]) / counts[b];
        double value = q.bucketEdges()[b] + t * (q.bucketEdges()[b + 1] - q.bucketEdges()[b]);
        double sq = (b == 0 ? 0 : q.sumBelowSq()[b - 1]) * (1 - t) + q.sumBelowSq()[b] * t;
        double sm = (b == 0 ? 0 : q.sumBelowTimesEvents()[b - 1]) * (1 - t) + q.sumBelowTimesEvents()[b] * t;
        double ssr = Math.max(0, sq - 2 * p * sm + p * p * q.sumEventsSq());
        double mBar = events / n;
        double varF = ssr / ((double) (n - 1) * n * mBar * mBar);
        double sdF = Math.sqrt(varF);
        double lo = valueAt(q, cum, Math.max(0, events * (p - Z * sdF)));
        double hi = valueAt(q, cum, Math.min(events, events * (p + Z * sdF)));
        double se = (hi - lo) / (2 * Z);
        return new MetricEstimate(n, value, se * se * n, false, Double.NaN, Double.NaN, Double.NaN);
    }

    /** The bucket of {@code rank} ({@link QuantileSums#bucketAtRank}). */
    private static int bucketOf(long[] counts, double rank) {
        int b = QuantileSums.bucketAtRank(counts, rank);
        if (b < 0) throw new IllegalArgumentException("no events in the histogram");
        return b;
    }

    private static double valueAt(QuantileSums q, double[] cum, double rank) {
        int b = bucketOf(q.bucketCounts(), rank);
        double t = Math.max(0, Math.min(1, (rank - cum[b]) / (cum[b + 1] - cum[b])));
        return q.bucketEdges()[b] + t * (q.bucketEdges()[b + 1] - q.bucketEdges()[b]);
    }
}
