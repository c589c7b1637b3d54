package dev.vigil.loadtest;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Compares a {@link Ledger} (what the gateway acknowledged) with what Vigil stored, per series:
 * the event count and, per measure, the count and the sum of the values must be equal (sums are
 * multiples of 1/64 in accounting mode, so they compare exactly). Every difference is listed.
 *
 * <p>Two readers: {@code sql} reads ClickHouse's {@code vigil_rollup_10s} over its HTTP interface
 * (always aggregating with GROUP BY, as docs/schema.md demands); {@code promql} asks the query
 * API's Prometheus endpoint for {@code last_over_time(<type>_events_total{run="..."}[W])},
 * {@code <type>_<measure>_count} and {@code _sum} at a bucket-aligned instant after the run
 * (the event counters are cumulative from the start of the selection, so this is the exact total
 * of the window). Stored values between acked and acked + in-doubt count as neither lost nor
 * duplicated (a batch that was never acknowledged may or may not have been written).
 *
 * <pre>
 * java -cp ... dev.vigil.loadtest.LossCheck --ledger ledger.json --clickhouse http://127.0.0.1:8123
 *      [--tenant demo] [--query-api http://127.0.0.1:9090 --api-key KEY] [--via sql|promql|both] [--wait 120s]
 * </pre>
 */
public final class LossCheck {
    static final String USAGE = """
            usage: java -cp 'load-test/target/classes:load-test/target/lib/*' dev.vigil.loadtest.LossCheck --ledger ledger.json
                     --clickhouse http://127.0.0.1:8123 [--tenant demo] [--query-api http://127.0.0.1:9090 --api-key KEY]
                     [--via sql|promql|both] [--wait 120s]
            Compares what the gateway acknowledged (the ledger) with what Vigil stored, per series (docs/load-test.md).""";

    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** Outcome of one comparison. */
    record Result(String via, long ackedEvents, long inDoubtEvents, long storedEvents, long lost, long duplicated, long sumMismatches,
                  List<String> differences, long checkedSeries) {
        boolean ok() {
            return lost == 0 && duplicated == 0 && sumMismatches == 0 && differences.isEmpty();
        }

        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("via", via);
            m.put("series", checkedSeries);
            m.put("acked_events", ackedEvents);
            m.put("in_doubt_events", inDoubtEvents);
            m.put("stored_events", storedEvents);
            m.put("lost", lost);
            m.put("duplicated", duplicated);
            m.put("sum_mismatches", sumMismatches);
            m.put("ok", ok());
            m.put("differences", differences.size() > 50 ? differences.subList(0, 50) : differences);
            m.put("differences_total", differences.size());
            return m;
        }

        String text() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT, "loss check via %s: %d series, acked %d events (+%d in doubt), stored %d, lost %d, duplicated %d, sum mismatches %d: %s%n",
                    via, checkedSeries, ackedEvents, inDoubtEvents, storedEvents, lost, duplicated, sumMismatches, ok() ? "OK" : "FAILED"));
            differences.stream().limit(50).forEach(d -> sb.append("  ").append(d).append('\n'));
            if (differences.size() > 50) {
                sb.append("  ... ").append(differences.size() - 50).append(" more\n");
            }
            return sb.toString();
        }
    }

    /** Stored per (series key, measure): count and sum. */
    record Stored(long count, double sum) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> m = ToolArgs.parse(args, USAGE, java.util.Set.of("ledger", "clickhouse", "tenant", "query-api", "api-key", "via",
                "wait"), java.util.Set.of());
        Ledger l = Ledger.read(Path.of(m.getOrDefault("ledger", "ledger.json")));
        String tenant = m.getOrDefault("tenant", l.tenant.isEmpty() ? "demo" : l.tenant);
        String via = m.getOrDefault("via", "sql");
        long waitMs = LoadTestMain.parseDuration(m.getOrDefault("wait", "120s"));
        boolean ok = true;
        if (!via.equals("promql")) {
            Result r = await(() -> compare(l, "sql", readSql(m.getOrDefault("clickhouse", "http://127.0.0.1:8123"), tenant, l.run)), waitMs);
            System.out.print(r.text());
            System.out.println("LOSS-JSON " + JSON.writeValueAsString(r.json()));
            ok &= r.ok();
        }
        if (!via.equals("sql")) {
            Result r = await(() -> compare(l, "promql", readPromql(m.getOrDefault("query-api", "http://127.0.0.1:9090"), m.get("api-key"), l, 3 * 3600)), waitMs);
            System.out.print(r.text());
            System.out.println("LOSS-JSON " + JSON.writeValueAsString(r.json()));
            ok &= r.ok();
        }
        System.exit(ok ? 0 : 1);
    }

    interface Check {
        Result get() throws Exception;
    }

    /** Polls until the check passes (the aggregator flushes every couple of seconds) or the time is up; returns the last result. */
    static Result await(Check c, long waitMs) throws Exception {
        long deadline = System.currentTimeMillis() + waitMs;
        Result last = null;
        Exception lastErr = null;
        while (true) {
            try {
                last = c.get();
                lastErr = null;
                if (last.ok()) {
                    return last;
                }
            } catch (Exception e) {
                lastErr = e;
            }
            if (System.currentTimeMillis() > deadline) {
                if (last == null) {
                    throw lastErr;
                }
                return last;
            }
            Thread.sleep(2000);
        }
    }

    static Result compare(Ledger l, String via, Map<String, Map<String, Stored>> stored) {
        List<String> diffs = new ArrayList<>();
        long lost = 0;
        long dup = 0;
        long sumMis = 0;
        long storedEvents = 0;
        Map<String, Map<String, Ledger.Cell>> acked = l.acked();
        Map<String, Map<String, Ledger.Cell>> doubt = l.inDoubt();
        TreeSet<String> keys = new TreeSet<>(acked.keySet());
        keys.addAll(doubt.keySet());
        keys.addAll(stored.keySet());
        for (String k : keys) {
            Map<String, Ledger.Cell> a = acked.getOrDefault(k, Map.of());
            Map<String, Ledger.Cell> d = doubt.getOrDefault(k, Map.of());
            Map<String, Stored> s = stored.getOrDefault(k, Map.of());
            TreeSet<String> measures = new TreeSet<>(a.keySet());
            measures.addAll(d.keySet());
            measures.addAll(s.keySet());
            for (String meas : measures) {
                Ledger.Cell ac = a.get(meas);
                Ledger.Cell dc = d.get(meas);
                Stored sc = s.get(meas);
                long aCount = ac == null ? 0 : ac.count;
                long dCount = dc == null ? 0 : dc.count;
                long sCount = sc == null ? 0 : sc.count();
                String label = k.replace('\u0000', ',') + (meas.isEmpty() ? " [events]" : " [" + meas + "]");
                if (meas.isEmpty()) {
                    storedEvents += sCount;
                }
                if (sCount < aCount) {
                    if (meas.isEmpty()) {
                        lost += aCount - sCount;
                    }
                    diffs.add(label + ": acked " + aCount + ", stored " + sCount + " (lost " + (aCount - sCount) + ")");
                } else if (sCount > aCount + dCount) {
                    if (meas.isEmpty()) {
                        dup += sCount - aCount - dCount;
                    }
                    diffs.add(label + ": acked " + aCount + (dCount > 0 ? " (+" + dCount + " in doubt)" : "") + ", stored " + sCount
                            + " (duplicated " + (sCount - aCount - dCount) + ")");
                } else if (!meas.isEmpty() && sc != null && dCount == 0) {
                    double aSum = (ac == null ? 0 : ac.sum8) / 64.0;
                    if (aSum != sc.sum()) {
                        sumMis++;
                        diffs.add(label + ": sum acked " + aSum + ", stored " + sc.sum());
                    }
                }
            }
        }
        return new Result(via, l.ackedEvents(), l.inDoubtEvents(), storedEvents, lost, dup, sumMis, diffs, keys.size());
    }

    // ------------------------------------------------------------------ readers

    static String key(String type, Map<String, String> labels) {
        StringBuilder sb = new StringBuilder(type);
        new TreeMap<>(labels).forEach((k, v) -> sb.append('\u0000').append(k).append('=').append(v));
        return sb.toString();
    }

    /** ClickHouse SQL over the HTTP interface (the rollup tables merge eventually: always GROUP BY). */
    static Map<String, Map<String, Stored>> readSql(String chUrl, String tenant, String run) throws Exception {
        String sql = "SELECT name, measure, any(labels) AS lbl, sum(count) AS c, sum(sum) AS s FROM vigil_rollup_10s"
                + " WHERE tenant = {tenant:String} AND kind = 'event' AND labels['run'] = {run:String}"
                + " GROUP BY series_id, name, measure FORMAT JSONEachRow";
        String url = chUrl + "/?param_tenant=" + enc(tenant) + "&param_run=" + enc(run) + "&output_format_json_quote_64bit_integers=0";
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(sql)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("ClickHouse answered " + r.statusCode() + ": " + r.body());
        }
        Map<String, Map<String, Stored>> out = new TreeMap<>();
        for (String line : r.body().split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode j = JSON.readTree(line);
            Map<String, String> labels = new TreeMap<>();
            j.path("lbl").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
            String k = key(j.path("name").asText(), labels);
            Map<String, Stored> s = out.computeIfAbsent(k, x -> new TreeMap<>());
            Stored prev = s.get(j.path("measure").asText());
            long c = j.path("c").asLong();
            double sum = j.path("s").asDouble();
            s.put(j.path("measure").asText(), prev == null ? new Stored(c, sum) : new Stored(prev.count() + c, prev.sum() + sum));
        }
        return out;
    }

    /** The query API's PromQL: exact totals per series from the cumulative event counters. */
    static Map<String, Map<String, Stored>> readPromql(String queryApi, String apiKey, Ledger l, long windowSeconds) throws Exception {
        // bucket-aligned instant after every flushed bucket of the run
        long now = System.currentTimeMillis() / 1000;
        long at = (now / 10) * 10;
        Map<String, TreeSet<String>> metrics = new TreeMap<>(); // type -> measures ("" = events)
        for (Map<String, Map<String, Ledger.Cell>> m : List.of(l.acked(), l.inDoubt())) {
            m.forEach((k, ms) -> metrics.computeIfAbsent(Ledger.parseKey(k).getKey(), x -> new TreeSet<>()).addAll(ms.keySet()));
        }
        Map<String, Map<String, Stored>> out = new TreeMap<>();
        for (Map.Entry<String, TreeSet<String>> e : metrics.entrySet()) {
            String type = e.getKey();
            for (String meas : e.getValue()) {
                if (meas.isEmpty()) {
                    Map<String, Double> c = promVector(queryApi, apiKey, "last_over_time(" + type + "_events_total{run=\"" + l.run + "\"}[" + windowSeconds + "s])", at);
                    c.forEach((labels, v) -> put(out, labels, type, "", Math.round(v), null));
                } else {
                    String base = type + "_" + meas;
                    Map<String, Double> c = promVector(queryApi, apiKey, "last_over_time(" + base + "_count{run=\"" + l.run + "\"}[" + windowSeconds + "s])", at);
                    Map<String, Double> s = promVector(queryApi, apiKey, "last_over_time(" + base + "_sum{run=\"" + l.run + "\"}[" + windowSeconds + "s])", at);
                    c.forEach((labels, v) -> put(out, labels, type, meas, Math.round(v), s.getOrDefault(labels, Double.NaN)));
                }
            }
        }
        return out;
    }

    private static void put(Map<String, Map<String, Stored>> out, String labelsKey, String type, String meas, long count, Double sum) {
        Map<String, String> labels = new TreeMap<>();
        for (String kv : labelsKey.split("\u0000")) {
            if (!kv.isEmpty()) {
                int eq = kv.indexOf('=');
                labels.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        labels.remove("__name__");
        out.computeIfAbsent(key(type, labels), x -> new TreeMap<>()).put(meas, new Stored(count, sum == null ? count : sum));
    }

    /** Instant query; returns sorted-labels key ("k=v\0k=v") to value. */
    static Map<String, Double> promVector(String queryApi, String apiKey, String q, long atSeconds) throws Exception {
        String body = "query=" + enc(q) + "&time=" + atSeconds;
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(queryApi + "/api/v1/query")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/x-www-form-urlencoded").POST(HttpRequest.BodyPublishers.ofString(body));
        if (apiKey != null) {
            b.header("Authorization", "Bearer " + apiKey);
        }
        HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("query API answered " + r.statusCode() + " to " + q + ": " + r.body());
        }
        JsonNode j = JSON.readTree(r.body());
        Map<String, Double> out = new HashMap<>();
        for (JsonNode s : j.path("data").path("result")) {
            TreeMap<String, String> labels = new TreeMap<>();
            s.path("metric").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
            labels.remove("__name__");
            StringBuilder sb = new StringBuilder();
            labels.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : "\u0000").append(k).append('=').append(v));
            out.put(sb.toString(), Double.parseDouble(s.path("value").get(1).asText()));
        }
        return out;
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
