package dev.vigil.common.config;

import java.net.URI;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * URLs as they may be shown (logs, status endpoints): only scheme, host and port. A URL carries secrets in its user
 * info (a password), its query (a token) and often its path too (Slack, Teams and Discord webhooks put the secret
 * there), so a shown URL keeps none of them: a non-empty path or query becomes {@code /***}.
 */
public final class Redact {
    /** A URL: a scheme, "://", then everything up to whitespace, a comma, a quote or a closing bracket. */
    private static final Pattern URL = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s,\"'\\]]+");

    private Redact() {
    }

    /** {@code text} with every URL in it cut to {@code scheme://host[:port]} plus {@code /***} when it had more. */
    public static String urls(String text) {
        if (text == null || !text.contains("://")) {
            return text;
        }
        Matcher m = URL.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(url(m.group())));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static String url(String u) {
        int schemeEnd = u.indexOf("://");
        String scheme = u.substring(0, schemeEnd);
        try {
            URI uri = new URI(u);
            if (uri.getHost() != null) {
                boolean more = (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/"))
                        || uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null;
                return scheme + "://" + uri.getHost() + (uri.getPort() >= 0 ? ":" + uri.getPort() : "") + (more ? "/***" : "");
            }
        } catch (java.net.URISyntaxException e) {
            // not parseable: hide all but the scheme
        }
        return scheme + "://***";
    }
}
