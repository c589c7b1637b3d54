package dev.vigil.alerting.notify;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One notification target.
 *
 * @param name    a stable name (metrics tag, status, state file key)
 * @param kind    ALERTMANAGER (Alertmanager v2 API; {@code url} is the Alertmanager base URL,
 *                alerts go to {@code <url>/api/v2/alerts}) or WEBHOOK ({@code url} receives one
 *                POST per batch of state changes)
 * @param url     base URL (Alertmanager) or full URL (webhook)
 * @param tenants tenants whose alerts go to this target; empty means all
 * @param headers extra request headers (e.g. Authorization)
 */
public record TargetConfig(String name, Kind kind, URI url, Set<String> tenants, Map<String, String> headers) {
    public enum Kind { ALERTMANAGER, WEBHOOK }

    public TargetConfig {
        tenants = Set.copyOf(tenants);
        headers = Map.copyOf(headers);
    }

    public static TargetConfig alertmanager(String name, String url) {
        return new TargetConfig(name, Kind.ALERTMANAGER, URI.create(url), Set.of(), Map.of());
    }

    public static TargetConfig webhook(String name, String url) {
        return new TargetConfig(name, Kind.WEBHOOK, URI.create(url), Set.of(), Map.of());
    }

    /** The URL alerts are POSTed to. */
    public URI endpoint() {
        if (kind == Kind.WEBHOOK) {
            return url;
        }
        String base = url.toString();
        while (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        return URI.create(base + "/api/v2/alerts");
    }

    public boolean accepts(String tenant) {
        return tenants.isEmpty() || tenants.contains(tenant);
    }

    /**
     * Parses {@code name=kind:url} or {@code kind:url} entries (kind: alertmanager or webhook),
     * optionally suffixed with {@code ;tenants=a|b}. Used for the {@code alerting.notify.targets} config key.
     */
    public static TargetConfig parse(String spec, int index) {
        String s = spec.trim();
        String name = null;
        int eq = s.indexOf('=');
        int colon = s.indexOf(':');
        if (eq > 0 && (colon < 0 || eq < colon)) {
            name = s.substring(0, eq);
            s = s.substring(eq + 1);
        }
        Set<String> tenants = Set.of();
        int semi = s.indexOf(";tenants=");
        if (semi >= 0) {
            tenants = Set.copyOf(List.of(s.substring(semi + 9).split("\\|")));
            s = s.substring(0, semi);
        }
        Kind kind;
        if (s.startsWith("alertmanager:")) {
            kind = Kind.ALERTMANAGER;
            s = s.substring("alertmanager:".length());
        } else if (s.startsWith("webhook:")) {
            kind = Kind.WEBHOOK;
            s = s.substring("webhook:".length());
        } else {
            throw new IllegalArgumentException("notification target '" + spec + "' must start with alertmanager: or webhook:");
        }
        URI u = URI.create(s);
        if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https")) || u.getHost() == null) {
            throw new IllegalArgumentException("notification target '" + spec + "' has no http(s) URL");
        }
        if (name == null) {
            name = kind.name().toLowerCase() + "-" + index;
        }
        return new TargetConfig(name, kind, u, tenants, Map.of());
    }
}
