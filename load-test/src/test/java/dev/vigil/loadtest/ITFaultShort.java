package dev.vigil.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import dev.vigil.clickhouse.EmbeddedClickHouse;

/**
 * The short, bounded version of the fault scenarios (docs/reliability.md): the real services as
 * child JVMs (by PID) on free ephemeral ports with a temporary data directory, ~20 s of load with
 * client retries, one SIGKILL of the aggregator and one of the gateway, then the loss check:
 * every acknowledged event stored exactly once, per series count and sum equal.
 */
class ITFaultShort {

    static Path repo() {
        Path p = Path.of("").toAbsolutePath();
        return Files.isDirectory(p.resolve("aggregator")) ? p : p.getParent();
    }

    static String chdb() throws Exception {
        String lib = System.getenv("VIGIL_CHDB_LIB");
        if (lib != null && !lib.isBlank()) {
            return lib;
        }
        Process p = new ProcessBuilder(repo().resolve("scripts/fetch-chdb.sh").toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        p.waitFor(300, TimeUnit.SECONDS);
        return out;
    }

    /** Six consecutive free ports (the stack's layout), picked from the ephemeral range. */
    static int freeBase() throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            // Below the kernel's ephemeral range (32768+ here): a base taken from ServerSocket(0) lies
            // inside it, and the outgoing connections of the services started first (Kafka clients,
            // JDBC) could take a later service's port before it binds (seen: gateway BindException).
            int base = 20_000 + java.util.concurrent.ThreadLocalRandom.current().nextInt(12_000);
            boolean ok = true;
            for (int i = 0; i < 6 && ok; i++) {
                try (ServerSocket s = new ServerSocket(base + i, 1, java.net.InetAddress.getLoopbackAddress())) {
                    s.setReuseAddress(true);
                } catch (IOException e) {
                    ok = false;
                }
            }
            if (ok) {
                return base;
            }
        }
        throw new IOException("no 6 consecutive free ports");
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void sigkillOfAggregatorAndGatewayUnderLoadLosesAndDuplicatesNothing() throws Exception {
        EmbeddedClickHouse.deleteStaleTempDirs("vigil-it-faults-*"); // earlier runs' directories, kept a day for post-mortems
        Path dir = Files.createTempDirectory("vigil-it-faults-");
        try (Stack s = new Stack(repo(), dir.resolve("stack"), Stack.Ports.base(freeBase()), chdb())) {
            s.startAll(List.of("kafka", "clickhouse", "gateway", "aggregator"), 150_000);
            long dur = 20_000;
            FaultMain.Fault faults = (x, t0) -> {
                FaultMain.sleepUntil(t0, 5_000);
                x.kill("aggregator");
                x.start("aggregator");
                FaultMain.sleepUntil(t0, 10_000);
                x.kill("gateway");
                long t = System.currentTimeMillis();
                x.start("gateway");
                x.awaitReady("gateway", 90_000);
                x.awaitReady("aggregator", 90_000);
                return System.currentTimeMillis() - t;
            };
            FaultMain.Outcome o = FaultMain.run(s, "it-short", faults, "SIGKILL aggregator at 5 s, gateway at 10 s", 500, dur, 50, 4, dir, "");
            System.out.println(FaultMain.table(List.of(o)));
            assertThat(o.acked()).as("events acknowledged").isGreaterThan(1000);
            assertThat(o.differences()).as("differences").isEmpty();
            assertThat(o.lost()).as("lost").isZero();
            assertThat(o.duplicated()).as("duplicated").isZero();
            assertThat(o.ok()).isTrue();
        }
    }
}
