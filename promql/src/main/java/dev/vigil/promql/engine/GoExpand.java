package dev.vigil.promql.engine;

/** Go regexp.Expand semantics for label_replace replacement templates. */
final class GoExpand {
    private GoExpand() {}

    static String expand(String template, java.util.regex.Matcher m) {
        StringBuilder dst = new StringBuilder();
        String t = template;
        while (!t.isEmpty()) {
            int i = t.indexOf('$');
            if (i < 0) break;
            dst.append(t, 0, i);
            t = t.substring(i + 1);
            if (!t.isEmpty() && t.charAt(0) == '$') { dst.append('$'); t = t.substring(1); continue; }
            // extract
            String str = t;
            boolean brace = false;
            if (!str.isEmpty() && str.charAt(0) == '{') { brace = true; str = str.substring(1); }
            int k = 0;
            while (k < str.length()) {
                int cp = str.codePointAt(k);
                if (!Character.isLetter(cp) && !Character.isDigit(cp) && cp != '_') break;
                k += Character.charCount(cp);
            }
            if (k == 0 || (brace && (k >= str.length() || str.charAt(k) != '}'))) { dst.append('$'); continue; }
            String name = str.substring(0, k);
            String rest = str.substring(brace ? k + 1 : k);
            int num = 0;
            for (int j = 0; j < name.length(); j++) {
                char c = name.charAt(j);
                if (c < '0' || c > '9' || num >= 100_000_000) { num = -1; break; }
                num = num * 10 + (c - '0');
            }
            if (name.charAt(0) == '0' && name.length() > 1) num = -1;
            t = rest;
            if (num >= 0) {
                if (num <= m.groupCount() && m.group(num) != null) dst.append(m.group(num));
            } else {
                try {
                    String g = m.group(name);
                    if (g != null) dst.append(g);
                } catch (IllegalArgumentException ignored) { }
            }
        }
        dst.append(t);
        return dst.toString();
    }
}
