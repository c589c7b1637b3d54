package dev.vigil.guardrails;

/**
 * Benjamini-Hochberg step-up adjusted p-values: {@code adj_(i) = min_{j >= i} min(1, m p_(j) / j)} for the
 * sorted p-values. Rejecting every hypothesis with adjusted p &lt;= q controls the false discovery rate at q
 * (independent or positively dependent tests).
 */
public final class BenjaminiHochberg {
    private BenjaminiHochberg() {
    }

    public static double[] adjust(double[] p) {
        int m = p.length;
        Integer[] order = new Integer[m];
        for (int i = 0; i < m; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> Double.compare(p[a], p[b]));
        double[] adj = new double[m];
        double running = 1.0;
        for (int rank = m; rank >= 1; rank--) {
            int idx = order[rank - 1];
            running = Math.min(running, Math.min(1.0, p[idx] * m / rank));
            adj[idx] = running;
        }
        return adj;
    }
}
