package dev.vigil.aggregator;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.vigil.common.auth.ApiKeys;
import dev.vigil.common.http.JsonProblems;
import dev.vigil.common.http.Responses;
import dev.vigil.common.http.SimpleHttpServer;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The aggregator's admin API (docs/aggregator.md):
 * <pre>
 * GET    /api/v1/jobs                      every declared job: state, lag, last error, throughput
 * GET    /api/v1/jobs/{name}               one job
 * GET    /api/v1/jobs/{name}/history       every stored version of its spec
 * PUT    /api/v1/jobs/{name}               declare or change (JSON spec; name from the path)
 * DELETE /api/v1/jobs/{name}               remove (the worker flushes, commits and stops)
 * GET    /api/v1/limits                    tenant limits (name "*" = default)
 * PUT    /api/v1/limits/{tenant}           {"max_series": n, "max_series_per_metric": m}
 * DELETE /api/v1/limits/{tenant}
 * </pre>
 * A change (PUT, DELETE) needs {@code Authorization: Bearer <key>} of an admin tenant ({@code aggregator.admin-tenants}):
 * it can stop every job's ingest or fold a tenant's data into overflow series. Reads need no key, like /metrics.
 */
public final class AdminApi {
    private static final Logger log = LoggerFactory.getLogger(AdminApi.class);
    private final Aggregator agg;
    private final ApiKeys keys;
    private final Set<String> adminTenants;

    public AdminApi(Aggregator agg, ApiKeys keys, Set<String> adminTenants) {
        this.agg = agg;
        this.keys = keys;
        this.adminTenants = Set.copyOf(adminTenants);
    }

