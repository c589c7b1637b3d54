package dev.vigil.loadtest;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The soak (docs/reliability.md): the whole stack as child JVMs, a short peak probe, then the
 * accounting workload at half the measured peak for a bounded time; heap (jstat) and RSS
 * (/proc) of every service sampled every 10 s into memory.csv, a PNG plot (gnuplot, if
 * installed), freshness probes throughout ({@link FreshnessProbe}), the load report and the loss
 * check at the end.
 *
 * <pre>
 * java -cp load-test/target/classes:load-test/target/lib/* dev.vigil.loadtest.SoakMain \
 *   [--duration 30m] [--rate R (default: half the probed peak)] [--max-rate CAP] [--warmup 20s (at 20,000 ev/s, before the probe)]
 *   [--probe 20s] [--ports 32000] [--out DIR] [--repo .]
 *   [--freshness-interval 2s]
 * </pre>
 */
public final class SoakMain {
    static final String USAGE = """
            usage: VIGIL_CHDB_LIB=$(scripts/fetch-chdb.sh) java --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \\
                     -cp 'load-test/target/classes:load-test/target/lib/*' dev.vigil.loadtest.SoakMain \\
                     [--duration 30m (at most 60m)] [--rate R (default: half the probed peak)] [--max-rate CAP]
                     [--warmup 20s] [--probe 20s] [--ports 32000] [--out DIR] [--repo .] [--freshness-interval 2s] [--chdb LIB]
            The soak at half the pipeline's peak: memory, freshness, CPU per service, loss check (docs/reliability.md).""";

