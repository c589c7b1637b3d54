package dev.vigil.alerting.template;

import java.util.List;

/**
 * Go's fmt.Sprintf for the verbs alert templates use: %v %s %d %f %F %e %E %g %G %q %x %X %t %%,
 * with flags (+ - space 0 #), width and precision. Mismatched arguments are rendered the Go way
 * ({@code %!d(float64=1.5)}, {@code %!s(MISSING)}, {@code %!(EXTRA ...)}).
 */
public final class GoPrintf {
    private GoPrintf() {
    }

    public static String sprintf(String format, List<Object> args) {
        StringBuilder out = new StringBuilder();
        int argi = 0;
        int i = 0;
        int n = format.length();
        while (i < n) {
            char c = format.charAt(i);
            if (c != '%') {
                out.append(c);
                i++;
                continue;
            }
            i++;
            if (i >= n) {
                out.append("%!(NOVERB)");
                break;
            }
            boolean minus = false;
            boolean plus = false;
            boolean space = false;
            boolean zero = false;
            boolean sharp = false;
            for (; i < n; i++) {
                char f = format.charAt(i);
                if (f == '-') {
                    minus = true;
                } else if (f == '+') {
                    plus = true;
                } else if (f == ' ') {
                    space = true;
                } else if (f == '0') {
                    zero = true;
                } else if (f == '#') {
                    sharp = true;
                } else {
                    break;
                }
            }
            int width = -1;
            int ws = i;
            while (i < n && Character.isDigit(format.charAt(i))) {
                i++;
            }
            if (i > ws) {
                width = Integer.parseInt(format.substring(ws, i));
            }
            int prec = -1;
            if (i < n && format.charAt(i) == '.') {
                i++;
                int ps = i;
                while (i < n && Character.isDigit(format.charAt(i))) {
                    i++;
                }
                prec = i > ps ? Integer.parseInt(format.substring(ps, i)) : 0;
            }
            if (i >= n) {
                out.append("%!(NOVERB)");
                break;
            }
            char verb = format.charAt(i++);
            if (verb == '%') {
                out.append('%');
                continue;
            }
            if (argi >= args.size()) {
                out.append("%!").append(verb).append("(MISSING)");
                continue;
            }
            Object arg = args.get(argi++);
            String s = formatOne(verb, arg, prec, plus, space, sharp);
            if (s == null) {
                out.append("%!").append(verb).append('(').append(goType(arg)).append('=').append(AlertTemplate.print(arg)).append(')');
                continue;
            }
            out.append(pad(s, width, minus, zero && !minus && isNumeric(arg) && verb != 's' && verb != 'q'));
        }
        if (argi < args.size()) {
            out.append("%!(EXTRA ");
            for (int k = argi; k < args.size(); k++) {
                if (k > argi) {
                    out.append(", ");
                }
                out.append(goType(args.get(k))).append('=').append(AlertTemplate.print(args.get(k)));
            }
            out.append(')');
        }
        return out.toString();
    }

    private static boolean isNumeric(Object o) {
        return o instanceof Double || o instanceof Long;
    }

    private static String goType(Object o) {
        return switch (o) {
            case null -> "<nil>";
            case String s -> "string";
            case Double d -> "float64";
            case Long l -> "int";
            case Boolean b -> "bool";
            default -> "map[string]string";
        };
    }

    private static String sign(String s, boolean plus, boolean space) {
        if (s.startsWith("-") || s.startsWith("+")) {
            return s;
        }
        if (plus) {
            return "+" + s;
        }
        if (space) {
            return " " + s;
        }
        return s;
    }

    private static String formatOne(char verb, Object arg, int prec, boolean plus, boolean space, boolean sharp) {
        if (arg instanceof Double d) {
            String r = switch (verb) {
                case 'v', 'g' -> GoFormat.formatG(d, prec);
                case 'G' -> GoFormat.formatG(d, prec).toUpperCase();
                case 'e' -> GoFormat.formatE(d, prec < 0 ? 6 : prec);
                case 'E' -> GoFormat.formatE(d, prec < 0 ? 6 : prec).toUpperCase();
                case 'f', 'F' -> GoFormat.formatF(d, prec < 0 ? 6 : prec);
                default -> null;
            };
            if (r == null) {
                return null;
            }
            if (r.equals("+Inf") && !plus) {
                r = "+Inf";
            }
            return sign(r, plus, space);
        }
        if (arg instanceof Long l) {
            String r = switch (verb) {
                case 'v', 'd' -> Long.toString(l);
                case 'x' -> (l < 0 ? "-" : "") + (sharp ? "0x" : "") + Long.toHexString(Math.abs(l));
                case 'X' -> (l < 0 ? "-" : "") + (sharp ? "0X" : "") + Long.toHexString(Math.abs(l)).toUpperCase();
                case 'o' -> Long.toOctalString(l);
                case 'b' -> Long.toBinaryString(l);
                case 'c' -> new String(Character.toChars((int) (long) l));
                case 'q' -> "'" + new String(Character.toChars((int) (long) l)) + "'";
                default -> null;
            };
            if (r == null) {
                return null;
            }
            if (prec >= 0 && (verb == 'd' || verb == 'v')) {
                String digits = r.startsWith("-") ? r.substring(1) : r;
                while (digits.length() < prec) {
                    digits = "0" + digits;
                }
                r = (l < 0 ? "-" : "") + digits;
            }
            return sign(r, plus, space);
        }
        if (arg instanceof String s) {
            String r = switch (verb) {
                case 'v', 's' -> prec >= 0 && prec < s.codePointCount(0, s.length()) ? s.substring(0, s.offsetByCodePoints(0, prec)) : s;
                case 'q' -> LabelQuote.quote(s);
                case 'x' -> hex(s, false);
                case 'X' -> hex(s, true);
                default -> null;
            };
            return r;
        }
        if (arg instanceof Boolean b) {
            return verb == 'v' || verb == 't' ? b.toString() : null;
        }
        if (verb == 'v' || verb == 's') {
            return AlertTemplate.print(arg);
        }
        return null;
    }

    private static String hex(String s, boolean upper) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            sb.append(String.format(upper ? "%02X" : "%02x", b & 0xff));
        }
        return sb.toString();
    }

    private static String pad(String s, int width, boolean left, boolean zero) {
        int len = s.codePointCount(0, s.length());
        if (width <= len) {
            return s;
        }
        String fill = (zero ? "0" : " ").repeat(width - len);
        if (left) {
            return s + fill;
        }
        if (zero && (s.startsWith("-") || s.startsWith("+"))) {
            return s.charAt(0) + fill + s.substring(1);
        }
        return fill + s;
    }

    /** Go's strconv.Quote for the %q verb. */
    static final class LabelQuote {
        private LabelQuote() {
        }

        static String quote(String s) {
            StringBuilder sb = new StringBuilder("\"");
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\t' -> sb.append("\\t");
                    case '\r' -> sb.append("\\r");
                    default -> {
                        if (c < 0x20 || c == 0x7f) {
                            sb.append(String.format("\\x%02x", (int) c));
                        } else {
                            sb.append(c);
                        }
                    }
                }
            }
            return sb.append('"').toString();
        }
    }
}
