package dev.vigil.clickhouse;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server as its own process: configuration errors, data surviving a restart (a real engine
 * restart, from disk), graceful SIGTERM, and one process per data directory.
 */
class ITServerProcess {
    static {
        com.clickhouse.jdbc.Driver.load();
    }

    static Process launch(Path dataDir, int port, Path log, Map<String, String> extraEnv) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                EmbeddedClickHouseServer.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put(ServerConfig.PORT, String.valueOf(port));
        pb.environment().put(ServerConfig.DATA_DIR, dataDir.toString());
        pb.environment().put(ServerConfig.SHUTDOWN_GRACE, "20000");
        pb.environment().putAll(extraEnv);
        return pb.start();
    }

    static int freePort() throws IOException {
        try (var s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static boolean awaitReady(int port, Process p, Duration timeout) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline && p.isAlive()) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                        + "/health/ready")).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return true;
                }
            } catch (IOException e) {
                // not up yet
            }
            Thread.sleep(100);
        }
        return false;
    }

    @Test
    void invalidConfigurationNamesTheKey(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("bad.log");
        Process p = launch(dir.resolve("data"), 1, log, Map.of(ServerConfig.POOL_SIZE, "lots"));
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(2);
        assertThat(Files.readString(log)).contains("VIGIL_CLICKHOUSE_POOL_SIZE").contains("an integer 1..512");
    }

    @Test
    void dataSurvivesRestartAndSigtermIsGraceful(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        int port = freePort();
        Process p = launch(data, port, dir.resolve("run1.log"), Map.of());
        try {
            assertThat(awaitReady(port, p, Duration.ofSeconds(60))).as(Files.readString(dir.resolve("run1.log"))).isTrue();
            String url = "jdbc:clickhouse://127.0.0.1:" + port + "/default";
            Properties props = new Properties();
            props.setProperty("beta.row_binary_for_simple_insert", "true");
            try (Connection c = DriverManager.getConnection(url, props); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE persisted (id UInt64, s String) ENGINE = MergeTree ORDER BY id");
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO persisted VALUES (?, ?)")) {
                    for (int i = 0; i < 10_000; i++) {
                        ps.setLong(1, i);
                        ps.setString(2, "v" + i);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
                // A second process on the same directory is refused (chDB locks it), and says why.
                int port2 = freePort();
                Path log2 = dir.resolve("second.log");
                Process second = launch(data, port2, log2, Map.of());
                assertThat(second.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(second.exitValue()).isNotZero();
                assertThat(Files.readString(log2)).contains("chdb_connect failed");
                // A long query in flight while SIGTERM arrives still completes.
                Thread q = Thread.ofPlatform().start(() -> {
                    try (Connection c2 = DriverManager.getConnection(url, new Properties());
                         Statement s2 = c2.createStatement();
                         ResultSet rs = s2.executeQuery("SELECT count() FROM numbers(3) WHERE sleepEachRow(0.7) = 0")) {
                        rs.next();
                        inFlightResult = rs.getLong(1);
                    } catch (Exception e) {
                        inFlightError = e;
                    }
                });
                Thread.sleep(300);
                p.destroy(); // SIGTERM
                q.join(60_000);
                assertThat(inFlightError).isNull();
                assertThat(inFlightResult).isEqualTo(3L);
            }
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String log1 = Files.readString(dir.resolve("run1.log"));
            assertThat(log1).contains("event=server_stopped").contains("event=chdb_engine_stopped");
            assertThat(p.exitValue()).isIn(0, 143);
        } finally {
            p.destroyForcibly();
        }

        Process p2 = launch(data, port, dir.resolve("run2.log"), Map.of());
        try {
            assertThat(awaitReady(port, p2, Duration.ofSeconds(60))).isTrue();
            try (Connection c = DriverManager.getConnection("jdbc:clickhouse://127.0.0.1:" + port + "/default",
                    new Properties()); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(), sum(id), max(s) FROM persisted")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getLong(1)).isEqualTo(10_000);
                assertThat(rs.getLong(2)).isEqualTo(9_999L * 10_000 / 2);
                assertThat(rs.getString(3)).isEqualTo("v9999");
            }
            p2.destroy();
            assertThat(p2.waitFor(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            p2.destroyForcibly();
        }
    }

    static volatile long inFlightResult;
    static volatile Exception inFlightError;

    @SuppressWarnings("unused")
    private static String cp() {
        return System.getProperty("java.class.path").replace(File.pathSeparatorChar, '\n');
    }
}