    public static void main(String[] args) throws Exception {
        Map<String, String> m = ToolArgs.parse(args, USAGE, java.util.Set.of("duration", "rate", "max-rate", "warmup", "probe", "ports",
                "out", "repo", "freshness-interval", "chdb"), java.util.Set.of());
        Path repo = Path.of(m.getOrDefault("repo", ".")).toAbsolutePath().normalize();
        Path out = Path.of(m.getOrDefault("out", "/tmp/vigil-soak-" + System.currentTimeMillis()));
        Files.createDirectories(out);
        long durMs = LoadTestMain.parseDuration(m.getOrDefault("duration", "30m"));
        if (durMs > 3_600_000L) {
            throw new IllegalArgumentException("--duration at most 60m");
        }
        String chdb = m.getOrDefault("chdb", System.getenv("VIGIL_CHDB_LIB"));
        Path root = Stack.snapshot(repo, out.resolve("snapshot"));
        String jstat = Path.of(ProcessHandle.current().info().command().orElse("java")).resolveSibling("jstat").toString();
        try (Stack s = new Stack(root, out.resolve("stack"), Stack.Ports.base(Integer.parseInt(m.getOrDefault("ports", "32000"))), chdb)) {
            s.startAll(Stack.ALL, 180_000);
            double rate;
            Map<String, Object> probe = null;
            if (m.containsKey("rate")) {
                rate = Double.parseDouble(m.get("rate"));
            } else {
                // Every service starts cold (JIT, connection pools, first parts and merges): a probe
                // run straight after start measured anything from 35,775 to 101,250 ev/s on the same
                // quiet machine. Warm the whole path first, let the aggregator drain, then probe.
                long warmMs = LoadTestMain.parseDuration(m.getOrDefault("warmup", "20s"));
                if (warmMs > 0) {
                    new LoadTestMain(burst(s, 20_000, warmMs, "warm")).run();
                    Thread.sleep(15_000);
                }
                long probeMs = LoadTestMain.parseDuration(m.getOrDefault("probe", "20s"));
                LoadTestMain.Options po = burst(s, 200_000, probeMs, "probe");
                // The pipeline's peak: the probe's events over the time from its start until every
                // aggregator job reading the events has consumed them. Kafka absorbs a burst, so the
                // gateway's accepted rate alone overstates what the pipeline sustains; the
                // aggregator's rate during the burst understates it (the gateway and the generator
                // take the CPU meanwhile). Events over the time to absorb them is what it sustains.
                Map<String, Long> c0 = consumedByJob(s);
                long probeStart = System.nanoTime();
                LoadTestMain.Report pr = new LoadTestMain(po).run();
                double gatewaySecs = (System.nanoTime() - probeStart) / 1e9;
                long accepted = pr.eventsAccepted();
                long drainDeadline = System.nanoTime() + 300_000_000_000L;
                Map<String, Long> c1 = consumedByJob(s);
                while (System.nanoTime() < drainDeadline && c0.keySet().stream().anyMatch(j -> c1.getOrDefault(j, 0L) - c0.get(j) < accepted)) {
                    Thread.sleep(250);
                    c1.putAll(consumedByJob(s));
                }
                double pipelineSecs = (System.nanoTime() - probeStart) / 1e9;
                probe = pr.json();
                long gatewayPeak = ((Number) probe.get("accepted_events_per_sec")).longValue();
                double peak = accepted / pipelineSecs;
                probe.put("gateway_seconds", Math.round(gatewaySecs * 10) / 10.0);
                probe.put("pipeline_seconds_until_consumed", Math.round(pipelineSecs * 10) / 10.0);
                probe.put("pipeline_peak_events_per_sec", Math.round(peak));
                System.out.printf(Locale.ROOT, "soak: peak probe: gateway accepted %,d ev/s (%,d events); every events job consumed them %.1f s after the start: pipeline peak %,.0f ev/s%n",
                        gatewayPeak, accepted, pipelineSecs, peak);
                rate = Math.max(500, Math.min(peak / 2.0, Double.parseDouble(m.getOrDefault("max-rate", "1e9"))));
                System.out.printf(Locale.ROOT, "soak: soaking at %,.0f ev/s%n", rate);
                Thread.sleep(5_000); // the probe is consumed; let its last flushes land
            }
            String run = "soak" + Long.toString(System.currentTimeMillis() % 100_000_000L, 36);
            LoadTestMain.Options o = new LoadTestMain.Options(URI.create(s.gatewayUrl()), s.apiKey, rate, 500, durMs, 8, "json", "accounting", 0,
                    2000, null, true, 0, out.resolve("soak-ledger.json"), run, 90_000, 10_000, true, true, false);
            LoadTestMain lt = new LoadTestMain(o);
            List<String> csv = new ArrayList<>();
            csv.add("t_s," + String.join(",", Stack.ALL.stream().map(n -> n + "_heap_mib," + n + "_rss_mib").toList()));
            long t0 = System.currentTimeMillis();
            Thread sampler = Thread.ofPlatform().daemon().name("soak-sampler").start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    StringBuilder row = new StringBuilder(Long.toString((System.currentTimeMillis() - t0) / 1000));
                    for (String n : Stack.ALL) {
                        row.append(',').append(String.format(Locale.ROOT, "%.1f", heapMiB(jstat, s.pid(n))))
                                .append(',').append(String.format(Locale.ROOT, "%.1f", s.rssKiB(n) / 1024.0));
                    }
                    synchronized (csv) {
                        csv.add(row.toString());
                        try {
                            Files.write(out.resolve("memory.csv"), csv);
                        } catch (Exception ignored) {
                            // next time
                        }
                    }
                    try {
                        Thread.sleep(10_000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            // freshness (gateway ack to visible in a PromQL query) measured beside the load
            FreshnessProbe fresh = new FreshnessProbe(s.gatewayUrl(), s.queryUrl(), s.apiKey,
                    LoadTestMain.parseDuration(m.getOrDefault("freshness-interval", "2s")), 60_000, 10_000);
            Thread prober = Thread.ofPlatform().daemon().name("soak-freshness").start(fresh);
            Map<String, Double> cpu0 = cpuByService(s);
            long loadStart = System.nanoTime();
            LoadTestMain.Report rep = lt.run();
            Map<String, Object> cpu = cpuShare(s, cpu0, (System.nanoTime() - loadStart) / 1e9, rep.eventsAccepted());
            System.out.println("soak: CPU by service over the load " + cpu);
            prober.interrupt();
            prober.join(70_000);
            sampler.interrupt();
            sampler.join(15_000);
            System.out.println("soak: freshness (gateway 2xx to visible in a PromQL query) " + fresh.json());
            System.out.print(rep.text());
            lt.ledger.write(out.resolve("soak-ledger.json"));
            LossCheck.Result r = LossCheck.await(() -> LossCheck.compare(lt.ledger, "sql", LossCheck.readSql(s.clickhouseUrl(), s.tenant, run)), 600_000);
            System.out.print(r.text());
            // after the loss check: every event of the load is stored by then, so the rows written (./bench's rows per
            // event) include the last flushes of the jobs with 10 s flushes
            saveMetrics(s, out);
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("rate", rate);
            summary.put("duration_s", durMs / 1000);
            summary.put("probe", probe);
            summary.put("load", rep.json());
            summary.put("freshness", fresh.json());
            summary.put("cpu", cpu);
            summary.put("loss", r.json());
            summary.put("memory", flatness(csv));
            Files.writeString(out.resolve("soak-summary.json"), FaultMain.JSON.writeValueAsString(summary));
            plot(out);
            System.out.println("SOAK-SUMMARY " + FaultMain.JSON.copy().disable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(summary));
        }
    }

    /** An accounting load of batches of 500 over 8 connections at {@code rate} for {@code ms}: the warm-up and the peak probe. */
    static LoadTestMain.Options burst(Stack s, double rate, long ms, String runPrefix) {
        return new LoadTestMain.Options(URI.create(s.gatewayUrl()), s.apiKey, rate, 500, ms, 8, "json", "accounting",
                0, 200, null, true, 0, null, runPrefix + Long.toString(System.currentTimeMillis() % 1_000_000, 36), 10_000, 10_000, false,
                true, false);
    }

    /** Every service's /metrics after the load and its loss check, for the figures behind the summary (per-table insert times, rows written, lag, ...). */
    static void saveMetrics(Stack s, Path out) {
        for (String n : Stack.ALL) {
            try {
                int port = s.metricsPort(n);
                if (port <= 0) {
                    continue;
                }
                Files.writeString(out.resolve(n + "-metrics.txt"), s.fetch(port, "/metrics"));
            } catch (Exception e) {
                System.out.println("soak: no metrics from " + n + " (" + e.getMessage() + ")");
            }
        }
    }

    /** records_consumed of every running aggregator job reading the events topic, from its admin API. */
    static Map<String, Long> consumedByJob(Stack s) throws Exception {
        Map<String, Long> out = new LinkedHashMap<>();
        for (com.fasterxml.jackson.databind.JsonNode j : FaultMain.JSON.readTree(s.fetch(s.metricsPort("aggregator"), "/api/v1/jobs")).path("jobs")) {
            // the jobs that read the events topic and run (samples jobs read another topic)
            if (j.path("spec").path("source").asText().endsWith("events") && List.of("running", "retrying").contains(j.path("state").asText())) {
                out.put(j.path("name").asText(), j.path("records_consumed").asLong());
            }
        }
        return out;
    }

    static Map<String, Double> cpuByService(Stack s) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (String n : Stack.ALL) {
            m.put(n, s.cpuSeconds(n));
        }
        m.put("load-generator (this JVM)", ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(-1.0));
        return m;
    }

    /** Per service over the load: cores used on average and microseconds of CPU per accepted event. */
    static Map<String, Object> cpuShare(Stack s, Map<String, Double> before, double seconds, long events) {
        Map<String, Object> out = new LinkedHashMap<>();
        double total = 0;
        for (Map.Entry<String, Double> e : cpuByService(s).entrySet()) {
            double used = e.getValue() - before.getOrDefault(e.getKey(), 0.0);
            total += used;
            out.put(e.getKey(), Map.of("cores", Math.round(used / seconds * 100) / 100.0,
                    "us_per_event", events == 0 ? 0 : Math.round(used * 1e6 / events * 100) / 100.0));
        }
        out.put("total_cores", Math.round(total / seconds * 100) / 100.0);
        return out;
    }

    /** Heap used (S0U+S1U+EU+OU) in MiB via jstat, or -1. */
    static double heapMiB(String jstat, long pid) {
        try {
            Process p = new ProcessBuilder(jstat, "-gc", Long.toString(pid)).redirectErrorStream(true).start();
            String outp = new String(p.getInputStream().readAllBytes());
            p.waitFor(10, TimeUnit.SECONDS);
            String[] lines = outp.trim().split("\n");
            String[] h = lines[0].trim().split("\\s+");
            String[] v = lines[lines.length - 1].trim().split("\\s+");
            double kb = 0;
            for (int i = 0; i < h.length; i++) {
                if (List.of("S0U", "S1U", "EU", "OU").contains(h[i])) {
                    kb += Double.parseDouble(v[i]);
                }
            }
            return kb / 1024.0;
        } catch (Exception e) {
            return -1;
        }
    }

    /** Per column: mean of the second fifth vs mean of the last fifth of the samples (the first fifth is warm-up). */
    static Map<String, Object> flatness(List<String> csv) {
        Map<String, Object> out = new LinkedHashMap<>();
        List<String> rows;
        synchronized (csv) {
            rows = new ArrayList<>(csv);
        }
        if (rows.size() < 6) {
            return out;
        }
        String[] head = rows.get(0).split(",");
        List<double[]> data = rows.subList(1, rows.size()).stream().map(r -> java.util.Arrays.stream(r.split(",")).mapToDouble(Double::parseDouble).toArray()).toList();
        int n = data.size();
        for (int c = 1; c < head.length; c++) {
            final int col = c;
            double early = data.subList(n / 5, 2 * n / 5).stream().mapToDouble(d -> d[col]).average().orElse(0);
            double late = data.subList(4 * n / 5, n).stream().mapToDouble(d -> d[col]).average().orElse(0);
            double max = data.stream().mapToDouble(d -> d[col]).max().orElse(0);
            out.put(head[c], Map.of("early_mean", Math.round(early), "late_mean", Math.round(late), "max", Math.round(max),
                    "change_pct", early == 0 ? 0 : Math.round((late - early) / early * 1000) / 10.0));
        }
        return out;
    }

    /** memory.png from memory.csv with gnuplot, when installed (apt-get install gnuplot-nox). */
    static void plot(Path out) {
        try {
            String[] names = Stack.ALL.toArray(String[]::new);
            StringBuilder g = new StringBuilder();
            g.append("set terminal png size 1200,700\nset output '").append(out.resolve("memory.png")).append("'\n");
            g.append("set datafile separator ','\nset key outside right\nset xlabel 'seconds'\nset ylabel 'MiB'\n");
            g.append("set title 'Vigil soak: heap used (solid) and RSS (dashed) per service'\nplot ");
            for (int i = 0; i < names.length; i++) {
                int heapCol = 2 + 2 * i;
                g.append(i == 0 ? "" : ", ").append("'").append(out.resolve("memory.csv")).append("' using 1:").append(heapCol)
                        .append(" skip 1 with lines lw 2 lc ").append(i + 1).append(" title '").append(names[i]).append(" heap'");
                g.append(", '").append(out.resolve("memory.csv")).append("' using 1:").append(heapCol + 1)
                        .append(" skip 1 with lines dt 2 lc ").append(i + 1).append(" title '").append(names[i]).append(" RSS'");
            }
            g.append('\n');
            Files.writeString(out.resolve("memory.gp"), g.toString());
            Process p = new ProcessBuilder("gnuplot", out.resolve("memory.gp").toString()).inheritIO().start();
            p.waitFor(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            System.out.println("soak: no plot (" + e.getMessage() + "); install gnuplot-nox");
        }
    }
}
