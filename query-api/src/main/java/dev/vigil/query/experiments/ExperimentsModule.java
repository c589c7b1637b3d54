package dev.vigil.query.experiments;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

import dev.vigil.query.api.DerivedSeriesProvider;
import dev.vigil.query.api.QueryModule;
import dev.vigil.query.api.TenantRoute;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;

/**
 * Experiment registry and guardrail reports (docs/experiments-api.md):
 * <pre>
 * GET    /api/v1/experiments                   current definitions (id, version, decision if cached)
 * PUT    /api/v1/experiments/{id}              declare or change (new version); body = definition JSON
 * GET    /api/v1/experiments/{id}              current definition
 * DELETE /api/v1/experiments/{id}              delete (a new version marked deleted)
 * GET    /api/v1/experiments/{id}/versions     every stored version
 * GET    /api/v1/experiments/{id}/report       guardrail report (?fresh=true bypasses the cache)
 * GET    /api/v1/experiments/reports           every experiment's report
 * </pre>
 * Series: {@link ExperimentSeries}.
 */
public final class ExperimentsModule implements QueryModule {
    public static final String PREFIX = "/api/v1/experiments";

    private final ExperimentRegistry registry;
    private final ExperimentReports reports;
    private final ExperimentSeries series;

    /** Reads and writes ClickHouse through {@code ds}; {@code clock} is "now" of reports. */
    public ExperimentsModule(DataSource ds, Clock clock) {
        this(ds, clock, Duration.ofSeconds(15));
    }

    /** As above with the report cache TTL. */
    public ExperimentsModule(DataSource ds, Clock clock, Duration reportCacheTtl) {
        this.registry = new ExperimentRegistry(ds, clock);
        this.reports = new ExperimentReports(registry, new ExperimentStats(ds), clock, reportCacheTtl);
        this.series = new ExperimentSeries(reports, clock);
    }

    /** Convenience: ClickHouse JDBC URL (e.g. jdbc:clickhouse://127.0.0.1:8123/default), user, password. */
    public static ExperimentsModule forJdbc(String url, String user, String password, Clock clock) {
        return new ExperimentsModule(new JdbcDataSource(url, user, password), clock);
    }

    public ExperimentRegistry registry() {
        return registry;
    }

    public ExperimentReports reports() {
        return reports;
    }

