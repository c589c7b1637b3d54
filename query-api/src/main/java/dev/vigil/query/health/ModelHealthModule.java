package dev.vigil.query.health;

import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import dev.vigil.query.api.DerivedSeriesProvider;
import dev.vigil.query.api.QueryModule;
import dev.vigil.query.api.TenantRoute;
import dev.vigil.query.experiments.HttpJson;
import dev.vigil.query.experiments.JdbcDataSource;
import dev.vigil.query.storage.TableRetention;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;

/**
 * ML health (docs/ml-health.md):
 * <pre>
 * GET /api/v1/models                                       models seen in the last 30 days
 * GET /api/v1/models/{model}/health?window=1h&amp;baseline=24h[&amp;version=v2][&amp;time=...]
 * </pre>
 * Series: {@link ModelHealthSeries}.
 */
public final class ModelHealthModule implements QueryModule {
    public static final String PREFIX = "/api/v1/models";

    private final ModelHealthService service;
    private final ModelHealthSeries series;
    private final Clock clock;
    /** window + baseline may reach back no further than the 1 m table holds every minute (aggregator.retention.1m, 90d by default). */
    private final TableRetention retention;

    /** Reads ClickHouse through {@code ds} with the default conventions. */
    public ModelHealthModule(DataSource ds, Clock clock) {
        this(ds, clock, HealthConventions.defaults());
    }

    public ModelHealthModule(DataSource ds, Clock clock, HealthConventions conventions) {
        this.service = new ModelHealthService(ds, conventions);
        this.retention = TableRetention.of(ds, clock::millis);
        this.series = new ModelHealthSeries(service, clock);
        this.clock = clock;
    }

    /** Convenience: ClickHouse JDBC URL, user, password. */
    public static ModelHealthModule forJdbc(String url, String user, String password, Clock clock) {
        return new ModelHealthModule(new JdbcDataSource(url, user, password), clock);
    }

    public ModelHealthService service() {
        return service;
    }

    @Override
    public String name() {
        return "model-health";
    }

    @Override
    public Map<String, TenantRoute> routes() {
        Map<String, TenantRoute> r = new LinkedHashMap<>();
        r.put(PREFIX, this::handle);
        r.put(PREFIX + "/", this::handle);
        return r;
    }

    @Override
    public List<DerivedSeriesProvider> seriesProviders() {
        return List.of(series);
    }

    /** Parses 90s, 5m, 1h, 7d, 1w, or a plain number of seconds. */
    public static Duration parseDuration(String s) {
        s = s.trim();
        if (s.isEmpty()) throw new IllegalArgumentException("empty duration");
        char u = s.charAt(s.length() - 1);
        try {
            if (Character.isDigit(u) || u == '.') return Duration.ofMillis((long) (Double.parseDouble(s) * 1000));
            String num = s.substring(0, s.length() - 1);
            if (s.endsWith("ms")) return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            long n = Long.parseLong(num);
            return switch (u) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                case 'd' -> Duration.ofDays(n);
                case 'w' -> Duration.ofDays(7 * n);
                default -> throw new IllegalArgumentException("unknown duration unit in '" + s + "'");
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cannot read duration '" + s + "' (use e.g. 30m, 1h, 7d)");
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("duration '" + s + "' is out of range");
        }
    }

    static Instant parseTime(String s) {
        try {
            double d = Double.parseDouble(s);
            if (!Double.isFinite(d) || Math.abs(d * 1000) >= Long.MAX_VALUE) {
                throw new IllegalArgumentException("time '" + s + "' is out of range");
            }
            return Instant.ofEpochMilli((long) (d * 1000));
        } catch (NumberFormatException e) {
            try {
                return Instant.parse(s);
            } catch (java.time.format.DateTimeParseException e2) {
                throw new IllegalArgumentException("cannot read time '" + s + "' (unix seconds or RFC 3339, e.g. 2026-11-27T12:00:00Z)");
            }
        }
    }

