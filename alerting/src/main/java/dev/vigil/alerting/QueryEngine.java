package dev.vigil.alerting;

import java.util.List;

/**
 * What the rule evaluator needs from a PromQL engine: an instant query for one tenant. The
 * alerting module depends on this interface only; {@link PromqlQueryEngine} adapts Vigil's
 * promql engine, the query-api may provide another implementation (e.g. over ClickHouse).
 */
public interface QueryEngine {
    /**
     * Evaluates {@code expr} at {@code evalTimeMillis} over the data of {@code tenant}.
     *
     * @throws QueryFailedException when the query cannot be parsed or evaluated
     */
    InstantResult query(String tenant, String expr, long evalTimeMillis);

    /**
     * Checks that {@code expr} parses; throws {@link IllegalArgumentException} with the parser's
     * message otherwise. Used when rules are loaded or uploaded. The default accepts everything.
     */
    default void validate(String expr) {
    }

    /** The result of an instant query: a vector or a scalar. Other types are errors. */
    sealed interface InstantResult permits Vector, Scalar {
    }

    /** An instant vector. */
    record Vector(List<Element> samples) implements InstantResult {
        public Vector {
            samples = List.copyOf(samples);
        }
    }

    /** A scalar. Rules treat it as a one-element vector with no labels, like Prometheus. */
    record Scalar(double value) implements InstantResult {
    }

    /** One element of an instant vector. */
    record Element(LabelSet labels, double value) {
    }

    /** A query that failed (parse error, execution error, timeout). */
    final class QueryFailedException extends RuntimeException {
        public QueryFailedException(String message) {
            super(message);
        }

        public QueryFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
