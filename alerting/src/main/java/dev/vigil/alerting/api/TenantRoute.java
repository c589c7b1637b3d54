package dev.vigil.alerting.api;

import java.util.Optional;
import java.util.function.Function;

import dev.vigil.common.auth.ApiKeys;
import dev.vigil.common.http.Responses;
import dev.vigil.common.http.Route;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * A route called with the caller's tenant (same shape as the query-api's
 * {@code dev.vigil.query.api.TenantRoute}, so {@code route::handle} adapts it).
 */
@FunctionalInterface
public interface TenantRoute {
    FullHttpResponse handle(FullHttpRequest request, String path, String tenant) throws Exception;

    /** A plain {@link Route} that resolves the tenant first and answers 401 when there is none. */
    default Route withTenant(Function<FullHttpRequest, Optional<String>> resolver) {
        return (req, path) -> {
            Optional<String> t = resolver.apply(req);
            if (t.isEmpty()) {
                FullHttpResponse r = Responses.json(HttpResponseStatus.UNAUTHORIZED,
                        java.util.Map.of("status", "error", "errorType", "unauthorized", "error", "missing or unknown API key"));
                r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
                return r;
            }
            return handle(req, path, t.get());
        };
    }

    /** Resolves the tenant from {@code Authorization: Bearer <key>}. */
    static Function<FullHttpRequest, Optional<String>> bearer(ApiKeys keys) {
        return req -> keys.tenantOfAuthorization(req.headers().get(HttpHeaderNames.AUTHORIZATION));
    }
}
