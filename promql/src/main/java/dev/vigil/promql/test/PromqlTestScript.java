package dev.vigil.promql.test;

import dev.vigil.promql.Labels;
import dev.vigil.promql.parser.Parser;
import dev.vigil.promql.storage.StaleNaN;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parser for the Prometheus promqltest script format (load / clear / eval with expect lines).
 * See promql/promqltest/README.md in the Prometheus repository.
 */
public final class PromqlTestScript {
    /** Marker value for an omitted point ("_") in series descriptions. */
    public static final double OMITTED = Double.longBitsToDouble(0x7ff0000000000ABCL);

    public static boolean isOmitted(double v) { return Double.doubleToRawLongBits(v) == 0x7ff0000000000ABCL; }

    public sealed interface Command permits Load, Clear, Eval {
        int line();
    }

    /** Marker in {@link SeriesSpec#startOffsets()} for a point without start timestamp ("_"). */
    public static final long NO_START = Long.MIN_VALUE;

    /**
     * A series with its expanded points (one per interval step; OMITTED for "_"). startOffsets, when
     * not null, holds the start timestamp of each point relative to the point's time (ms; from a
     * {@code metric@st} line), {@link #NO_START} where none is given.
     */
    public record SeriesSpec(Labels labels, double[] values, boolean nativeHistogram, long[] startOffsets) {
        public SeriesSpec(Labels labels, double[] values, boolean nativeHistogram) {
            this(labels, values, nativeHistogram, null);
        }

        /** Absolute start timestamp of point i (ms), 0 if unknown. */
        public long startTimestamp(int i, long pointTimeMs) {
            if (startOffsets == null || i >= startOffsets.length || startOffsets[i] == NO_START) return 0;
            return pointTimeMs + startOffsets[i];
        }
    }

    public record Load(int line, long intervalMs, boolean withNhcb, List<SeriesSpec> series) implements Command {}

    public record Clear(int line) implements Command {}

    public enum ExpectType { FAIL, WARN, INFO, NO_WARN, NO_INFO, ORDERED, STRING, RANGE_VECTOR }

    public record Expect(ExpectType type, String msg, Pattern regex, String value) {
        boolean matches(String s) {
            if (msg != null) return msg.equals(s);
            if (regex != null) return regex.matcher(s).find();
            return true;
        }
    }

    public record Eval(String file, int line, String query, boolean range, long startMs, long endMs, long stepMs,
                       List<Expect> expects, List<SeriesSpec> expected, Double expectedScalar, boolean hasExpectedLines)
            implements Command {
        /** Stable id: file:line. */
        public String id() { return file + ":" + line; }

        public boolean expectFail() { return expects.stream().anyMatch(e -> e.type() == ExpectType.FAIL); }
        public boolean ordered() { return expects.stream().anyMatch(e -> e.type() == ExpectType.ORDERED); }
    }

    private final String name;
    private final List<Command> commands;

    private PromqlTestScript(String name, List<Command> commands) {
        this.name = name;
        this.commands = commands;
    }

    public String name() { return name; }
    public List<Command> commands() { return commands; }

    public List<Eval> evals() {
        List<Eval> out = new ArrayList<>();
        for (Command c : commands) if (c instanceof Eval e) out.add(e);
        return out;
    }

    public static PromqlTestScript load(Path file) throws IOException {
        return parse(file.getFileName().toString(), Files.readString(file));
    }

    private static final Pattern EVAL_INSTANT = Pattern.compile("^eval(?:_(fail|warn|info|ordered))?\\s+instant\\s+at\\s+(\\S+)\\s+(.+)$");
    private static final Pattern EVAL_RANGE = Pattern.compile("^eval(?:_(fail|warn|info|ordered))?\\s+range\\s+from\\s+(\\S+)\\s+to\\s+(\\S+)\\s+step\\s+(\\S+)\\s+(.+)$");
    private static final Pattern LOAD = Pattern.compile("^load(_with_nhcb)?\\s+(\\S+)$");

