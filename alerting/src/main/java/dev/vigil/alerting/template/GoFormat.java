package dev.vigil.alerting.template;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Go's float formatting ({@code strconv.FormatFloat} and the {@code fmt} verbs %v %g %e %f),
 * reproduced exactly, because alert annotations are compared as strings (promtool unit tests,
 * Alertmanager deduplication) and Java's {@code Formatter} rounds and pads differently.
 */
public final class GoFormat {
    private GoFormat() {
    }

    /** Decimal digits (no leading/trailing zeros, "" for zero) and decimal point position: value = 0.DIGITS x 10^dp. */
    private record Digits(String d, int dp) {
        int nd() {
            return d.length();
        }

        char at(int i) {
            return i >= 0 && i < d.length() ? d.charAt(i) : '0';
        }
    }

    private static Digits shortest(double abs) {
        if (abs == 0) {
            return new Digits("", 0);
        }
        return digitsOf(new BigDecimal(Double.toString(abs)));
    }

    private static Digits digitsOf(BigDecimal bd) {
        if (bd.signum() == 0) {
            return new Digits("", 0);
        }
        bd = bd.stripTrailingZeros();
        String u = bd.unscaledValue().toString();
        return new Digits(u, u.length() - bd.scale());
    }

    /** Exact binary value rounded to {@code sig} significant digits, half-even (Go's decimal rounding). */
    private static Digits roundSig(double abs, int sig) {
        if (abs == 0) {
            return new Digits("", 0);
        }
        return digitsOf(new BigDecimal(abs).round(new MathContext(sig, RoundingMode.HALF_EVEN)));
    }

    /** Exact binary value rounded to {@code frac} digits after the point, half-even. */
    private static Digits roundFrac(double abs, int frac) {
        return digitsOf(new BigDecimal(abs).setScale(frac, RoundingMode.HALF_EVEN));
    }

    private static String special(double v, boolean plusInf) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (v == Double.POSITIVE_INFINITY) {
            return plusInf ? "+Inf" : "+Inf";
        }
        if (v == Double.NEGATIVE_INFINITY) {
            return "-Inf";
        }
        return null;
    }

    /** {@code strconv.FormatFloat(v, 'g', prec, 64)}; prec &lt; 0 means shortest. Also fmt's %v (prec -1) and %.Ng. */
    public static String formatG(double v, int prec) {
        String s = special(v, true);
        if (s != null) {
            return s;
        }
        boolean neg = v < 0 || (v == 0 && 1 / v < 0);
        double abs = Math.abs(v);
        boolean shortest = prec < 0;
        Digits digs;
        if (shortest) {
            digs = shortest(abs);
            prec = Math.max(digs.nd(), 1);
        } else {
            if (prec == 0) {
                prec = 1;
            }
            digs = roundSig(abs, prec);
        }
        int nd = digs.nd();
        int dp = nd == 0 ? 1 : digs.dp();
        if (nd == 0) {
            // zero
            digs = new Digits("", 1);
        }
        int eprec = prec;
        if (eprec > nd && nd >= dp) {
            eprec = nd;
        }
        if (shortest) {
            eprec = 6;
        }
        int exp = dp - 1;
        if (exp < -4 || exp >= eprec) {
            if (prec > nd) {
                prec = nd;
            }
            return fmtE(neg, digs, Math.max(prec - 1, 0), dp);
        }
        if (prec > dp) {
            prec = nd;
        }
        return fmtF(neg, digs, Math.max(prec - dp, 0), dp);
    }

    /** {@code strconv.FormatFloat(v, 'e', prec, 64)}; prec &lt; 0 means shortest (the Prometheus API's alert value). */
    public static String formatE(double v, int prec) {
        String s = special(v, true);
        if (s != null) {
            return s;
        }
        boolean neg = v < 0 || (v == 0 && 1 / v < 0);
        double abs = Math.abs(v);
        Digits digs;
        if (prec < 0) {
            digs = shortest(abs);
            prec = Math.max(digs.nd() - 1, 0);
        } else {
            digs = roundSig(abs, prec + 1);
        }
        int dp = digs.nd() == 0 ? 1 : digs.dp();
        return fmtE(neg, digs, prec, dp);
    }

    /** {@code strconv.FormatFloat(v, 'f', prec, 64)}; prec &lt; 0 means shortest. */
    public static String formatF(double v, int prec) {
        String s = special(v, true);
        if (s != null) {
            return s;
        }
        boolean neg = v < 0 || (v == 0 && 1 / v < 0);
        double abs = Math.abs(v);
        Digits digs;
        if (prec < 0) {
            digs = shortest(abs);
            prec = Math.max(digs.nd() - digs.dp(), 0);
        } else {
            digs = roundFrac(abs, prec);
        }
        return fmtF(neg, digs, prec, digs.dp());
    }

    private static String fmtE(boolean neg, Digits d, int prec, int dp) {
        StringBuilder sb = new StringBuilder();
        if (neg) {
            sb.append('-');
        }
        sb.append(d.nd() == 0 ? '0' : d.at(0));
        if (prec > 0) {
            sb.append('.');
            for (int i = 1; i <= prec; i++) {
                sb.append(d.at(i));
            }
        }
        sb.append('e');
        int exp = d.nd() == 0 ? 0 : dp - 1;
        sb.append(exp < 0 ? '-' : '+');
        exp = Math.abs(exp);
        if (exp < 10) {
            sb.append('0');
        }
        sb.append(exp);
        return sb.toString();
    }

    private static String fmtF(boolean neg, Digits d, int prec, int dp) {
        StringBuilder sb = new StringBuilder();
        if (neg) {
            sb.append('-');
        }
        if (d.nd() == 0) {
            sb.append('0');
            dp = 0;
        } else if (dp > 0) {
            for (int i = 0; i < dp; i++) {
                sb.append(d.at(i));
            }
        } else {
            sb.append('0');
        }
        if (prec > 0) {
            sb.append('.');
            for (int i = 0; i < prec; i++) {
                sb.append(d.nd() == 0 ? '0' : d.at(dp + i));
            }
        }
        return sb.toString();
    }

    /** Go's {@code fmt.Sprint(float64)} i.e. %v. */
    public static String v(double f) {
        return formatG(f, -1);
    }
}