    /** Null when {@code req} may go on; else the refusal (401 without a valid key, 403 for a tenant that is not an admin). */
    private FullHttpResponse refusal(FullHttpRequest req) {
        HttpMethod m = req.method();
        if (m.equals(HttpMethod.GET) || m.equals(HttpMethod.HEAD)) {
            return null;
        }
        Optional<String> tenant = keys.tenantOfAuthorization(req.headers().get(HttpHeaderNames.AUTHORIZATION));
        if (tenant.isEmpty()) {
            FullHttpResponse r = error(HttpResponseStatus.UNAUTHORIZED, "missing or invalid API key: changing jobs and limits needs"
                    + " Authorization: Bearer <key> of an admin tenant (aggregator.admin-tenants: " + String.join(", ", new TreeSet<>(adminTenants)) + ")");
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"vigil\"");
            return r;
        }
        if (!adminTenants.contains(tenant.get())) {
            return error(HttpResponseStatus.FORBIDDEN, "tenant " + tenant.get() + " may not change jobs and limits (aggregator.admin-tenants: "
                    + String.join(", ", new TreeSet<>(adminTenants)) + ")");
        }
        return null;
    }

    /** Who made a change, for the version history: "admin-api:" and the tenant of the key (refusal() checked it). */
    private String by(FullHttpRequest req) {
        return "admin-api:" + keys.tenantOfAuthorization(req.headers().get(HttpHeaderNames.AUTHORIZATION)).orElse("?");
    }

    /** Stored versions with each spec as JSON (it was a string holding JSON), null for a deletion. */
    private static List<Map<String, Object>> historyView(List<GoalStore.Entry> versions) {
        List<Map<String, Object>> out = new java.util.ArrayList<>();
        for (GoalStore.Entry e : versions) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("version", e.version());
            m.put("deleted", e.deleted());
            JsonNode spec;
            try {
                spec = e.deleted() ? null : GoalStore.JSON.readTree(e.spec());
            } catch (Exception ex) {
                spec = com.fasterxml.jackson.databind.node.TextNode.valueOf(e.spec()); // unreadable: shown as stored
            }
            m.put("spec", spec);
            m.put("updatedAt", e.updatedAt());
            m.put("updatedBy", e.updatedBy());
            out.add(m);
        }
        return out;
    }

    public SimpleHttpServer mount(SimpleHttpServer server) {
        server.prefix("/api/v1/jobs", this::jobs);
        server.prefix("/api/v1/limits", this::limits);
        return server;
    }

    private static String body(FullHttpRequest req) {
        return req.content().toString(StandardCharsets.UTF_8);
    }

    /**
     * How request bodies are read: strictly. A duplicate key (which value did the operator mean?), anything after the
     * object, a number given as a string or a fraction for a whole number are errors (they were taken: "10" and 10.5
     * as 10, the last of two keys).
     */
    static final com.fasterxml.jackson.databind.ObjectMapper STRICT = strict();

    private static com.fasterxml.jackson.databind.ObjectMapper strict() {
        com.fasterxml.jackson.databind.ObjectMapper m = GoalStore.JSON.copy()
                .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .disable(com.fasterxml.jackson.databind.DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        m.coercionConfigFor(com.fasterxml.jackson.databind.type.LogicalType.Integer)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.String, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail);
        m.coercionConfigFor(com.fasterxml.jackson.databind.type.LogicalType.Textual)
                .setCoercion(com.fasterxml.jackson.databind.cfg.CoercionInputShape.Integer, com.fasterxml.jackson.databind.cfg.CoercionAction.Fail);
        return m;
    }

    private static FullHttpResponse error(HttpResponseStatus st, String msg) {
        return Responses.json(st, Map.of("error", msg));
    }

    private FullHttpResponse jobs(FullHttpRequest req, String path) throws Exception {
        FullHttpResponse refused = refusal(req);
        if (refused != null) {
            return refused;
        }
        String rest = path.substring("/api/v1/jobs".length());
        HttpMethod m = req.method();
        if (rest.isEmpty() || rest.equals("/")) {
            if (!m.equals(HttpMethod.GET)) {
                return error(HttpResponseStatus.METHOD_NOT_ALLOWED, "use GET /api/v1/jobs or PUT/DELETE /api/v1/jobs/{name}");
            }
            return Responses.json(HttpResponseStatus.OK, Map.of("jobs", agg.jobStatus()));
        }
        String[] seg = rest.substring(1).split("/");
        String name = seg[0];
        if (seg.length == 2 && seg[1].equals("history") && m.equals(HttpMethod.GET)) {
            var versions = agg.store().history(Aggregator.KIND_JOB, name);
            return versions.isEmpty() ? error(HttpResponseStatus.NOT_FOUND, "no job named " + name + " was ever stored")
                    : Responses.json(HttpResponseStatus.OK, Map.of("name", name, "versions", historyView(versions)));
        }
        if (seg.length != 1) {
            return error(HttpResponseStatus.NOT_FOUND, "no route for " + path);
        }
        if (m.equals(HttpMethod.GET)) {
            for (Map<String, Object> j : agg.jobStatus()) {
                if (name.equals(j.get("name"))) {
                    return Responses.json(HttpResponseStatus.OK, j);
                }
            }
            return error(HttpResponseStatus.NOT_FOUND, "no job named " + name);
        }
        if (m.equals(HttpMethod.PUT)) {
            JobSpec spec;
            try {
                JsonNode n = STRICT.readTree(body(req));
                if (!(n instanceof ObjectNode o)) {
                    return error(HttpResponseStatus.BAD_REQUEST, "body must be a JSON object (a job spec)");
                }
                if (o.has("name") && !name.equals(o.get("name").asText())) {
                    return error(HttpResponseStatus.BAD_REQUEST, "name in body (" + o.get("name").asText() + ") differs from path (" + name + ")");
                }
                o.put("name", name);
                spec = STRICT.treeToValue(o, JobSpec.class).normalized();
            } catch (JsonProcessingException e) {
                return error(HttpResponseStatus.BAD_REQUEST, "invalid job spec: " + JsonProblems.describe(e));
            } catch (Exception e) {
                return error(HttpResponseStatus.BAD_REQUEST, "invalid job spec: " + e.getMessage());
            }
            Boolean existed = agg.topicExists(spec.source()); // asked before the job's start creates it
            long v;
            try {
                v = agg.putJob(spec, by(req));
            } catch (Aggregator.JobConflictException e) {
                return error(HttpResponseStatus.CONFLICT, e.getMessage());
            } catch (IllegalArgumentException e) {
                return error(HttpResponseStatus.BAD_REQUEST, "invalid job spec: " + e.getMessage());
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("name", name);
            out.put("version", v);
            out.put("spec", spec);
            if (Boolean.FALSE.equals(existed)) {
                out.put("warning", agg.createsTopics()
                        ? "source topic " + spec.source() + " did not exist: the aggregator created it (aggregator.create-topics, "
                                + agg.topicPartitions() + " partitions), so the job reads an empty topic; if you expected data in it, check the name"
                        : "source topic " + spec.source() + " does not exist (aggregator.create-topics is off): the job reads nothing until it is created");
                log.warn("event=job_source_topic_missing job={} topic={} created={}", name, spec.source(), agg.createsTopics());
            }
            return Responses.json(HttpResponseStatus.OK, out);
        }
        if (m.equals(HttpMethod.DELETE)) {
            return agg.deleteJob(name, by(req))
                    ? Responses.json(HttpResponseStatus.OK, Map.of("name", name, "deleted", true))
                    : error(HttpResponseStatus.NOT_FOUND, "no job named " + name);
        }
        return error(HttpResponseStatus.METHOD_NOT_ALLOWED, "use GET, PUT or DELETE");
    }

    private FullHttpResponse limits(FullHttpRequest req, String path) throws Exception {
        FullHttpResponse refused = refusal(req);
        if (refused != null) {
            return refused;
        }
        String rest = path.substring("/api/v1/limits".length());
        HttpMethod m = req.method();
        if (rest.isEmpty() || rest.equals("/")) {
            return Responses.json(HttpResponseStatus.OK, Map.of("limits", agg.limits()));
        }
        String tenant = rest.substring(1);
        if (m.equals(HttpMethod.PUT) && !tenant.equals("*") && !tenant.matches("[A-Za-z0-9_.-]{1,64}")) {
            // the rule api-keys holds tenants to: limits for any other name could never apply
            return error(HttpResponseStatus.BAD_REQUEST, "invalid tenant '" + tenant + "': 1-64 of A-Z a-z 0-9 _ . - (as in api-keys), or "
                    + "* for the default");
        }
        if (m.equals(HttpMethod.PUT)) {
            TenantLimits l;
            try {
                l = STRICT.readValue(body(req), TenantLimits.class);
            } catch (JsonProcessingException e) {
                return error(HttpResponseStatus.BAD_REQUEST, "invalid limits: " + JsonProblems.describe(e));
            } catch (Exception e) {
                return error(HttpResponseStatus.BAD_REQUEST, "invalid limits: " + e.getMessage());
            }
            long v = agg.putLimits(tenant, l, by(req));
            return Responses.json(HttpResponseStatus.OK, Map.of("tenant", tenant, "version", v, "limits", l));
        }
        if (m.equals(HttpMethod.DELETE)) {
            return agg.deleteLimits(tenant, by(req))
                    ? Responses.json(HttpResponseStatus.OK, Map.of("tenant", tenant, "deleted", true))
                    : error(HttpResponseStatus.NOT_FOUND, "no limits for " + tenant);
        }
        if (m.equals(HttpMethod.GET)) {
            return Responses.json(HttpResponseStatus.OK, Map.of("tenant", tenant, "limits", agg.limitsFor(tenant),
                    "history", historyView(agg.store().history(Aggregator.KIND_LIMITS, tenant))));
        }
        return error(HttpResponseStatus.METHOD_NOT_ALLOWED, "use GET, PUT or DELETE");
    }

    static List<String> routes() {
        return List.of("/api/v1/jobs", "/api/v1/limits");
    }
}