    public static PromqlTestScript parse(String name, String content) {
        String[] lines = content.split("\n", -1);
        List<Command> cmds = new ArrayList<>();
        int i = 0;
        while (i < lines.length) {
            String raw = lines[i];
            String l = raw.strip();
            int lineNo = i + 1;
            if (l.isEmpty() || l.startsWith("#")) { i++; continue; }
            Matcher m;
            if (l.equals("clear")) {
                cmds.add(new Clear(lineNo));
                i++;
            } else if ((m = LOAD.matcher(l)).matches()) {
                long interval = parseDuration(m.group(2));
                boolean nhcb = m.group(1) != null;
                List<SeriesSpec> series = new ArrayList<>();
                java.util.Map<Labels, long[]> starts = new java.util.HashMap<>();
                i++;
                while (i < lines.length && !isCommandStart(lines[i])) {
                    String sl = lines[i].strip();
                    i++;
                    if (sl.isEmpty() || sl.startsWith("#")) continue;
                    int splitAt = seriesEnd(sl);
                    String desc = sl.substring(0, splitAt).strip();
                    if (desc.endsWith("@st")) {
                        desc = desc.substring(0, desc.length() - 3);
                        Labels sLabels = desc.equals("{}") ? Labels.EMPTY : Parser.parseSeries(desc);
                        starts.put(sLabels, parseStartOffsets(sl.substring(splitAt).strip()));
                        continue;
                    }
                    series.add(parseSeriesLine(sl));
                }
                if (!starts.isEmpty()) {
                    for (int k = 0; k < series.size(); k++) {
                        SeriesSpec sp = series.get(k);
                        long[] so = starts.get(sp.labels());
                        if (so != null) series.set(k, new SeriesSpec(sp.labels(), sp.values(), sp.nativeHistogram(), so));
                    }
                }
                cmds.add(new Load(lineNo, interval, nhcb, series));
            } else if (l.startsWith("eval")) {
                m = EVAL_INSTANT.matcher(l);
                boolean range;
                String variant, query;
                long start, end, step;
                if (m.matches()) {
                    range = false;
                    variant = m.group(1);
                    start = end = parseDuration(m.group(2));
                    step = 0;
                    query = m.group(3);
                } else {
                    m = EVAL_RANGE.matcher(l);
                    if (!m.matches()) throw new IllegalArgumentException(name + ":" + lineNo + ": invalid eval command: " + l);
                    range = true;
                    variant = m.group(1);
                    start = parseDuration(m.group(2));
                    end = parseDuration(m.group(3));
                    step = parseDuration(m.group(4));
                    query = m.group(5);
                }
                List<Expect> expects = new ArrayList<>();
                if (variant != null) {
                    switch (variant) {
                        case "fail" -> expects.add(new Expect(ExpectType.FAIL, null, null, null));
                        case "warn" -> expects.add(new Expect(ExpectType.WARN, null, null, null));
                        case "info" -> expects.add(new Expect(ExpectType.INFO, null, null, null));
                        case "ordered" -> expects.add(new Expect(ExpectType.ORDERED, null, null, null));
                        default -> { }
                    }
                }
                List<SeriesSpec> expected = new ArrayList<>();
                Double scalar = null;
                boolean hasLines = false;
                i++;
                while (i < lines.length && !isCommandStart(lines[i])) {
                    String sl = lines[i].strip();
                    i++;
                    if (sl.isEmpty() || sl.startsWith("#")) continue;
                    if (sl.startsWith("expect ") || sl.equals("expect")) {
                        expects.add(parseExpect(sl.substring(6).strip()));
                        continue;
                    }
                    if (sl.startsWith("expected_fail_message ")) {
                        expects.add(new Expect(ExpectType.FAIL, sl.substring("expected_fail_message ".length()).strip(), null, null));
                        continue;
                    }
                    if (sl.startsWith("expected_fail_regexp ")) {
                        expects.add(new Expect(ExpectType.FAIL, null, Pattern.compile(sl.substring("expected_fail_regexp ".length()).strip()), null));
                        continue;
                    }
                    hasLines = true;
                    if (isScalarLine(sl)) {
                        scalar = parseValue(sl.strip());
                    } else {
                        expected.add(parseSeriesLine(sl));
                    }
                }
                cmds.add(new Eval(name, lineNo, query, range, start, end, step, expects, expected, scalar, hasLines));
            } else {
                throw new IllegalArgumentException(name + ":" + lineNo + ": unknown command: " + l);
            }
        }
        return new PromqlTestScript(name, cmds);
    }

    private static boolean isCommandStart(String raw) {
        String l = raw.strip();
        return l.startsWith("eval ") || l.startsWith("eval_") || l.startsWith("load ") || l.startsWith("load_") || l.equals("clear");
    }

