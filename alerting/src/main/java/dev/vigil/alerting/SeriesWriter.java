package dev.vigil.alerting;

import java.util.List;

/**
 * Where rule results are written back as series: recording-rule outputs and the synthetic
 * {@code ALERTS} / {@code ALERTS_FOR_STATE} series of alerting rules. When a series a rule
 * returned in its previous evaluation is absent from the current one, a staleness marker
 * ({@link Sample#isStale()}) is written for it at the evaluation time, as Prometheus does.
 */
@FunctionalInterface
public interface SeriesWriter {
    /** Prometheus' staleness marker NaN bit pattern. */
    long STALE_NAN_BITS = 0x7ff0000000000002L;
    double STALE_NAN = Double.longBitsToDouble(STALE_NAN_BITS);

    /** Writes the samples of one rule evaluation for {@code tenant}. */
    void write(String tenant, List<Sample> samples);

    /** One output sample. {@code labels} include {@code __name__}. */
    record Sample(LabelSet labels, long timestampMillis, double value) {
        public boolean isStale() {
            return Double.doubleToRawLongBits(value) == STALE_NAN_BITS;
        }
    }

    /** Discards everything (for deployments where rule outputs are not stored). */
    SeriesWriter DISCARD = (tenant, samples) -> {
    };
}
