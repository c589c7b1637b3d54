package dev.vigil.alerting.api;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.vigil.alerting.Alert;
import dev.vigil.alerting.AlertingRule;
import dev.vigil.alerting.RecordingRule;
import dev.vigil.alerting.Rule;
import dev.vigil.alerting.RuleGroup;
import dev.vigil.alerting.RuleManager;
import dev.vigil.alerting.RuleStatus;
import dev.vigil.alerting.Times;
import dev.vigil.alerting.notify.Notifier;
import dev.vigil.alerting.rules.AlertingRuleDef;
import dev.vigil.alerting.rules.GroupDef;
import dev.vigil.alerting.rules.RecordingRuleDef;
import dev.vigil.alerting.rules.RuleFileException;
import dev.vigil.alerting.rules.RuleFiles;
import dev.vigil.alerting.store.RuleStore;
import dev.vigil.alerting.template.GoFormat;
import dev.vigil.common.http.Responses;
import dev.vigil.common.http.SimpleHttpServer;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;

/**
 * The alerting HTTP API, per tenant:
 * <ul>
 *   <li>{@code GET /api/v1/rules} and {@code GET /api/v1/alerts}: Prometheus' JSON format
 *       (what Grafana's Prometheus data source lists);</li>
 *   <li>{@code /config/v1/rules[/{namespace}[/{group}]]}: rule management in the format of
 *       Mimir's ruler configuration API (YAML), plus {@code .../versions} for the history;</li>
 *   <li>{@code GET /api/v1/alertmanagers} (Prometheus format) and
 *       {@code GET /api/v1/alerting/notifications} (delivery status and counters).</li>
 * </ul>
 */
public final class AlertingApi {
    public static final String RULES = "/api/v1/rules";
    public static final String ALERTS = "/api/v1/alerts";
    public static final String CONFIG = "/config/v1/rules";
    public static final String ALERTMANAGERS = "/api/v1/alertmanagers";
    public static final String NOTIFICATIONS = "/api/v1/alerting/notifications";
    private static final String YAML = "application/yaml";

    private final RuleManager manager;
    private final Notifier notifier;

    public AlertingApi(RuleManager manager, Notifier notifier) {
        this.manager = manager;
        this.notifier = notifier;
    }

    /** Path (exact) or prefix (ending with '/') to handler, as the query-api's QueryModule mounts them. */
    public Map<String, TenantRoute> routes() {
        Map<String, TenantRoute> m = new LinkedHashMap<>();
        m.put(RULES, this::rules);
        m.put(ALERTS, this::alerts);
        m.put(CONFIG, this::config);
        m.put(CONFIG + "/", this::config);
        m.put(ALERTMANAGERS, this::alertmanagers);
        m.put(NOTIFICATIONS, this::notifications);
        return m;
    }

    /** Mounts every route on a server, resolving tenants with {@code resolver} (standalone use, tests). */
    public SimpleHttpServer mount(SimpleHttpServer server, java.util.function.Function<FullHttpRequest, Optional<String>> resolver) {
        routes().forEach((p, r) -> {
            if (p.endsWith("/")) {
                server.prefix(p, r.withTenant(resolver));
            } else {
                server.route(p, r.withTenant(resolver));
            }
        });
        return server;
    }

    // ------------------------------------------------------------------ Prometheus API