    private static Expect parseExpect(String s) {
        String type = s;
        String rest = "";
        int sp = s.indexOf(' ');
        if (sp > 0) { type = s.substring(0, sp); rest = s.substring(sp + 1).strip(); }
        ExpectType t = switch (type) {
            case "fail" -> ExpectType.FAIL;
            case "warn" -> ExpectType.WARN;
            case "info" -> ExpectType.INFO;
            case "no_warn" -> ExpectType.NO_WARN;
            case "no_info" -> ExpectType.NO_INFO;
            case "ordered" -> ExpectType.ORDERED;
            case "string" -> ExpectType.STRING;
            case "range" -> ExpectType.RANGE_VECTOR;
            default -> throw new IllegalArgumentException("unknown expect type: " + type);
        };
        if (t == ExpectType.STRING) {
            return new Expect(t, null, null, dev.vigil.promql.Strings.unquote(rest));
        }
        if (t == ExpectType.RANGE_VECTOR) return new Expect(t, null, null, rest);
        if (rest.startsWith("msg:")) {
            String msg = rest.substring(4).strip();
            if (msg.length() >= 2 && msg.startsWith("\"") && msg.endsWith("\"")) msg = msg.substring(1, msg.length() - 1);
            return new Expect(t, msg, null, null);
        }
        if (rest.startsWith("regex:")) {
            String re = rest.substring(6).strip();
            if (re.length() >= 2 && re.startsWith("\"") && re.endsWith("\"")) re = re.substring(1, re.length() - 1);
            return new Expect(t, null, Pattern.compile(re), null);
        }
        return new Expect(t, null, null, null);
    }

    private static boolean isScalarLine(String s) {
        char c = s.charAt(0);
        if (Character.isDigit(c) || c == '-' || c == '+' || c == '.') return true;
        String l = s.toLowerCase();
        return l.equals("nan") || l.equals("inf");
    }

    /** Parses "metric{labels} points..." (labels part may be omitted or just "{}"). */
    static SeriesSpec parseSeriesLine(String l) {
        int splitAt = seriesEnd(l);
        String desc = l.substring(0, splitAt).strip();
        String pts = l.substring(splitAt).strip();
        if (desc.endsWith("@st")) {
            desc = desc.substring(0, desc.length() - 3);
            Labels labels = desc.equals("{}") ? Labels.EMPTY : Parser.parseSeries(desc);
            return new SeriesSpec(labels, new double[0], false, parseStartOffsets(pts));
        }
        Labels labels = desc.equals("{}") ? Labels.EMPTY : Parser.parseSeries(desc);
        boolean nativeH = pts.contains("{{");
        // Native histogram samples ({{...}}) are not supported: they become omitted points, so the
        // float samples of a series mixing floats and histograms are still loaded.
        double[] vals = parsePoints(nativeH ? omitHistograms(pts) : pts);
        return new SeriesSpec(labels, vals, nativeH);
    }

    private static final Pattern ST_EXPAND = Pattern.compile("^([^x]*?)(?:([+-][^x+-]+))?x(\\d+)$");

    /**
     * Parses the points of a {@code metric@st} line: durations relative to each point's time
     * ("-30s", "+1m", "0", "_"), with the {@code a+bxN} / {@code a-bxN} / {@code axN} expansions.
     */
    static long[] parseStartOffsets(String pts) {
        List<Long> out = new ArrayList<>();
        for (String tok : pts.split("\\s+")) {
            if (tok.isEmpty()) continue;
            if (tok.equals("_")) { out.add(NO_START); continue; }
            Matcher m = ST_EXPAND.matcher(tok);
            if (m.matches()) {
                int n = Integer.parseInt(m.group(3));
                if (m.group(1).equals("_")) {
                    for (int k = 0; k < n; k++) out.add(NO_START);
                    continue;
                }
                long base, inc;
                if (m.group(1).isEmpty()) {
                    base = signedDuration(m.group(2));
                    inc = 0;
                } else {
                    base = signedDuration(m.group(1));
                    inc = m.group(2) == null ? 0 : signedDuration(m.group(2));
                }
                for (int k = 0; k <= n; k++) out.add(base + k * inc);
                continue;
            }
            out.add(signedDuration(tok));
        }
        long[] d = new long[out.size()];
        for (int i = 0; i < d.length; i++) d[i] = out.get(i);
        return d;
    }

