package dev.vigil.promql.engine;

/** Kahan-Neumaier summation helper (mirrors Prometheus kahansum.Inc). */
final class KahanSum {
    private KahanSum() {}

    /** Returns {newSum, newC}. */
    static double[] inc(double inc, double sum, double c, double[] out) {
        double t = sum + inc;
        if (Double.isInfinite(t)) c = 0;
        else if (Math.abs(sum) >= Math.abs(inc)) c += (sum - t) + inc;
        else c += (inc - t) + sum;
        out[0] = t;
        out[1] = c;
        return out;
    }
}
