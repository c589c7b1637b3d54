package dev.vigil.common.service;

import java.util.LinkedHashMap;
import java.util.Map;

import dev.vigil.common.http.Responses;
import dev.vigil.common.http.SimpleHttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.HttpResponseStatus;

/** Mounts {@code /metrics}, {@code /health/live} and {@code /health/ready} on a server. */
public final class ObservabilityRoutes {
    private ObservabilityRoutes() {
    }

    public static SimpleHttpServer mount(SimpleHttpServer server, String service, PrometheusMeterRegistry registry, Health health) {
        server.route("/metrics", (req, path) -> Responses.bytes(HttpResponseStatus.OK,
                "text/plain; version=0.0.4; charset=utf-8", registry.scrape().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        server.route("/health/live", (req, path) -> Responses.json(HttpResponseStatus.OK, Map.of("status", "live", "service", service)));
        server.route("/health/ready", (req, path) -> {
            Map<String, Health.Check> checks = health.evaluate();
            boolean ok = checks.values().stream().allMatch(Health.Check::ok);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("status", ok ? "ready" : "not ready");
            body.put("service", service);
            body.put("checks", checks);
            return Responses.json(ok ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, body);
        });
        return server;
    }
}