    private static long signedDuration(String s) {
        return s.startsWith("+") ? parseDuration(s.substring(1)) : parseDuration(s);
    }

    private static final Pattern HIST_EXPANDED = Pattern.compile("\\{\\{[^}]*\\}\\}(?:[+-]\\{\\{[^}]*\\}\\})?x(\\d+)");
    private static final Pattern HIST = Pattern.compile("\\{\\{[^}]*\\}\\}");

    /** Replaces native histogram points ("{{...}}", "{{...}}xN", "{{...}}+{{...}}xN") by as many omitted points. */
    static String omitHistograms(String pts) {
        String r = HIST_EXPANDED.matcher(pts).replaceAll("_ _x$1");
        return HIST.matcher(r).replaceAll("_");
    }

    private static int seriesEnd(String l) {
        int depth = 0;
        boolean inStr = false;
        char q = 0;
        for (int i = 0; i < l.length(); i++) {
            char c = l.charAt(i);
            if (inStr) {
                if (c == '\\') { i++; continue; }
                if (c == q) inStr = false;
                continue;
            }
            if (c == '"' || c == '\'' || c == '`') { inStr = true; q = c; continue; }
            if (c == '{') depth++;
            else if (c == '}') { depth--; if (depth == 0) return i + 1 + (l.startsWith("@st", i + 1) ? 3 : 0); }
            else if (depth == 0 && Character.isWhitespace(c)) return i;
        }
        return l.length();
    }

    private static final Pattern EXPAND = Pattern.compile("^([^x]*?)(?:([+-][^x+-]+))?x(\\d+)$");

    static double[] parsePoints(String pts) {
        List<Double> out = new ArrayList<>();
        if (pts.isEmpty()) return new double[0];
        for (String tok : pts.split("\\s+")) {
            if (tok.isEmpty()) continue;
            Matcher m = EXPAND.matcher(tok);
            if (m.matches() && !m.group(1).isEmpty()) {
                String base = m.group(1);
                int n = Integer.parseInt(m.group(3));
                if (base.equals("_")) {
                    for (int k = 0; k < n; k++) out.add(OMITTED);
                    continue;
                }
                double v = parseValue(base);
                double inc = m.group(2) == null ? 0 : parseValue(m.group(2));
                for (int k = 0; k <= n; k++) {
                    out.add(v);
                    v += inc;
                }
                continue;
            }
            out.add(parseValue(tok));
        }
        double[] d = new double[out.size()];
        for (int i = 0; i < d.length; i++) d[i] = out.get(i);
        return d;
    }

    static double parseValue(String s) {
        switch (s) {
            case "_": return OMITTED;
            case "stale": return StaleNaN.VALUE;
            default: break;
        }
        String l = s.toLowerCase();
        String body = l.startsWith("+") || l.startsWith("-") ? l.substring(1) : l;
        double sign = l.startsWith("-") ? -1 : 1;
        if (body.equals("inf")) return sign * Double.POSITIVE_INFINITY;
        if (body.equals("nan")) return Double.NaN;
        if (body.startsWith("0x")) return sign * Long.parseLong(body.substring(2), 16);
        return Double.parseDouble(s);
    }

    /** Parses a test-script time or duration ("50m", "1h30m", "0", "10s53ms", "100" = seconds). */
    public static long parseDuration(String s) {
        if (s.matches("-?\\d+(\\.\\d+)?")) return Math.round(Double.parseDouble(s) * 1000);
        boolean neg = s.startsWith("-");
        if (neg) s = s.substring(1);
        Matcher m = Pattern.compile("(\\d+)(ms|y|w|d|h|m|s)").matcher(s);
        long total = 0;
        int pos = 0;
        while (m.find()) {
            if (m.start() != pos) throw new IllegalArgumentException("bad duration " + s);
            long n = Long.parseLong(m.group(1));
            total += n * switch (m.group(2)) {
                case "ms" -> 1L;
                case "s" -> 1000L;
                case "m" -> 60_000L;
                case "h" -> 3_600_000L;
                case "d" -> 86_400_000L;
                case "w" -> 604_800_000L;
                default -> 31_536_000_000L;
            };
            pos = m.end();
        }
        if (pos != s.length()) throw new IllegalArgumentException("bad duration " + s);
        return neg ? -total : total;
    }
}
