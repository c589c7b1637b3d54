package dev.vigil.guardrails;

/**
 * Sums for a quantile of event-level values (e.g. p95 latency of requests), analysed with the unit-clustered
 * order-statistic interval of Deng, Knoblich &amp; Yu (2018). Events are bucketed into a histogram with edges
 * {@code bucketEdges[0] < ... < bucketEdges[K]}; bucket k (0-based) holds values in (edges[k], edges[k+1]].
 *
 * <p>For unit i let M_i be its number of events and S_i(b) the number of its events with value &lt;= b.
 * Per bucket upper edge b = edges[k+1], ClickHouse computes over units:
 * {@code sumBelowSq[k] = sum_i S_i(b)^2} and {@code sumBelowTimesEvents[k] = sum_i S_i(b) * M_i}.
 * (The plain sum of S_i(b) is the cumulative bucket count, so it is not repeated.) With these, the variance of
 * the fraction of events below any quantile estimate is available in one pass, whatever the quantile.
 *
 * @param units               units exposed to the variant (n), including units with no events
 * @param sumEvents           sum of M_i (equals the sum of bucketCounts)
 * @param sumEventsSq         sum of M_i squared
 * @param bucketEdges         K+1 increasing bucket edges
 * @param bucketCounts        K event counts
 * @param sumBelowSq          K values: sum over units of S_i(edges[k+1])^2
 * @param sumBelowTimesEvents K values: sum over units of S_i(edges[k+1]) * M_i
 */
public record QuantileSums(long units, double sumEvents, double sumEventsSq, double[] bucketEdges, long[] bucketCounts,
                           double[] sumBelowSq, double[] sumBelowTimesEvents) implements MetricSums {
    public QuantileSums {
        if (bucketEdges == null || bucketCounts == null || sumBelowSq == null || sumBelowTimesEvents == null)
            throw new IllegalArgumentException("quantile sums need edges, counts and clustered sums");
        int k = bucketCounts.length;
        if (bucketEdges.length != k + 1 || sumBelowSq.length != k || sumBelowTimesEvents.length != k)
            throw new IllegalArgumentException("quantile sums need K+1 edges and K counts / clustered sums, got "
                    + bucketEdges.length + " edges, " + k + " counts, " + sumBelowSq.length + " and "
                    + sumBelowTimesEvents.length + " clustered sums");
        for (int i = 0; i < k; i++)
            if (!(bucketEdges[i + 1] > bucketEdges[i]))
                throw new IllegalArgumentException("bucket edges must increase strictly at index " + i);
    }

    /**
     * The bucket holding event rank {@code rank}: the first non-empty bucket whose cumulative count
     * reaches it (the last non-empty one if none does), -1 if every bucket is empty. The estimator
     * reads {@code sumBelowSq} and {@code sumBelowTimesEvents} only at this bucket and the one below
     * it, so a storage may compute them only there (the query API's pushdown does).
     */
    public static int bucketAtRank(long[] counts, double rank) {
        double cum = 0;
        int last = -1;
        for (int j = 0; j < counts.length; j++) {
            if (counts[j] > 0) {
                last = j;
                if (cum + counts[j] >= rank) return j;
            }
            cum += counts[j];
        }
        return last;
    }

    @Override
    public MetricKind kind() {
        return MetricKind.QUANTILE;
    }
}
