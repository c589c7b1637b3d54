package dev.vigil.query.health;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Every PromQL query of the Grafana dashboards in {@code dashboards/json/}: panel target
 * {@code expr}s (with template variables substituted) and the {@code label_values(...)} selectors
 * of query variables. Reusable by the end-to-end test, which runs each against a live query API
 * fed with demo traffic and expects data.
 */
public final class DashboardQueries {
    /** One query: dashboard title, panel title (or "variable NAME"), PromQL. */
    public record Query(String dashboard, String panel, String expr) {
    }

    private static final Pattern VAR = Pattern.compile("\\$\\{?([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?}?");
    private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\((.*),\\s*([A-Za-z_][A-Za-z0-9_]*)\\)\\s*");

    private DashboardQueries() {
    }

    /** The repository's dashboards directory, found from the working directory (module or repo root). */
    public static Path dashboardsDir() {
        Path here = Path.of("").toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent())
            if (Files.isDirectory(p.resolve("dashboards/json"))) return p.resolve("dashboards");
        throw new IllegalStateException("no dashboards/json above " + here);
    }

    /** Queries of every dashboard in {@code dir/json} (or {@code dir} itself), variables set to "all" ({@code .*}). */
    public static List<Query> load(Path dir) throws IOException {
        return load(dir, Map.of());
    }

    /**
     * As {@link #load(Path)}, with explicit values for some template variables (others: {@code .*},
     * Grafana's built-ins: {@code $__rate_interval} 1m, {@code $__interval} 30s, {@code $__range} 1h).
     */
    public static List<Query> load(Path dir, Map<String, String> variables) throws IOException {
        Path json = Files.isDirectory(dir.resolve("json")) ? dir.resolve("json") : dir;
        List<Path> files;
        try (Stream<Path> s = Files.list(json)) {
            files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        ObjectMapper mapper = new ObjectMapper();
        List<Query> out = new ArrayList<>();
        for (Path f : files) {
            JsonNode d = mapper.readTree(f.toFile());
            String title = d.path("title").asText(f.getFileName().toString());
            Map<String, String> vars = new HashMap<>();
            vars.put("__rate_interval", "1m");
            vars.put("__interval", "30s");
            vars.put("__range", "1h");
            for (JsonNode v : d.path("templating").path("list")) vars.put(v.path("name").asText(), ".*");
            vars.putAll(variables);
            for (JsonNode v : d.path("templating").path("list")) {
                JsonNode q = v.path("query");
                String text = q.isTextual() ? q.asText() : q.path("query").asText("");
                Matcher m = LABEL_VALUES.matcher(text);
                if (m.matches()) out.add(new Query(title, "variable " + v.path("name").asText(), substitute(m.group(1), vars)));
            }
            List<JsonNode> panels = new ArrayList<>();
            for (JsonNode p : d.path("panels")) {
                panels.add(p);
                for (JsonNode inner : p.path("panels")) panels.add(inner);
            }
            for (JsonNode p : panels) {
                for (JsonNode t : p.path("targets")) {
                    String expr = t.path("expr").asText("");
                    if (!expr.isBlank()) out.add(new Query(title, p.path("title").asText(), substitute(expr, vars)));
                }
            }
        }
        return out;
    }

    static String substitute(String expr, Map<String, String> vars) {
        Matcher m = VAR.matcher(expr);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String v = vars.get(m.group(1));
            m.appendReplacement(b, Matcher.quoteReplacement(v == null ? m.group() : v));
        }
        m.appendTail(b);
        return b.toString();
    }
}