    private static FullHttpResponse success(Object data) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", "success");
        m.put("data", data);
        return Responses.json(HttpResponseStatus.OK, m);
    }

    static FullHttpResponse error(HttpResponseStatus st, String type, String msg) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", "error");
        m.put("errorType", type);
        m.put("error", msg);
        return Responses.json(st, m);
    }

    private static boolean readMethod(FullHttpRequest req) {
        return req.method().equals(HttpMethod.GET) || req.method().equals(HttpMethod.POST) || req.method().equals(HttpMethod.HEAD);
    }

    private static Set<String> param(QueryStringDecoder q, String name) {
        List<String> v = new ArrayList<>(q.parameters().getOrDefault(name, List.of()));
        v.addAll(q.parameters().getOrDefault(name + "[]", List.of()));
        return Set.copyOf(v);
    }

    FullHttpResponse rules(FullHttpRequest req, String path, String tenant) {
        if (!readMethod(req)) {
            return error(HttpResponseStatus.METHOD_NOT_ALLOWED, "bad_data", "method not allowed");
        }
        QueryStringDecoder q = new QueryStringDecoder(req.uri());
        String type = q.parameters().containsKey("type") ? q.parameters().get("type").get(0).toLowerCase() : "";
        if (!type.isEmpty() && !type.equals("alert") && !type.equals("record")) {
            return error(HttpResponseStatus.BAD_REQUEST, "bad_data", "unsupported type " + type);
        }
        boolean alerts = type.isEmpty() || type.equals("alert");
        boolean records = type.isEmpty() || type.equals("record");
        Set<String> ruleNames = param(q, "rule_name");
        Set<String> groupNames = param(q, "rule_group");
        Set<String> files = param(q, "file");
        boolean excludeAlerts = "true".equals(q.parameters().getOrDefault("exclude_alerts", List.of("false")).get(0));
        boolean filtered = !ruleNames.isEmpty() || !groupNames.isEmpty() || !files.isEmpty() || !type.isEmpty();
        List<Object> out = new ArrayList<>();
        for (RuleGroup g : manager.groups(tenant)) {
            if (!groupNames.isEmpty() && !groupNames.contains(g.name())) {
                continue;
            }
            if (!files.isEmpty() && !files.contains(g.namespace())) {
                continue;
            }
            List<Object> rs = new ArrayList<>();
            for (Rule r : g.rules()) {
                if (!ruleNames.isEmpty() && !ruleNames.contains(r.name())) {
                    continue;
                }
                Map<String, Object> m = new LinkedHashMap<>();
                switch (r) {
                    case AlertingRule ar -> {
                        if (!alerts) {
                            continue;
                        }
                        AlertingRuleDef d = ar.def();
                        m.put("state", ar.state().apiName());
                        m.put("name", d.alert());
                        m.put("query", d.expr().strip());
                        m.put("duration", d.forMillis() / 1000.0);
                        m.put("keepFiringFor", d.keepFiringForMillis() / 1000.0);
                        m.put("labels", new java.util.TreeMap<>(d.labels()));
                        m.put("annotations", new java.util.TreeMap<>(d.annotations()));
                        m.put("alerts", excludeAlerts ? List.of() : alertsJson(ar.activeAlerts()));
                        health(m, r);
                        m.put("type", "alerting");
                    }
                    case RecordingRule rr -> {
                        if (!records) {
                            continue;
                        }
                        RecordingRuleDef d = (RecordingRuleDef) rr.def();
                        m.put("name", d.record());
                        m.put("query", d.expr().strip());
                        if (!d.labels().isEmpty()) {
                            m.put("labels", new java.util.TreeMap<>(d.labels()));
                        }
                        health(m, r);
                        m.put("type", "recording");
                    }
                }
                rs.add(m);
            }
            if (filtered && rs.isEmpty()) {
                continue;
            }
            Map<String, Object> gm = new LinkedHashMap<>();
            gm.put("name", g.name());
            gm.put("file", g.namespace());
            gm.put("rules", rs);
            gm.put("interval", g.intervalMillis() / 1000.0);
            gm.put("limit", g.def().limit());
            gm.put("evaluationTime", g.evaluationNanos() / 1e9);
            gm.put("lastEvaluation", Times.rfc3339(g.lastEvaluation()));
            out.add(gm);
        }
        return success(Map.of("groups", out));
    }

    private static void health(Map<String, Object> m, Rule r) {
        RuleStatus.Snapshot s = r.status().snapshot(); // one evaluation's fields, even while the rule is evaluated
        m.put("health", s.health().apiName());
        if (!s.lastError().isEmpty()) {
            m.put("lastError", s.lastError());
        }
        m.put("evaluationTime", s.evaluationNanos() / 1e9);
        m.put("lastEvaluation", Times.rfc3339(s.lastEvaluation()));
    }

    static List<Object> alertsJson(List<Alert> alerts) {
        List<Object> out = new ArrayList<>();
        for (Alert a : alerts) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("labels", a.labels().asMap());
            m.put("annotations", a.annotations().asMap());
            m.put("state", a.state().apiName());
            if (a.activeAt() != Alert.NONE) {
                m.put("activeAt", Times.rfc3339(a.activeAt()));
            }
            if (a.keepFiringSince() != Alert.NONE) {
                m.put("keepFiringSince", Times.rfc3339(a.keepFiringSince()));
            }
            m.put("value", GoFormat.formatE(a.value(), -1));
            out.add(m);
        }
        return out;
    }

    FullHttpResponse alerts(FullHttpRequest req, String path, String tenant) {
        if (!readMethod(req)) {
            return error(HttpResponseStatus.METHOD_NOT_ALLOWED, "bad_data", "method not allowed");
        }
        return success(Map.of("alerts", alertsJson(manager.alerts(tenant))));
    }

    FullHttpResponse alertmanagers(FullHttpRequest req, String path, String tenant) {
        List<Object> active = new ArrayList<>();
        if (notifier != null) {
            for (var t : notifier.targets()) {
                if (t.kind() == dev.vigil.alerting.notify.TargetConfig.Kind.ALERTMANAGER && t.accepts(tenant)) {
                    active.add(Map.of("url", dev.vigil.common.config.Redact.urls(t.endpoint().toString())));
                }
            }
        }
        return success(Map.of("activeAlertmanagers", active, "droppedAlertmanagers", List.of()));
    }

    FullHttpResponse notifications(FullHttpRequest req, String path, String tenant) {
        List<Object> targets = new ArrayList<>();
        if (notifier != null) {
            var cfgs = notifier.targets();
            var st = notifier.status();
            for (int i = 0; i < cfgs.size(); i++) {
                if (cfgs.get(i).accepts(tenant)) {
                    targets.add(st.get(i));
                }
            }
        }
        return success(Map.of("targets", targets));
    }

    // ------------------------------------------------------------------ rule management (Mimir ruler config API)

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    private static FullHttpResponse yaml(Object structure) {
        return Responses.bytes(HttpResponseStatus.OK, YAML, RuleFiles.toYaml(structure).getBytes(StandardCharsets.UTF_8));
    }

    private static FullHttpResponse accepted() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", "success");
        m.put("data", null);
        m.put("errorType", "");
        m.put("error", "");
        return Responses.json(HttpResponseStatus.ACCEPTED, m);
    }

    FullHttpResponse config(FullHttpRequest req, String path, String tenant) {
        // split the raw (still percent-encoded) path, so namespaces such as file paths may contain '/' as %2F
        String raw = req.uri();
        int qi = raw.indexOf('?');
        if (qi >= 0) {
            raw = raw.substring(0, qi);
        }
        int ci = raw.indexOf(CONFIG);
        raw = ci >= 0 ? raw.substring(ci) : path;
        String rest = raw.length() > CONFIG.length() ? raw.substring(CONFIG.length() + 1) : "";
        while (rest.endsWith("/")) {
            rest = rest.substring(0, rest.length() - 1);
        }
        String[] parts = rest.isEmpty() ? new String[0] : rest.split("/", -1);
        for (int i = 0; i < parts.length; i++) {
            parts[i] = decode(parts[i]);
            if (parts[i].isEmpty()) {
                return error(HttpResponseStatus.BAD_REQUEST, "bad_data", "empty path segment");
            }
        }
        HttpMethod m = req.method();
        try {
            if (parts.length == 0) {
                if (!m.equals(HttpMethod.GET)) {
                    return error(HttpResponseStatus.METHOD_NOT_ALLOWED, "bad_data", "method not allowed");
                }
                return listNamespaces(tenant, null);
            }
            String ns = parts[0];
            if (parts.length == 1) {
                if (m.equals(HttpMethod.GET)) {
                    return listNamespaces(tenant, ns);
                }
                if (m.equals(HttpMethod.POST)) {
                    manager.putGroup(tenant, ns, req.content().toString(StandardCharsets.UTF_8));
                    return accepted();
                }
                if (m.equals(HttpMethod.DELETE)) {
                    int n = manager.deleteNamespace(tenant, ns);
                    return n == 0 ? error(HttpResponseStatus.NOT_FOUND, "not_found", "no rule groups found") : accepted();
                }
                return error(HttpResponseStatus.METHOD_NOT_ALLOWED, "bad_data", "method not allowed");
            }
            String group = parts[1];
            if (parts.length == 2) {
                if (m.equals(HttpMethod.GET)) {
                    Optional<GroupDef> g = findGroup(tenant, ns, group);
                    return g.map(d -> yaml(RuleFiles.toMap(d)))
                            .orElseGet(() -> error(HttpResponseStatus.NOT_FOUND, "not_found", "group does not exist"));
                }
                if (m.equals(HttpMethod.PUT) || m.equals(HttpMethod.POST)) {
                    String body = req.content().toString(StandardCharsets.UTF_8);
                    GroupDef d = RuleFiles.parseGroup(ns, body, s -> manager.engine().validate(s));
                    if (!d.name().equals(group)) {
                        return error(HttpResponseStatus.BAD_REQUEST, "bad_data",
                                "group name in body (" + d.name() + ") does not match the path (" + group + ")");
                    }
                    manager.putGroup(tenant, ns, body);
                    return accepted();
                }
                if (m.equals(HttpMethod.DELETE)) {
                    return manager.deleteGroup(tenant, ns, group) ? accepted()
                            : error(HttpResponseStatus.NOT_FOUND, "not_found", "group does not exist");
                }
                return error(HttpResponseStatus.METHOD_NOT_ALLOWED, "bad_data", "method not allowed");
            }
            if (parts[2].equals("versions") && m.equals(HttpMethod.GET)) {
                RuleStore store = manager.store();
                if (parts.length == 3) {
                    List<Object> vs = new ArrayList<>();
                    for (RuleStore.StoredGroup sg : store.history(tenant, ns, group)) {
                        Map<String, Object> v = new LinkedHashMap<>();
                        v.put("version", sg.version());
                        v.put("updatedAt", Times.rfc3339(sg.updatedAtMillis()));
                        v.put("deleted", sg.deleted());
                        vs.add(v);
                    }
                    if (vs.isEmpty()) {
                        return error(HttpResponseStatus.NOT_FOUND, "not_found", "group has no stored versions");
                    }
                    return success(vs);
                }
                if (parts.length == 4) {
                    int v;
                    try {
                        v = Integer.parseInt(parts[3]);
                    } catch (NumberFormatException e) {
                        return error(HttpResponseStatus.BAD_REQUEST, "bad_data", "version must be an integer");
                    }
                    Optional<RuleStore.StoredGroup> sg = store.version(tenant, ns, group, v);
                    if (sg.isEmpty()) {
                        return error(HttpResponseStatus.NOT_FOUND, "not_found", "no such version");
                    }
                    if (sg.get().deleted()) {
                        return error(HttpResponseStatus.NOT_FOUND, "not_found", "version " + v + " is a deletion");
                    }
                    return Responses.bytes(HttpResponseStatus.OK, YAML, sg.get().yaml().getBytes(StandardCharsets.UTF_8));
                }
            }
            return error(HttpResponseStatus.NOT_FOUND, "not_found", "no such rule API path");
        } catch (RuleFileException e) {
            return error(HttpResponseStatus.BAD_REQUEST, "bad_data", e.getMessage());
        } catch (IllegalStateException e) {
            return error(HttpResponseStatus.CONFLICT, "conflict", e.getMessage());
        }
    }

    private Optional<GroupDef> findGroup(String tenant, String ns, String group) {
        for (RuleGroup g : manager.groups(tenant)) {
            if (g.namespace().equals(ns) && g.name().equals(group)) {
                return Optional.of(g.def());
            }
        }
        return Optional.empty();
    }

    private FullHttpResponse listNamespaces(String tenant, String only) {
        Map<String, List<Object>> out = new LinkedHashMap<>();
        for (RuleGroup g : manager.groups(tenant)) {
            if (only != null && !g.namespace().equals(only)) {
                continue;
            }
            out.computeIfAbsent(g.namespace(), k -> new ArrayList<>()).add(RuleFiles.toMap(g.def()));
        }
        if (out.isEmpty()) {
            return error(HttpResponseStatus.NOT_FOUND, "not_found", "no rule groups found");
        }
        return yaml(out);
    }
}