    @Override
    public String name() {
        return "experiments";
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

    /**
     * Loads definitions from a JSON file (an array of definition objects, each with an {@code id}) into
     * the registry of {@code tenant}; a definition identical to the current version is skipped.
     * Returns the ids that got a new version.
     */
    public List<String> importFile(String tenant, Path file) throws IOException, SQLException {
        JsonNode root = ExperimentJson.MAPPER.readTree(Files.readAllBytes(file));
        if (!root.isArray()) throw new IOException(file + ": expected a JSON array of experiment definitions");
        List<String> changed = new ArrayList<>();
        for (JsonNode n : root) {
            String id = n.path("id").asText("");
            if (id.isBlank()) throw new IOException(file + ": a definition has no id");
            ExperimentSpec cur = registry.get(tenant, id);
            if (cur != null && sameDefinition(cur, n)) continue;
            registry.put(tenant, id, ExperimentJson.MAPPER.writeValueAsBytes(n));
            changed.add(id);
        }
        return changed;
    }

    private static boolean sameDefinition(ExperimentSpec cur, JsonNode n) throws JsonProcessingException {
        ExperimentSpec candidate = ExperimentSpec.parse(cur.definition().id(), cur.definition().version(),
                ExperimentJson.MAPPER.writeValueAsBytes(n));
        return candidate.definition().equals(cur.definition()) && candidate.sources().equals(cur.sources());
    }

    FullHttpResponse handle(FullHttpRequest req, String routePath, String tenant) {
        String path = new QueryStringDecoder(req.uri()).path();
        QueryStringDecoder uri = new QueryStringDecoder(req.uri());
        Map<String, List<String>> params = uri.parameters();
        HttpMethod method = req.method();
        try {
            if (path.equals(PREFIX) || path.equals(PREFIX + "/")) {
                if (!method.equals(HttpMethod.GET)) return notAllowed();
                return list(tenant);
            }
            // the raw path's segments, each decoded once (the route's path is decoded already: decoding it again
            // turned %25 into an unterminated escape, a 500)
            String[] parts = uri.rawPath().substring(PREFIX.length() + 1).split("/");
            if (parts.length == 1 && parts[0].equals("reports") && method.equals(HttpMethod.GET)) {
                return HttpJson.ok(reports.reports(tenant));
            }
            String id = QueryStringDecoder.decodeComponent(parts[0]);
            if (id.isBlank()) return HttpJson.error(HttpResponseStatus.NOT_FOUND, "not_found", "no experiment id in the path");
            if (parts.length == 1) {
                if (method.equals(HttpMethod.PUT) || method.equals(HttpMethod.POST)) {
                    byte[] body = ByteBufUtil.getBytes(req.content());
                    ExperimentSpec spec = registry.put(tenant, id, body);
                    return HttpJson.ok(HttpResponseStatus.OK, view(spec));
                }
                if (method.equals(HttpMethod.GET)) {
                    ExperimentSpec spec = registry.get(tenant, id);
                    return spec == null ? notFound(id) : HttpJson.ok(view(spec));
                }
                if (method.equals(HttpMethod.DELETE))
                    return registry.delete(tenant, id) ? HttpJson.ok(Map.of("id", id, "deleted", true)) : notFound(id);
                return notAllowed();
            }
            if (parts.length == 2 && method.equals(HttpMethod.GET)) {
                switch (parts[1]) {
                    case "report" -> {
                        boolean fresh = params.getOrDefault("fresh", List.of("false")).contains("true");
                        ExperimentReports.ReportView v = reports.report(tenant, id, !fresh);
                        return v == null ? notFound(id) : HttpJson.ok(v);
                    }
                    case "versions" -> {
                        var h = registry.history(tenant, id);
                        if (h.isEmpty()) return notFound(id);
                        List<Object> out = new ArrayList<>();
                        for (var v : h) {
                            Map<String, Object> m = new LinkedHashMap<>();
                            m.put("version", v.version());
                            m.put("deleted", v.deleted());
                            m.put("createdAt", v.createdAt());
                            m.put("definition", v.deleted() ? null : ExperimentJson.MAPPER.readTree(v.definitionJson()));
                            out.add(m);
                        }
                        return HttpJson.ok(out);
                    }
                    default -> {
                        return HttpJson.error(HttpResponseStatus.NOT_FOUND, "not_found", "unknown path " + path);
                    }
                }
            }
            return HttpJson.error(HttpResponseStatus.NOT_FOUND, "not_found", "unknown path " + path);
        } catch (ExperimentRegistry.InvalidExperimentException e) {
            return HttpJson.error(HttpResponseStatus.BAD_REQUEST, "bad_data", e.getMessage(), e.problems());
        } catch (JsonProcessingException e) {
            return HttpJson.error(HttpResponseStatus.BAD_REQUEST, "bad_data", "malformed definition JSON: " + dev.vigil.common.http.JsonProblems.describe(e));
        } catch (IllegalArgumentException e) {
            return HttpJson.error(HttpResponseStatus.BAD_REQUEST, "bad_data", e.getMessage());
        } catch (SQLException e) {
            return HttpJson.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "unavailable", "ClickHouse: " + e.getMessage());
        }
    }

    private FullHttpResponse list(String tenant) throws SQLException, JsonProcessingException {
        List<Object> out = new ArrayList<>();
        for (ExperimentSpec s : registry.current(tenant).values()) out.add(view(s));
        return HttpJson.ok(out);
    }

    private static Map<String, Object> view(ExperimentSpec spec) throws JsonProcessingException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", spec.definition().id());
        m.put("version", spec.definition().version());
        m.put("definition", ExperimentJson.MAPPER.readTree(spec.json()));
        return m;
    }

    private static FullHttpResponse notFound(String id) {
        return HttpJson.error(HttpResponseStatus.NOT_FOUND, "not_found", "no experiment '" + id + "'");
    }

    private static FullHttpResponse notAllowed() {
        return HttpJson.error(HttpResponseStatus.METHOD_NOT_ALLOWED, "bad_data", "method not allowed");
    }
}
