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

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * Scripted fault scenarios under load, each bounded in time and ending with the loss-accounting
 * check (docs/reliability.md). Loopback only; every process is a child started here, ended by PID.
 *
 * <pre>
 * java -cp load-test/target/classes:load-test/target/lib/* dev.vigil.loadtest.FaultMain \
 *   [--scenarios all|gateway-kill,aggregator-kill,kafka-restart,clickhouse-restart,clickhouse-slow,disk-full]
 *   [--rate 2000] [--duration 40s] [--batch 100] [--connections 4] [--ports 31000] [--out DIR] [--repo .] [--no-snapshot]
 * </pre>
 */
public final class FaultMain {
    static final String USAGE = """
            usage: VIGIL_CHDB_LIB=$(scripts/fetch-chdb.sh) java --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \\
                     -cp 'load-test/target/classes:load-test/target/lib/*' dev.vigil.loadtest.FaultMain \\
                     [--scenarios all|baseline,gateway-kill,aggregator-kill,kafka-restart,clickhouse-restart,clickhouse-slow,disk-full]
                     [--rate 2000] [--duration 40s] [--batch 100] [--connections 4] [--ports 31000] [--out DIR] [--repo .]
                     [--chdb LIB] [--no-snapshot]
            Scripted faults under load on loopback, each ending with the loss accounting (docs/reliability.md).""";

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One scenario's outcome (a row of the reliability table). */
    record Outcome(String scenario, String fault, long acked, long inDoubt, long stored, long lost, long duplicated, long sumMismatches,
                   long backInServiceMs, long ingestGapMs, long convergeMs, boolean ok, String via, Map<String, Object> load,
                   List<String> differences, String notes) {
    }

    interface Fault {
        /** Injects the fault(s); returns the longest time until the faulted service was back (ms). */
        long inject(Stack s, long loadStartNanos) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> m = ToolArgs.parse(args, USAGE, java.util.Set.of("scenarios", "rate", "duration", "batch", "connections",
                "ports", "out", "repo", "chdb"), java.util.Set.of("no-snapshot"));
        Path repo = Path.of(m.getOrDefault("repo", ".")).toAbsolutePath().normalize();
        Path out = Path.of(m.getOrDefault("out", "/tmp/vigil-faults-" + System.currentTimeMillis()));
        Files.createDirectories(out);
        String chdb = m.getOrDefault("chdb", System.getenv("VIGIL_CHDB_LIB"));
        if (chdb == null) {
            System.err.println("faults: set VIGIL_CHDB_LIB (scripts/fetch-chdb.sh)");
            System.exit(2);
        }
        Path root = m.containsKey("no-snapshot") ? repo : Stack.snapshot(repo, out.resolve("snapshot"));
        double rate = Double.parseDouble(m.getOrDefault("rate", "2000"));
        long durMs = LoadTestMain.parseDuration(m.getOrDefault("duration", "40s"));
        int batch = Integer.parseInt(m.getOrDefault("batch", "100"));
        int conns = Integer.parseInt(m.getOrDefault("connections", "4"));
        int basePort = Integer.parseInt(m.getOrDefault("ports", "31000"));
        String which = m.getOrDefault("scenarios", "all");
        List<String> names = which.equals("all")
                ? List.of("baseline", "gateway-kill", "aggregator-kill", "kafka-restart", "clickhouse-restart", "clickhouse-slow", "disk-full")
                : List.of(which.split(","));
        List<Outcome> results = new ArrayList<>();
        Stack shared = null;
        try {
            for (String name : names) {
                Outcome o;
                if (name.equals("disk-full")) {
                    o = diskFull(root, out, chdb, Stack.Ports.base(basePort + 20), rate, durMs, batch, conns);
                } else {
                    if (shared == null) {
                        shared = new Stack(root, out.resolve("stack"), Stack.Ports.base(basePort), chdb);
                        shared.startAll(Stack.ALL, 180_000);
                    }
                    o = run(shared, name, fault(name, durMs), describe(name), rate, durMs, batch, conns, out, "");
                }
                results.add(o);
                System.out.println("SCENARIO " + JSON.copy().disable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(o));
                Files.writeString(out.resolve("results.json"), JSON.writeValueAsString(results));
            }
        } finally {
            if (shared != null) {
                shared.close();
            }
        }
        String table = table(results);
        Files.writeString(out.resolve("table.md"), table);
        System.out.println(table);
        System.out.println("results: " + out.resolve("results.json"));
        System.exit(results.stream().allMatch(Outcome::ok) ? 0 : 1);
    }

