package dev.vigil.common.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

import dev.vigil.common.config.ConfigException;

/**
 * Resolves an API key to its tenant. Keys are held only as SHA-256 hashes and compared in
 * constant time, so neither a memory dump nor response timing reveals them.
 *
 * <p>Configuration format (key {@code api-keys}): a comma-separated list of
 * {@code tenant:key} (plain key, hashed at load) or {@code tenant:sha256:<64 hex>} (pre-hashed).
 */
public final class ApiKeys {
    private record Entry(String tenant, byte[] hash) {
    }

    private final List<Entry> entries;

    private ApiKeys(List<Entry> entries) {
        this.entries = entries;
    }

    public static ApiKeys parse(List<String> specs) {
        List<Entry> out = new ArrayList<>();
        for (String spec : specs) {
            int i = spec.indexOf(':');
            if (i <= 0 || i == spec.length() - 1) {
                throw new ConfigException("config key api-keys has invalid entry '" + mask(spec)
                        + "'; accepted values: tenant:key or tenant:sha256:<64 hex digits>");
            }
            String tenant = spec.substring(0, i);
            String rest = spec.substring(i + 1);
            if (!tenant.matches("[A-Za-z0-9_.-]{1,64}")) {
                throw new ConfigException("config key api-keys has invalid tenant '" + tenant
                        + "'; accepted values: 1-64 characters of A-Z a-z 0-9 _ . -");
            }
            byte[] hash;
            if (rest.startsWith("sha256:")) {
                String hex = rest.substring(7);
                if (!hex.matches("[0-9a-fA-F]{64}")) {
                    throw new ConfigException("config key api-keys: tenant " + tenant + " has a sha256 hash that is not 64 hex digits");
                }
                hash = HexFormat.of().parseHex(hex);
            } else {
                hash = sha256(rest);
            }
            out.add(new Entry(tenant, hash));
        }
        return new ApiKeys(List.copyOf(out));
    }

    /** The tenant of a presented key, checking every entry so timing does not depend on which matched. */
    public Optional<String> tenantOf(String presentedKey) {
        if (presentedKey == null || presentedKey.isEmpty()) {
            return Optional.empty();
        }
        byte[] h = sha256(presentedKey);
        String found = null;
        for (Entry e : entries) {
            if (MessageDigest.isEqual(h, e.hash) && found == null) {
                found = e.tenant;
            }
        }
        return Optional.ofNullable(found);
    }

    /** The tenant from an {@code Authorization: Bearer <key>} header value. */
    public Optional<String> tenantOfAuthorization(String header) {
        if (header == null) {
            return Optional.empty();
        }
        String h = header.trim();
        if (h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return tenantOf(h.substring(7).trim());
        }
        return Optional.empty();
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    public static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String sha256Hex(String s) {
        return HexFormat.of().formatHex(sha256(s));
    }

    private static String mask(String s) {
        int i = s.indexOf(':');
        return i < 0 ? "***" : s.substring(0, i) + ":***";
    }
}
