package dev.vigil.query.http;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.http.Responses;
import dev.vigil.promql.Labels;
import dev.vigil.promql.Matcher;
import dev.vigil.promql.ast.Expr;
import dev.vigil.promql.ast.VectorSelector;
import dev.vigil.promql.engine.Engine;
import dev.vigil.promql.engine.QueryException;
import dev.vigil.promql.engine.QueryResult;
import dev.vigil.promql.parser.ParseException;
import dev.vigil.promql.parser.Parser;
import dev.vigil.query.api.QueryModule;
import dev.vigil.query.api.TenantRoute;
import dev.vigil.query.storage.ChReader;
import dev.vigil.query.storage.ClickHouseStorage;
import dev.vigil.query.storage.EventSeriesMapping.EventMetric;
import dev.vigil.query.storage.HistogramQuantilePath;
import dev.vigil.query.storage.PushdownRewriter;
import dev.vigil.query.storage.QueryGuard;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;

/**
 * The Prometheus HTTP API (the subset Grafana and Prometheus tooling call) over the PromQL engine
 * and the ClickHouse storage, with Prometheus' JSON envelopes, error types and status codes.
 */
public final class PrometheusApi implements QueryModule {
    private static final Logger log = LoggerFactory.getLogger(PrometheusApi.class);

    /** Per-query protection. */
    public record Limits(long maxPointsPerSeries, long maxSeries, long maxSamples, long defaultTimeoutMs, long maxTimeoutMs,
                         long maxRangeMs, int maxSeriesListed) {
        public static Limits defaults() {
            return new Limits(11_000, 100_000, 50_000_000L, 120_000, 600_000, 400L * 86_400_000L, 100_000);
        }
    }

    /** An API error: Prometheus' errorType and HTTP status. */
    public static final class ApiError extends RuntimeException {
        final String type;
        final HttpResponseStatus status;

        public ApiError(String type, HttpResponseStatus status, String msg) {
            super(msg);
            this.type = type;
            this.status = status;
        }
    }

    private final ClickHouseStorage storage;
    private final Engine engine;
    private final Limits limits;
    private final boolean pushdown;
    private final MeterRegistry registry;
    private final String version;

    public PrometheusApi(ClickHouseStorage storage, Engine engine, Limits limits, boolean pushdown, MeterRegistry registry, String version) {
        this.storage = storage;
        this.engine = engine;
        this.limits = limits;
        this.pushdown = pushdown;
        this.registry = registry;
        this.version = version;
    }

    @Override
    public String name() {
        return "promql";
    }

    @Override
    public Map<String, TenantRoute> routes() {
        Map<String, TenantRoute> r = new LinkedHashMap<>();
        r.put("/api/v1/query", wrap("query", this::query));
        r.put("/api/v1/query_range", wrap("query_range", this::queryRange));
        r.put("/api/v1/series", wrap("series", this::series));
        r.put("/api/v1/labels", wrap("labels", this::labels));
        r.put("/api/v1/label/", wrap("label_values", this::labelValues));
        r.put("/api/v1/metadata", wrap("metadata", this::metadata));
        r.put("/api/v1/query_exemplars", wrap("query_exemplars", (req, p, path, t) -> success(List.of())));
        r.put("/api/v1/status/buildinfo", wrap("buildinfo", (req, p, path, t) -> success(buildInfo())));
        return r;
    }