    static String describe(String name) {
        return switch (name) {
            case "baseline" -> "none (control run)";
            case "gateway-kill" -> "SIGKILL of the gateway at 1/4 of the run, restarted at once";
            case "aggregator-kill" -> "SIGKILL of the aggregator 3 times (at 1/5, 2/5, 3/5 of the run), each restarted at once";
            case "kafka-restart" -> "Kafka broker stopped (SIGTERM) at 1/4 of the run and started again";
            case "clickhouse-restart" -> "embedded ClickHouse stopped (SIGTERM) at 1/4 of the run and started again";
            case "clickhouse-slow" -> "embedded ClickHouse frozen (SIGSTOP) for 8 s at 1/4 of the run, then SIGCONT";
            case "disk-full" -> "data directory on a 1 GiB ext4 loop filesystem (no root-reserved blocks) filled to ~" + Long.getLong("vigil.disk-free-mib", 8) + " MiB free before the load; space freed at 1/2 of the run, dead services restarted";
            default -> throw new IllegalArgumentException("unknown scenario " + name);
        };
    }

    static void sleepUntil(long startNanos, long offsetMs) throws InterruptedException {
        long wait = startNanos + offsetMs * 1_000_000L - System.nanoTime();
        if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
        }
    }

    static Fault fault(String name, long durMs) {
        return switch (name) {
            case "baseline" -> (s, t0) -> 0;
            case "gateway-kill" -> (s, t0) -> {
                sleepUntil(t0, durMs / 4);
                s.kill("gateway");
                long t = System.currentTimeMillis();
                s.start("gateway");
                s.awaitReady("gateway", 120_000);
                return System.currentTimeMillis() - t;
            };
            case "aggregator-kill" -> (s, t0) -> {
                long worst = 0;
                for (int k = 1; k <= 3; k++) {
                    sleepUntil(t0, durMs * k / 5);
                    s.kill("aggregator");
                    long t = System.currentTimeMillis();
                    s.start("aggregator");
                    s.awaitReady("aggregator", 120_000);
                    worst = Math.max(worst, System.currentTimeMillis() - t);
                }
                return worst;
            };
            case "kafka-restart" -> (s, t0) -> {
                sleepUntil(t0, durMs / 4);
                long t = System.currentTimeMillis();
                s.stop("kafka", 30_000);
                s.start("kafka");
                s.awaitReady("kafka", 120_000);
                s.awaitReady("gateway", 120_000);
                return System.currentTimeMillis() - t;
            };
            case "clickhouse-restart" -> (s, t0) -> {
                sleepUntil(t0, durMs / 4);
                long t = System.currentTimeMillis();
                s.stop("clickhouse", 30_000);
                s.start("clickhouse");
                s.awaitReady("clickhouse", 120_000);
                return System.currentTimeMillis() - t;
            };
            case "clickhouse-slow" -> (s, t0) -> {
                sleepUntil(t0, durMs / 4);
                long t = System.currentTimeMillis();
                s.signal("clickhouse", "STOP");
                try {
                    Thread.sleep(8_000);
                } finally {
                    s.signal("clickhouse", "CONT");
                }
                s.awaitReady("clickhouse", 60_000);
                return System.currentTimeMillis() - t;
            };
            default -> throw new IllegalArgumentException("unknown scenario " + name);
        };
    }

    /** Runs load with a ledger while the fault is injected, then checks for loss and duplicates. */
    static Outcome run(Stack s, String name, Fault fault, String desc, double rate, long durMs, int batch, int conns, Path out, String notes)
            throws Exception {
        String run = name.replace("-", "") + Long.toString(System.currentTimeMillis() % 100_000_000L, 36);
        System.out.printf(Locale.ROOT, "%n=== scenario %s (run %s): %s ===%n", name, run, desc);
        Path ledgerFile = out.resolve(name + "-ledger.json");
        LoadTestMain.Options o = new LoadTestMain.Options(URI.create(s.gatewayUrl()), s.apiKey, rate, batch, durMs, conns, "json", "accounting",
                0.02, 20_000, null, false, 0, ledgerFile, run, 90_000, 10_000, true, true, false);
        LoadTestMain lt = new LoadTestMain(o);
        long t0 = System.nanoTime();
        long[] back = {-1};
        Exception[] faultErr = {null};
        Thread ft = Thread.ofPlatform().name("fault-" + name).start(() -> {
            try {
                back[0] = fault.inject(s, t0);
            } catch (Exception e) {
                faultErr[0] = e;
            }
        });
        LoadTestMain.Report rep = lt.run();
        long loadEnd = System.currentTimeMillis();
        ft.join(300_000);
        if (faultErr[0] != null) {
            System.out.println("fault injection failed: " + faultErr[0]);
        }
        // bring back anything that died (the operator's part of the scenario)
        for (String n : Stack.ALL) {
            if (s.started(n) && !s.alive(n)) {
                System.out.println("restarting " + n + " (not running after the scenario)");
                s.start(n);
                s.awaitReady(n, 120_000);
            }
        }
        lt.ledger.write(ledgerFile);
        System.out.print(rep.text());
        LossCheck.Result r = LossCheck.await(() -> LossCheck.compare(lt.ledger, "sql", LossCheck.readSql(s.clickhouseUrl(), s.tenant, run)), 180_000);
        long converge = System.currentTimeMillis() - loadEnd;
        System.out.print(r.text());
        String via = "sql";
        List<String> diffs = new ArrayList<>(r.differences());
        if (s.alive("query-api")) {
            try {
                LossCheck.Result p = LossCheck.await(() -> LossCheck.compare(lt.ledger, "promql",
                        LossCheck.readPromql(s.queryUrl(), s.apiKey, lt.ledger, 3600)), 30_000);
                System.out.print(p.text());
                via = p.ok() ? "sql+promql" : "sql (promql disagreed: " + p.differences().size() + " differences)";
                if (!p.ok()) {
                    p.differences().stream().limit(10).forEach(d -> diffs.add("promql: " + d));
                }
            } catch (Exception e) {
                via = "sql (promql failed: " + e.getMessage().lines().findFirst().orElse("") + ")";
            }
        }
        long gap = 0;
        long cur = 0;
        synchronized (lt.timeline) {
            // the whole timeline, including the retry phase after the last due batch, up to the last second with accepted events
            int last = lt.timeline.size() - 1;
            while (last >= 0 && lt.timeline.get(last)[1] == 0) {
                last--;
            }
            for (long[] t : lt.timeline.subList(0, last + 1)) {
                cur = t[1] == 0 ? cur + 1000 : 0;
                gap = Math.max(gap, cur);
            }
        }
        Map<String, Object> load = rep.json();
        return new Outcome(name, desc, r.ackedEvents(), r.inDoubtEvents(), r.storedEvents(), r.lost(), r.duplicated(), r.sumMismatches(), back[0],
                gap, converge, r.ok() && faultErr[0] == null, via, load, diffs.size() > 30 ? diffs.subList(0, 30) : diffs,
                notes + (faultErr[0] != null ? " fault error: " + faultErr[0] : ""));
    }

    /** The data directory on a small loop-mounted filesystem, nearly full. Needs root and a working loop device. */
    static Outcome diskFull(Path root, Path out, String chdb, Stack.Ports ports, double rate, long durMs, int batch, int conns) throws Exception {
        Path img = out.resolve("disk.img");
        Path mnt = out.resolve("disk");
        Files.createDirectories(mnt);
        if (sh("truncate", "-s", "1G", img.toString()) != 0 || sh("mkfs.ext4", "-q", "-F", "-m", "0", img.toString()) != 0
                || sh("mount", "-o", "loop", img.toString(), mnt.toString()) != 0) {
            return new Outcome("disk-full", describe("disk-full"), 0, 0, 0, 0, 0, 0, -1, -1, -1, false, "-", Map.of(), List.of(),
                    "could not create/mount a loop filesystem (needs root and /dev/loop*); not run");
        }
        Stack s = null;
        try {
            s = new Stack(root, mnt.resolve("stack"), ports, chdb);
            s.startAll(Stack.ALL, 180_000);
            Path filler = mnt.resolve("filler");
            long free = mnt.toFile().getUsableSpace();
            long leave = Long.getLong("vigil.disk-free-mib", 8) << 20;
            sh("fallocate", "-l", Long.toString(Math.max(0, free - leave)), filler.toString());
            System.out.println("disk-full: usable space now " + (mnt.toFile().getUsableSpace() >> 20) + " MiB");
            Stack st = s;
            List<String> diedOnDisk = new java.util.concurrent.CopyOnWriteArrayList<>();
            Fault f = (x, t0) -> {
                sleepUntil(t0, durMs / 2);
                long t = System.currentTimeMillis();
                System.out.println("disk-full: freeing space; services alive: "
                        + Stack.ALL.stream().filter(x::alive).toList());
                Files.deleteIfExists(filler);
                for (String n : Stack.ALL) {
                    if (x.started(n) && !x.alive(n)) {
                        diedOnDisk.add(n);
                        System.out.println("disk-full: restarting " + n + " (died on the full disk)");
                        x.start(n);
                        x.awaitReady(n, 120_000);
                    }
                }
                return System.currentTimeMillis() - t;
            };
            long[] minFree = {Long.MAX_VALUE};
            Thread mon = Thread.ofPlatform().daemon().name("disk-monitor").start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    minFree[0] = Math.min(minFree[0], mnt.toFile().getUsableSpace());
                    try {
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            Outcome o = run(st, "disk-full", f, describe("disk-full"), rate, durMs, batch, conns, out, "");
            mon.interrupt();
            String died = String.join(",", diedOnDisk);
            return new Outcome(o.scenario(), o.fault(), o.acked(), o.inDoubt(), o.stored(), o.lost(), o.duplicated(), o.sumMismatches(),
                    o.backInServiceMs(), o.ingestGapMs(), o.convergeMs(), o.ok(), o.via(), o.load(), o.differences(),
                    (o.notes() + " least free space seen " + (minFree[0] >> 10) + " KiB; services dead when space was freed: "
                            + (died.isEmpty() ? "none" : died)).trim());
        } finally {
            if (s != null) {
                s.close();
                sh("cp", "-r", mnt.resolve("stack/logs").toString(), out.resolve("disk-full-logs").toString());
            }
            sh("umount", mnt.toString());
            Files.deleteIfExists(img);
        }
    }

    static int sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    static String table(List<Outcome> rs) {
        StringBuilder sb = new StringBuilder();
        sb.append("| scenario | fault | events acknowledged | in doubt (never acked) | events stored | lost | duplicated | back in service | longest ingest gap | converged after load | check |\n");
        sb.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (Outcome o : rs) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %,d | %,d | %,d | %d | %d | %s | %s | %s | %s |%n", o.scenario(), o.fault(), o.acked(), o.inDoubt(),
                    o.stored(), o.lost(), o.duplicated(), ms(o.backInServiceMs()), ms(o.ingestGapMs()), ms(o.convergeMs()),
                    (o.ok() ? "OK" : "FAILED") + " (" + o.via() + ")" + (o.notes().isBlank() ? "" : "; " + o.notes())));
        }
        return sb.toString();
    }

    static String ms(long v) {
        return v < 0 ? "-" : String.format(Locale.ROOT, "%.1f s", v / 1000.0);
    }
}