    /** The value {@code read} returns; its IllegalArgumentException's message prefixed with the parameter's name. */
    private static <T> T named(String param, java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(param + ": " + e.getMessage(), e);
        }
    }

    private static String param(Map<String, List<String>> p, String name) {
        List<String> v = p.get(name);
        return v == null || v.isEmpty() || v.get(0).isBlank() ? null : v.get(0);
    }

    FullHttpResponse handle(FullHttpRequest req, String routePath, String tenant) {
        QueryStringDecoder q = new QueryStringDecoder(req.uri());
        String path = q.path();
        if (!req.method().equals(HttpMethod.GET))
            return HttpJson.error(HttpResponseStatus.METHOD_NOT_ALLOWED, "bad_data", "only GET is supported");
        try {
            Instant now = clock.instant();
            if (path.equals(PREFIX) || path.equals(PREFIX + "/")) {
                return HttpJson.ok(service.models(tenant, now, Duration.ofDays(30)));
            }
            // split the raw path, then decode the model: a model named "org/m" comes as org%2Fm (decoding first split it)
            String[] parts = q.rawPath().substring(PREFIX.length() + 1).split("/");
            if (parts.length != 2 || !parts[1].equals("health"))
                return HttpJson.error(HttpResponseStatus.NOT_FOUND, "not_found", "unknown path " + path);
            String model = QueryStringDecoder.decodeComponent(parts[0]);
            Map<String, List<String>> p = q.parameters();
            HealthConventions conv = service.conventions();
            Duration window = param(p, "window") == null ? conv.window() : named("window", () -> parseDuration(param(p, "window")));
            Duration baseline = param(p, "baseline") == null ? conv.baseline() : named("baseline", () -> parseDuration(param(p, "baseline")));
            Instant t = param(p, "time") == null ? now : parseTime(param(p, "time"));
            if (window.toMinutes() < 1 || baseline.toMinutes() < 1)
                throw new IllegalArgumentException("window and baseline must be at least 1m (the data has minute resolution)");
            // the sums cover whole minutes: a 90 s window counted the events of 1 minute and divided them by 90 s
            if (window.getSeconds() % 60 != 0 || window.getNano() != 0 || baseline.getSeconds() % 60 != 0 || baseline.getNano() != 0)
                throw new IllegalArgumentException("window and baseline must be whole minutes (the data has minute resolution), got "
                        + window.toSeconds() + " s and " + baseline.toSeconds() + " s");
            // the baseline must lie where the 1 m table still holds every minute (its retention, or its oldest row if it
            // dropped what the 1 h table still has): an older baseline would be partly empty and its drift meaningless
            Duration kept = retention.of(TableRetention.ROLLUP_1M);
            if (window.plus(baseline).compareTo(kept) > 0)
                throw new IllegalArgumentException("window + baseline must not exceed " + dev.vigil.common.config.Sizes.formatDuration(kept)
                        + " (the retention of vigil_rollup_1m, the minutes they are computed from)");
            Instant from = t.minus(window).minus(baseline);
            long complete = retention.completeSince(TableRetention.ROLLUP_1M, 0);
            if (from.toEpochMilli() < complete)
                throw new IllegalArgumentException("window + baseline reach back to " + from + ", before " + Instant.ofEpochMilli(complete)
                        + ": vigil_rollup_1m, whose minutes they are computed from, holds every minute only from then on (its retention is "
                        + dev.vigil.common.config.Sizes.formatDuration(kept) + ")");
            String version = param(p, "version");
            ModelHealthService.Data d = service.fetch(tenant, model, version, version != null,
                    t.minus(window).minus(baseline), t);
            ModelHealthService.Key key = new ModelHealthService.Key(model, version);
            if (!d.keys().contains(key))
                return HttpJson.error(HttpResponseStatus.NOT_FOUND, "not_found", "no '" + conv.eventType()
                        + "' events of model '" + model + "'" + (version == null ? "" : " version '" + version + "'")
                        + " between " + t.minus(window).minus(baseline) + " and " + t);
            return HttpJson.ok(service.evaluate(d, key, t, window, baseline));
        } catch (IllegalArgumentException | java.time.format.DateTimeParseException e) {
            return HttpJson.error(HttpResponseStatus.BAD_REQUEST, "bad_data", e.getMessage());
        } catch (ArithmeticException e) {
            // a duration Duration holds but no clock reaches (window=200000000000000m)
            return HttpJson.error(HttpResponseStatus.BAD_REQUEST, "bad_data", "window, baseline or time out of range: " + e.getMessage());
        } catch (SQLException e) {
            return HttpJson.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "unavailable", "ClickHouse: " + e.getMessage());
        }
    }
}
