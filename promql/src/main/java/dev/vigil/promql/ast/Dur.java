package dev.vigil.promql.ast;

/**
 * A duration expression (range, offset, subquery step). Values are computed in seconds; plain
 * numbers mean seconds. May reference step() and range() of the query.
 */
public sealed interface Dur {
    /** @param stepMs query step (0 for instant queries); @param rangeMs end - start of the query */
    double seconds(long stepMs, long rangeMs);

    default long millis(long stepMs, long rangeMs) {
        return Math.round(seconds(stepMs, rangeMs) * 1000.0);
    }

    default boolean isConstant() { return true; }

    static Dur ofMillis(long ms) { return new Lit(ms / 1000.0, true); }

    record Lit(double secs, boolean isDuration) implements Dur {
        public double seconds(long s, long r) { return secs; }
    }
    record Step() implements Dur {
        public double seconds(long s, long r) { return s / 1000.0; }
        public boolean isConstant() { return false; }
    }
    record Range() implements Dur {
        public double seconds(long s, long r) { return r / 1000.0; }
        public boolean isConstant() { return false; }
    }
    record Neg(Dur d) implements Dur {
        public double seconds(long s, long r) { return -d.seconds(s, r); }
        public boolean isConstant() { return d.isConstant(); }
    }
    record Bin(char op, Dur l, Dur r) implements Dur {
        public double seconds(long s, long rg) {
            double a = l.seconds(s, rg), b = r.seconds(s, rg);
            return switch (op) {
                case '+' -> a + b;
                case '-' -> a - b;
                case '*' -> a * b;
                case '/' -> a / b;
                case '%' -> a % b;
                case '^' -> Math.pow(a, b);
                case 'm' -> Math.min(a, b);
                case 'M' -> Math.max(a, b);
                default -> throw new IllegalStateException();
            };
        }
        public boolean isConstant() { return l.isConstant() && r.isConstant(); }
    }
}
