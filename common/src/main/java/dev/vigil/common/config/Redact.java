package dev.vigil.common.config;

import java.util.regex.Pattern;

/**
 * URLs as they may be shown (logs, status endpoints): credentials a URL can carry, its user info and its query, are
 * replaced by {@code ***}. A notification webhook or a ClickHouse URL often holds a token or a password there.
 */
public final class Redact {
    private static final Pattern USER_INFO = Pattern.compile("(://)[^/@\\s,;]+@");
    private static final Pattern QUERY = Pattern.compile("(://[^\\s,;]*?)\\?[^\\s,;]*");

    private Redact() {
    }

    /** {@code text} with the user info and query of every URL in it replaced by {@code ***}. */
    public static String urls(String text) {
        if (text == null || !text.contains("://")) {
            return text;
        }
        String s = USER_INFO.matcher(text).replaceAll("$1***@");
        return QUERY.matcher(s).replaceAll("$1?***");
    }
}
