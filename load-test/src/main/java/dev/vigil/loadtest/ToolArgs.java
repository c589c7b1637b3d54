package dev.vigil.loadtest;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The command-line options of the long-run tools ({@code --name value}, {@code --name=value}, flags): {@code --help}
 * prints the usage and exits 0; an option the tool does not know, or one without its value, prints what was wrong and
 * the usage and exits 2, before anything starts (an unknown option was silently ignored, and {@code --help} started a
 * run).
 */
final class ToolArgs {
    private ToolArgs() {
    }

    /**
     * @param usage   the tool's usage text (printed on --help and on an error)
     * @param options the options that take a value
     * @param flags   the options that take none
     */
    static Map<String, String> parse(String[] args, String usage, Set<String> options, Set<String> flags) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println(usage);
                System.exit(0);
            }
            if (!a.startsWith("--")) {
                fail("unexpected argument '" + a + "'", usage);
            }
            String k = a.substring(2);
            String v = null;
            int eq = k.indexOf('=');
            if (eq > 0) {
                v = k.substring(eq + 1);
                k = k.substring(0, eq);
            }
            if (flags.contains(k) && v == null) {
                m.put(k, "true");
            } else if (options.contains(k)) {
                if (v == null) {
                    if (i + 1 >= args.length) {
                        fail("option --" + k + " needs a value", usage);
                    }
                    v = args[++i];
                }
                m.put(k, v);
            } else {
                fail("unknown option --" + k, usage);
            }
        }
        return m;
    }

    private static void fail(String what, String usage) {
        System.err.println(what);
        System.err.println(usage);
        System.exit(2);
    }
}
