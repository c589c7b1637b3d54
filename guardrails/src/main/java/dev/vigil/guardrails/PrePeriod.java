package dev.vigil.guardrails;

import java.time.Instant;

/**
 * The window before exposure whose per-unit value of the same metric is the CUPED covariate.
 *
 * @param start inclusive
 * @param end   exclusive; must not be after the experiment start
 */
public record PrePeriod(Instant start, Instant end) {
}