    private Map<String, Object> buildInfo() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", "3.0.0");
        m.put("revision", "vigil-" + version);
        m.put("branch", "main");
        m.put("buildUser", "vigil");
        m.put("buildDate", "");
        m.put("goVersion", "java" + Runtime.version().feature());
        return m;
    }

    @FunctionalInterface
    private interface Handler {
        FullHttpResponse handle(FullHttpRequest req, Params p, String path, String tenant) throws Exception;
    }

    private TenantRoute wrap(String endpoint, Handler h) {
        return (req, path, tenant) -> {
            Timer.Sample t = Timer.start(registry);
            String outcome = "success";
            try {
                if (req.method() != HttpMethod.GET && req.method() != HttpMethod.POST) {
                    throw new ApiError("bad_data", HttpResponseStatus.METHOD_NOT_ALLOWED, "method " + req.method() + " not allowed");
                }
                return h.handle(req, Params.of(req), path, tenant);
            } catch (ApiError e) {
                outcome = e.type;
                return error(e.type, e.status, e.getMessage());
            } catch (ParseException e) {
                outcome = "bad_data";
                return error("bad_data", HttpResponseStatus.BAD_REQUEST, e.getMessage());
            } catch (QueryException e) {
                outcome = e.kind().name().toLowerCase();
                return switch (e.kind()) {
                    case BAD_DATA -> error("bad_data", HttpResponseStatus.BAD_REQUEST, e.getMessage());
                    case TIMEOUT -> error("timeout", HttpResponseStatus.SERVICE_UNAVAILABLE, e.getMessage());
                    case CANCELED -> error("canceled", HttpResponseStatus.valueOf(499, "Client Closed Request"), e.getMessage());
                    default -> error("execution", HttpResponseStatus.UNPROCESSABLE_ENTITY, e.getMessage());
                };
            } catch (ChReader.StorageException e) {
                outcome = "unavailable";
                log.warn("storage error endpoint={} tenant={} error={}", endpoint, tenant, e.getMessage());
                return error("unavailable", HttpResponseStatus.SERVICE_UNAVAILABLE, e.getMessage());
            } catch (RuntimeException e) {
                outcome = "internal";
                log.warn("internal error endpoint={} tenant={} error={}", endpoint, tenant, e.toString(), e);
                return error("internal", HttpResponseStatus.INTERNAL_SERVER_ERROR, String.valueOf(e.getMessage()));
            } finally {
                t.stop(registry.timer("vigil_query_requests", "endpoint", endpoint, "outcome", outcome));
            }
        };
    }

    static FullHttpResponse error(String type, HttpResponseStatus status, String msg) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", "error");
        m.put("errorType", type);
        m.put("error", msg);
        return Responses.json(status, m);
    }

    static FullHttpResponse success(Object data) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", "success");
        m.put("data", data);
        return Responses.json(HttpResponseStatus.OK, m);
    }

    // ------------------------------------------------------------------ query / query_range

    private FullHttpResponse query(FullHttpRequest req, Params p, String path, String tenant) throws Exception {
        String q = required(p, "query");
        long time = p.has("time") ? parseTime(p.get("time"), "time") : System.currentTimeMillis();
        QueryGuard guard = guard(p);
        String effective = pushdown ? PushdownRewriter.rewrite(q) : q;
        try (AutoCloseable ignored = RequestScope.onClientGone(() -> guard.cancel("client closed connection"))) {
            QueryResult r = engine.instantQuery(storage.forTenant(tenant, guard), effective, time, guard.context());
            return Responses.bytes(HttpResponseStatus.OK, "application/json",
                    PromJson.queryResult(r.value(), r.annotations().warnings(), r.annotations().infos()));
        }
    }

    private FullHttpResponse queryRange(FullHttpRequest req, Params p, String path, String tenant) throws Exception {
        String q = required(p, "query");
        long start = parseTime(required(p, "start"), "start");
        long end = parseTime(required(p, "end"), "end");
        if (end < start) {
            throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST, "invalid parameter \"end\": end timestamp must not be before start time");
        }
        long step = parseDuration(required(p, "step"), "step");
        if (step <= 0) {
            throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST,
                    "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer");
        }
        if ((end - start) / step + 1 > limits.maxPointsPerSeries) {
            throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST, "exceeded maximum resolution of " + limits.maxPointsPerSeries
                    + " points per timeseries. Try decreasing the query resolution (?step=XX)");
        }
        if (end - start > limits.maxRangeMs) {
            throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST, "query range " + (end - start) / 1000 + "s exceeds the limit of "
                    + limits.maxRangeMs / 1000 + "s (query.max-range)");
        }
        QueryGuard guard = guard(p);
        String effective = pushdown ? PushdownRewriter.rewrite(q) : q;
        try (AutoCloseable ignored = RequestScope.onClientGone(() -> guard.cancel("client closed connection"))) {
            // parsing the query once more is only worth it where the path can answer
            HistogramQuantilePath.Plan plan = pushdown && effective.contains("histogram_quantile") ? HistogramQuantilePath.plan(effective) : null;
            if (plan != null) {
                List<HistogramQuantilePath.Out> fast = HistogramQuantilePath.rangeQuery(storage.forTenant(tenant, guard), guard, plan,
                        start, end, step, limits.maxSamples);
                if (fast != null) {
                    return Responses.bytes(HttpResponseStatus.OK, "application/json", PromJson.matrix(fast));
                }
            }
            QueryResult r = engine.rangeQuery(storage.forTenant(tenant, guard), effective, start, end, step, guard.context());
            return Responses.bytes(HttpResponseStatus.OK, "application/json",
                    PromJson.queryResult(r.value(), r.annotations().warnings(), r.annotations().infos()));
        }
    }

    private QueryGuard guard(Params p) {
        long timeout = limits.defaultTimeoutMs;
        if (p.has("timeout")) {
            timeout = Math.min(parseDuration(p.get("timeout"), "timeout"), limits.maxTimeoutMs);
        }
        return new QueryGuard(timeout, limits.maxSamples, limits.maxSeries);
    }

    // ------------------------------------------------------------------ metadata endpoints

    private List<List<Matcher>> selectors(Params p) {
        List<List<Matcher>> out = new ArrayList<>();
        for (String m : p.all("match[]")) {
            Expr e = Parser.parse(m);
            if (!(e instanceof VectorSelector vs)) {
                throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST, "invalid parameter \"match[]\": " + m + " is not a series selector");
            }
            out.add(vs.matchers());
        }
        return out;
    }

    private long[] range(Params p) {
        long end = p.has("end") ? parseTime(p.get("end"), "end") : System.currentTimeMillis();
        long start = p.has("start") ? parseTime(p.get("start"), "start") : end - 3_600_000L;
        if (end < start) {
            throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST, "invalid parameter \"end\": end timestamp must not be before start time");
        }
        return new long[] {start, end};
    }

    /** The request's {@code limit} (Prometheus: at most that many results, 0 or absent for none; never negative), or 0. */
    private static int limit(Params p) {
        if (!p.has("limit")) {
            return 0;
        }
        int x;
        try {
            x = Integer.parseInt(p.get("limit"));
        } catch (NumberFormatException e) {
            throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST, "invalid parameter \"limit\": " + p.get("limit"));
        }
        if (x < 0) {
            throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST, "invalid parameter \"limit\": must be non-negative, got " + x);
        }
        return x;
    }

    /**
     * The listing's answer: at most the request's {@code limit} items, with Prometheus' warning when it cut them, and a
     * warning too when the storage's read stopped at {@code query.max-series-listed} series (the list may then miss some).
     */
    private FullHttpResponse listing(List<?> items, int limit, boolean storageCut) {
        List<String> warnings = new ArrayList<>();
        List<?> out = items;
        if (limit > 0 && items.size() > limit) {
            out = items.subList(0, limit);
            warnings.add("results truncated due to limit");
        }
        if (storageCut) {
            warnings.add("results truncated: more than " + limits.maxSeriesListed + " series matched (query.max-series-listed)");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", "success");
        m.put("data", out);
        if (!warnings.isEmpty()) {
            m.put("warnings", warnings);
        }
        return Responses.json(HttpResponseStatus.OK, m);
    }

    /** Reads one series more than the cap, so that a cut read can be told from an exact one. */
    private int readCap() {
        return limits.maxSeriesListed == Integer.MAX_VALUE ? Integer.MAX_VALUE : limits.maxSeriesListed + 1;
    }

    private boolean cut(List<Labels> read) {
        if (read.size() > limits.maxSeriesListed) {
            read.subList(limits.maxSeriesListed, read.size()).clear();
            return true;
        }
        return false;
    }

    private List<Labels> matchingSeries(Params p, String tenant, int limit) {
        List<List<Matcher>> sel = selectors(p);
        long[] r = range(p);
        QueryGuard guard = guard(p);
        if (sel.isEmpty()) {
            return null;
        }
        return storage.series(tenant, guard, sel, r[0], r[1], limit);
    }

    private FullHttpResponse series(FullHttpRequest req, Params p, String path, String tenant) {
        if (p.all("match[]").isEmpty()) {
            throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST, "no match[] parameter provided");
        }
        int limit = limit(p);
        List<Labels> read = new ArrayList<>(matchingSeries(p, tenant, limit > 0 && limit < limits.maxSeriesListed ? limit + 1 : readCap()));
        boolean cut = (limit == 0 || limit >= limits.maxSeriesListed) && cut(read);
        List<Map<String, String>> out = new ArrayList<>();
        for (Labels l : read) {
            out.add(new LinkedHashMap<>(l.toMap()));
        }
        return listing(out, limit, cut);
    }

    private FullHttpResponse labels(FullHttpRequest req, Params p, String path, String tenant) {
        int limit = limit(p);
        TreeSet<String> names = new TreeSet<>();
        List<Labels> ls = matchingSeries(p, tenant, readCap());
        if (ls == null) {
            // every series of the tenant in the range
            ls = storage.series(tenant, guard(p), List.of(List.of(new Matcher(Matcher.Type.RE, Labels.METRIC_NAME, ".+"))),
                    range(p)[0], range(p)[1], readCap());
        }
        ls = new ArrayList<>(ls);
        boolean cut = cut(ls);
        for (Labels l : ls) {
            names.addAll(l.names());
        }
        return listing(new ArrayList<>(names), limit, cut);
    }

    private FullHttpResponse labelValues(FullHttpRequest req, Params p, String path, String tenant) {
        String rest = path.substring("/api/v1/label/".length());
        if (!rest.endsWith("/values")) {
            throw new ApiError("not_found", HttpResponseStatus.NOT_FOUND, "unknown path " + path);
        }
        String name = rest.substring(0, rest.length() - "/values".length()); // the path is decoded once already
        if (name.startsWith("U__")) {
            name = unescapeUtf8Name(name);
        }
        int limit = limit(p);
        TreeSet<String> values = new TreeSet<>();
        boolean cut = false;
        if (name.equals(Labels.METRIC_NAME) && p.all("match[]").isEmpty()) {
            values.addAll(storage.metricNames(tenant, guard(p)));
        } else {
            List<Labels> ls = matchingSeries(p, tenant, readCap());
            if (ls == null) {
                ls = storage.series(tenant, guard(p), List.of(List.of(new Matcher(Matcher.Type.RE, Labels.METRIC_NAME, ".+"),
                        new Matcher(Matcher.Type.NEQ, name, ""))), range(p)[0], range(p)[1], readCap());
            }
            ls = new ArrayList<>(ls);
            cut = cut(ls);
            for (Labels l : ls) {
                if (l.has(name)) {
                    values.add(l.get(name));
                }
            }
        }
        return listing(new ArrayList<>(values), limit, cut);
    }

    private static String unescapeUtf8Name(String s) {
        // Prometheus' U__ escaping: _xx_ hex code points, __ = _
        StringBuilder sb = new StringBuilder();
        String b = s.substring(3);
        for (int i = 0; i < b.length(); i++) {
            char c = b.charAt(i);
            if (c == '_' && i + 1 < b.length() && b.charAt(i + 1) == '_') {
                sb.append('_');
                i++;
            } else if (c == '_') {
                int j = b.indexOf('_', i + 1);
                if (j < 0) {
                    return s;
                }
                try {
                    sb.appendCodePoint(Integer.parseInt(b.substring(i + 1, j), 16));
                } catch (NumberFormatException e) {
                    return s;
                }
                i = j;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private FullHttpResponse metadata(FullHttpRequest req, Params p, String path, String tenant) {
        QueryGuard g = guard(p);
        String only = p.get("metric");
        Map<String, Object> out = new java.util.TreeMap<>();
        for (Map.Entry<String, EventMetric> e : storage.eventMetrics(tenant, g).entrySet()) {
            if (only == null || only.equals(e.getKey())) {
                out.put(e.getKey(), List.of(Map.of("type", e.getValue().suffix().promType, "help", e.getValue().help(), "unit", "")));
            }
        }
        for (String n : storage.sampleNames(tenant, g)) {
            if ((only == null || only.equals(n)) && !out.containsKey(n)) {
                out.put(n, List.of(Map.of("type", "unknown", "help", "", "unit", "")));
            }
        }
        return success(out);
    }

    // ------------------------------------------------------------------ parameters

    static String required(Params p, String name) {
        String v = p.get(name);
        if (v == null || v.isEmpty()) {
            throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST, "invalid parameter \"" + name + "\": missing");
        }
        return v;
    }

    /** Unix seconds (fractional) or RFC 3339. */
    static long parseTime(String s, String param) {
        try {
            double d = Double.parseDouble(s);
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new NumberFormatException();
            }
            return Math.round(d * 1000.0);
        } catch (NumberFormatException e) {
            try {
                return OffsetDateTime.parse(s).toInstant().toEpochMilli();
            } catch (RuntimeException e2) {
                try {
                    return Instant.parse(s).toEpochMilli();
                } catch (RuntimeException e3) {
                    throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST,
                            "invalid parameter \"" + param + "\": cannot parse \"" + s + "\" to a valid timestamp");
                }
            }
        }
    }

    /** Seconds (fractional) or a Prometheus duration (5m, 1h30m); in milliseconds. */
    static long parseDuration(String s, String param) {
        try {
            double d = Double.parseDouble(s);
            if (Double.isNaN(d) || Double.isInfinite(d) || Math.abs(d * 1000) >= Long.MAX_VALUE) {
                throw new NumberFormatException();
            }
            return Math.round(d * 1000.0);
        } catch (NumberFormatException e) {
            java.util.regex.Matcher m = DURATION_PART.matcher(s);
            long total = 0;
            int pos = 0;
            try {
                while (m.find() && m.start() == pos) {
                    long n = Long.parseLong(m.group(1));
                    total = Math.addExact(total, Math.multiplyExact(n, switch (m.group(2)) {
                        case "ms" -> 1L;
                        case "s" -> 1000L;
                        case "m" -> 60_000L;
                        case "h" -> 3_600_000L;
                        case "d" -> 86_400_000L;
                        case "w" -> 7 * 86_400_000L;
                        default -> 365 * 86_400_000L;
                    }));
                    pos = m.end();
                }
            } catch (ArithmeticException | NumberFormatException tooLarge) {
                throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST,
                        "invalid parameter \"" + param + "\": duration \"" + s + "\" is out of range");
            }
            if (pos == 0 || pos != s.length()) {
                throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST,
                        "invalid parameter \"" + param + "\": cannot parse \"" + s + "\" to a valid duration");
            }
            return total;
        }
    }

    private static final java.util.regex.Pattern DURATION_PART = java.util.regex.Pattern.compile("(\\d+)(ms|y|w|d|h|m|s)");

    /** URL query parameters plus form-encoded POST body parameters. */
    public static final class Params {
        private final Map<String, List<String>> m;

        private Params(Map<String, List<String>> m) {
            this.m = m;
        }

        public static Params of(FullHttpRequest req) {
            Map<String, List<String>> all = new LinkedHashMap<>();
            new QueryStringDecoder(req.uri()).parameters().forEach((k, v) -> all.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
            if (req.method() == HttpMethod.POST) {
                String ct = req.headers().get(HttpHeaderNames.CONTENT_TYPE, "");
                if (ct.startsWith("application/x-www-form-urlencoded") || ct.isEmpty()) {
                    String body = req.content().toString(StandardCharsets.UTF_8);
                    try {
                        new QueryStringDecoder(body, StandardCharsets.UTF_8, false, 10_000).parameters()
                                .forEach((k, v) -> all.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
                    } catch (IllegalArgumentException e) {
                        throw new ApiError("bad_data", HttpResponseStatus.BAD_REQUEST, "malformed form-encoded body: " + e.getMessage());
                    }
                }
            }
            return new Params(all);
        }

        public boolean has(String k) {
            return m.containsKey(k) && !m.get(k).isEmpty();
        }

        public String get(String k) {
            List<String> v = m.get(k);
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        public List<String> all(String k) {
            return m.getOrDefault(k, List.of());
        }
    }
}
