package dev.vigil.loadtest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What the gateway acknowledged, per series: the number of events and, per measure, the number
 * of values and their sum. Sums are kept in units of 1/64 as longs (the workload quantizes every
 * value to a multiple of 1/64 in accounting mode), so they are exact in any order.
 *
 * <p>{@code acked} holds events of 2xx answers that the answer did not list as rejected.
 * {@code inDoubt} holds events of batches that were never acknowledged (every retry failed, or
 * the run ended): they may or may not be stored, so the check accepts stored values between
 * {@code acked} and {@code acked + inDoubt} and reports them separately.
 */
final class Ledger {
    /** Per (series key, measure): count and sum in 1/64 units (field sum8 holds sum*64). Measure "" = the event count. */
    static final class Cell {
        long count;
        long sum8;
        boolean inexact;
    }

    final String run;
    final String tenant;
    private final Map<String, Map<String, Cell>> acked = new TreeMap<>();
    private final Map<String, Map<String, Cell>> inDoubt = new TreeMap<>();
    private long ackedEvents;
    private long inDoubtEvents;
    private long rejectedEvents;
    private long unexpectedRejections;

    Ledger(String run, String tenant) {
        this.run = run;
        this.tenant = tenant;
    }

    synchronized void ack(List<Workload.Ev> events, java.util.Set<Integer> rejectedIdx, Map<String, String> extraDims) {
        for (int i = 0; i < events.size(); i++) {
            Workload.Ev e = events.get(i);
            boolean rej = rejectedIdx.contains(i);
            if (rej) {
                rejectedEvents++;
                if (!e.invalid()) {
                    unexpectedRejections++;
                }
                continue;
            }
            add(acked, e, extraDims);
            ackedEvents++;
        }
    }

    synchronized void doubt(List<Workload.Ev> events, Map<String, String> extraDims) {
        for (Workload.Ev e : events) {
            if (!e.invalid()) {
                add(inDoubt, e, extraDims);
                inDoubtEvents++;
            }
        }
    }

    private static void add(Map<String, Map<String, Cell>> m, Workload.Ev e, Map<String, String> extraDims) {
        String key = key(e, extraDims);
        Map<String, Cell> s = m.computeIfAbsent(key, k -> new TreeMap<>());
        Cell c = s.computeIfAbsent("", k -> new Cell());
        c.count++;
        c.sum8 += 64;
        for (Map.Entry<String, Double> me : e.measures().entrySet()) {
            Cell mc = s.computeIfAbsent(me.getKey(), k -> new Cell());
            mc.count++;
            double v8 = me.getValue() * 64;
            if (v8 != Math.rint(v8)) {
                mc.inexact = true;
            }
            mc.sum8 += Math.round(v8);
        }
    }

    static String key(Workload.Ev e, Map<String, String> extraDims) {
        if (extraDims.isEmpty()) {
            return e.seriesKey();
        }
        Map<String, String> d = new TreeMap<>(e.dims());
        d.putAll(extraDims);
        return new Workload.Ev(e.type(), e.ts(), d, e.measures(), null, null, false, null).seriesKey();
    }

    synchronized long ackedEvents() {
        return ackedEvents;
    }

    synchronized long inDoubtEvents() {
        return inDoubtEvents;
    }

    synchronized long unexpectedRejections() {
        return unexpectedRejections;
    }

    synchronized Map<String, Map<String, Cell>> acked() {
        return acked;
    }

    synchronized Map<String, Map<String, Cell>> inDoubt() {
        return inDoubt;
    }

    synchronized ObjectNode toJson(ObjectMapper om) {
        ObjectNode root = om.createObjectNode();
        root.put("run", run);
        root.put("tenant", tenant);
        root.put("acked_events", ackedEvents);
        root.put("in_doubt_events", inDoubtEvents);
        root.put("rejected_events", rejectedEvents);
        root.put("unexpected_rejections", unexpectedRejections);
        root.set("acked", cells(om, acked));
        root.set("in_doubt", cells(om, inDoubt));
        return root;
    }

    private static ObjectNode cells(ObjectMapper om, Map<String, Map<String, Cell>> m) {
        ObjectNode o = om.createObjectNode();
        m.forEach((k, ms) -> {
            ObjectNode s = o.putObject(k.replace('\u0000', '|'));
            ms.forEach((meas, c) -> s.putArray(meas).add(c.count).add(c.sum8));
        });
        return o;
    }

    static Ledger fromJson(JsonNode root) {
        Ledger l = new Ledger(root.path("run").asText(), root.path("tenant").asText());
        l.ackedEvents = root.path("acked_events").asLong();
        l.inDoubtEvents = root.path("in_doubt_events").asLong();
        l.rejectedEvents = root.path("rejected_events").asLong();
        l.unexpectedRejections = root.path("unexpected_rejections").asLong();
        read(root.path("acked"), l.acked);
        read(root.path("in_doubt"), l.inDoubt);
        return l;
    }

    private static void read(JsonNode n, Map<String, Map<String, Cell>> into) {
        n.properties().forEach(e -> {
            Map<String, Cell> s = new TreeMap<>();
            e.getValue().properties().forEach(me -> {
                Cell c = new Cell();
                c.count = me.getValue().get(0).asLong();
                c.sum8 = me.getValue().get(1).asLong();
                s.put(me.getKey(), c);
            });
            into.put(e.getKey().replace('|', '\u0000'), s);
        });
    }

    void write(Path p) throws IOException {
        ObjectMapper om = new ObjectMapper();
        Files.writeString(p, om.writeValueAsString(toJson(om)));
    }

    static Ledger read(Path p) throws IOException {
        return fromJson(new ObjectMapper().readTree(p.toFile()));
    }

    /** "type|k=v|k=v" to (type, dims). */
    static Map.Entry<String, Map<String, String>> parseKey(String key) {
        String[] parts = key.split("\u0000");
        Map<String, String> d = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            d.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
        }
        return Map.entry(parts[0], d);
    }
}
