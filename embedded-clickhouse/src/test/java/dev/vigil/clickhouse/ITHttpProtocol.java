package dev.vigil.clickhouse;

import com.clickhouse.client.api.internal.ClickHouseLZ4InputStream;
import dev.vigil.clickhouse.http.CompressedBlocks;
import net.jpountz.lz4.LZ4Factory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** ClickHouse's HTTP interface as raw HTTP: what any client (not only JDBC) relies on. */
class ITHttpProtocol {
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    static String db;

    @BeforeAll
    static void setUp() throws Exception {
        db = ClickHouseTarget.createDatabase("http_proto");
    }

    @AfterAll
    static void tearDown() throws Exception {
        ClickHouseTarget.dropDatabase(db);
    }

    record Res(int status, Map<String, List<String>> headers, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name)).findFirst()
                    .map(e -> e.getValue().getFirst()).orElse(null);
        }
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static Res post(String base, String params, byte[] body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/?" + params))
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        String auth = Base64.getEncoder().encodeToString((ClickHouseTarget.user() + ":" + ClickHouseTarget.password())
                .getBytes(StandardCharsets.UTF_8));
        if (java.util.Arrays.stream(headers).noneMatch(h -> h.equalsIgnoreCase("Authorization")
                || h.equalsIgnoreCase("X-ClickHouse-User"))) {
            b.header("Authorization", "Basic " + auth);
        }
        HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Res(r.statusCode(), r.headers().map(), r.body());
    }

    static Res post(String params, String body, String... headers) throws Exception {
        return post(ClickHouseTarget.httpUrl(), params, body.getBytes(StandardCharsets.UTF_8), headers);
    }

    static Res get(String base, String params, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/" + params)).timeout(Duration.ofSeconds(60));
        if (headers.length > 0) {
            b.headers(headers);
        }
        HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Res(r.statusCode(), r.headers().map(), r.body());
    }

    static String q(String sql) throws Exception {
        Res r = post("database=" + db, sql);
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        return r.text();
    }

    @Test
    void pingAndGetQueries() throws Exception {
        String base = ClickHouseTarget.httpUrl();
        assertThat(get(base, "ping").text()).isEqualTo("Ok.\n");
        Res r = get(base, "?query=" + enc("SELECT 1 + 1"));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text()).isEqualTo("2\n");
        assertThat(r.header("X-ClickHouse-Format")).isEqualTo("TabSeparated");
        assertThat(r.header("X-ClickHouse-Query-Id")).isNotBlank();
        assertThat(r.header("X-ClickHouse-Summary")).contains("read_rows");
        Res w = get(base, "?query=" + enc("CREATE TABLE " + db + ".via_get (a UInt8) ENGINE = Memory"));
        assertThat(w.status()).isNotEqualTo(200);
        assertThat(w.header("X-ClickHouse-Exception-Code")).isEqualTo("164");
        assertThat(w.text()).contains("READONLY");
    }

    @Test
    void healthAndMetricsEndpoints() throws Exception {
        assumeTrue(ClickHouseTarget.embedded());
        String base = ClickHouseTarget.httpUrl();
        assertThat(get(base, "health/live").status()).isEqualTo(200);
        assertThat(get(base, "health/ready").status()).isEqualTo(200);
        q("SELECT 1");
        Res m = get(base, "metrics");
        assertThat(m.status()).isEqualTo(200);
        assertThat(m.text()).contains("vigil_clickhouse_query_duration_seconds_count").contains("vigil_clickhouse_pool_in_use");
        assertThat(get(base, "nope").status()).isEqualTo(404);
    }

    @Test
    void insertAndSelectInSeveralFormats() throws Exception {
        q("CREATE TABLE fmt (id UInt32, s String, f Float64) ENGINE = MergeTree ORDER BY id");
        assertThat(post("database=" + db + "&query=" + enc("INSERT INTO fmt FORMAT JSONEachRow"),
                "{\"id\":1,\"s\":\"a\",\"f\":0.5}\n{\"id\":2,\"s\":\"b\",\"f\":1.5}\n").status()).isEqualTo(200);
        assertThat(post("database=" + db, "INSERT INTO fmt FORMAT CSV\n3,\"c,d\",2.5\n").status()).isEqualTo(200);
        assertThat(post("database=" + db, "INSERT INTO fmt VALUES (4, 'e', 3.5), (5, concat('f', 'g'), 4.5)").status())
                .isEqualTo(200);
        Res ins = post("database=" + db + "&query=" + enc("INSERT INTO fmt (id, s, f) FORMAT TSV"), "6\tt\\tab\t5.5\n");
        assertThat(ins.status()).isEqualTo(200);
        assertThat(ins.header("X-ClickHouse-Summary")).contains("\"written_rows\":\"1\"");
        assertThat(q("SELECT id, s FROM fmt ORDER BY id FORMAT CSV"))
                .isEqualTo("1,\"a\"\n2,\"b\"\n3,\"c,d\"\n4,\"e\"\n5,\"fg\"\n6,\"t\tab\"\n");
        String json = q("SELECT count() AS c FROM fmt FORMAT JSON");
        assertThat(json).contains("\"c\": 6").contains("\"rows\": 1");
        // A streamed result with a header (several chDB chunks): the header appears exactly once.
        String csv = q("SELECT number AS n FROM numbers(300000) FORMAT CSVWithNames");
        assertThat(csv.split("\n")).hasSize(300_001);
        assertThat(csv.split("\"n\"", -1)).hasSize(2);
        String tsv = q("SELECT number AS n, toString(number) AS s FROM numbers(200000) FORMAT TSVWithNamesAndTypes");
        assertThat(tsv).startsWith("n\ts\nUInt64\tString\n0\t0\n");
        assertThat(tsv.split("UInt64", -1)).hasSize(2);
    }

    @Test
    void queryParametersAndDefaultFormat() throws Exception {
        Res r = post("param_x=41&param_s=" + enc("a\\tb") + "&default_format=JSONCompactEachRow",
                "SELECT {x:UInt32} + 1 AS v, {s:String} AS s");
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        assertThat(r.text().replace(" ", "")).isEqualTo("[42,\"a\\tb\"]\n");
        assertThat(r.header("X-ClickHouse-Format")).isEqualTo("JSONCompactEachRow");
        Res h = post("", "SELECT 1", "X-ClickHouse-Format", "CSVWithNames");
        assertThat(h.text()).isEqualTo("\"1\"\n1\n");
    }

    @Test
    void errorsUseClickHouseCodesAndStatuses() throws Exception {
        Res unknown = post("database=" + db, "SELECT * FROM missing_table");
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.header("X-ClickHouse-Exception-Code")).isEqualTo("60");
        assertThat(unknown.text()).startsWith("Code: 60. DB::Exception:").contains("UNKNOWN_TABLE");
        Res syntax = post("", "SELECT FROM WHERE");
        assertThat(syntax.status()).isEqualTo(400);
        assertThat(syntax.header("X-ClickHouse-Exception-Code")).isEqualTo("62");
        Res multi = post("", "SELECT 1; SELECT 2");
        assertThat(multi.status()).isEqualTo(400);
        assertThat(multi.text()).contains("Multi-statements are not allowed");
        Res empty = post("", "");
        assertThat(empty.header("X-ClickHouse-Exception-Code")).isEqualTo("62");
        Res badSetting = post("no_such_setting_xyz=1", "SELECT 1");
        assertThat(badSetting.header("X-ClickHouse-Exception-Code")).isEqualTo("115");
        // A bad row in an INSERT: error, and nothing of that insert nor anything earlier is lost or added.
        q("CREATE TABLE errs (id UInt32) ENGINE = MergeTree ORDER BY id");
        q("INSERT INTO errs VALUES (1), (2)");
        Res bad = post("database=" + db + "&query=" + enc("INSERT INTO errs FORMAT TSV"), "3\nnot-a-number\n");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.header("X-ClickHouse-Exception-Code")).isEqualTo("27");
        assertThat(q("SELECT count(), sum(id) FROM errs")).isEqualTo("2\t3\n");
    }

    @Test
    void errorAfterTheFirstBytesIsWrittenInBand() throws Exception {
        assumeTrue(ClickHouseTarget.embedded(), "the embedded server commits 200 after 1 MiB; servers differ");
        // Read raw: the response ends without the last chunk (the connection closes), as on a server.
        String sql = "SELECT number, throwIf(number = 900000, 'late failure') FROM numbers(2000000)";
        byte[] raw;
        try (Socket sock = new Socket("127.0.0.1", URI.create(ClickHouseTarget.httpUrl()).getPort())) {
            sock.getOutputStream().write(("POST /?max_block_size=10000 HTTP/1.1\r\nHost: x\r\nContent-Length: "
                    + sql.length() + "\r\n\r\n" + sql).getBytes(StandardCharsets.US_ASCII));
            raw = sock.getInputStream().readAllBytes();
        }
        String all = new String(raw, StandardCharsets.ISO_8859_1);
        int headEnd = all.indexOf("\r\n\r\n");
        String head = all.substring(0, headEnd);
        assertThat(head).startsWith("HTTP/1.1 200");
        assertThat(head.toLowerCase()).contains("transfer-encoding: chunked");
        String tag = head.lines().filter(l -> l.toLowerCase().startsWith("x-clickhouse-exception-tag:"))
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElseThrow();
        assertThat(tag).hasSize(16);
        String text = dechunk(raw, headEnd + 4);
        assertThat(text).startsWith("0\t0\n");
        assertThat(text).contains("\r\n__exception__\r\n" + tag + "\r\nCode: 395. DB::Exception: late failure");
        assertThat(text).endsWith(" " + tag + "\r\n__exception__\r\n");
        assertThat(all).doesNotEndWith("0\r\n\r\n");
        // The server keeps serving, and the failed stream left nothing behind on its connection.
        assertThat(post("", "SELECT 7", "X-ClickHouse-Format", "RowBinaryWithNamesAndTypes").body())
                .containsExactly(1, 1, '7', 5, 'U', 'I', 'n', 't', '8', 7);
    }

    @Test
    void compressedResponsesAreValidClickHouseBlocks() throws Exception {
        Res r = post("compress=1", "SELECT number FROM numbers(500000) FORMAT TSV");
        assertThat(r.status()).isEqualTo(200);
        // Decoded by the driver's own reader, which verifies every CityHash128 checksum.
        try (InputStream in = new ClickHouseLZ4InputStream(new ByteArrayInputStream(r.body()),
                LZ4Factory.fastestInstance().fastDecompressor(), 65536)) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertThat(text.split("\n")).hasSize(500_000);
            assertThat(text).startsWith("0\n1\n").endsWith("499999\n");
        }
        Res err = post("compress=1", "SELECT * FROM nowhere_table");
        assertThat(err.status()).isEqualTo(404);
        assertThat(new String(CompressedBlocks.decode(err.body(), 0, err.body().length), StandardCharsets.UTF_8))
                .startsWith("Code: 60.");
    }

    @Test
    void compressedRequestBodies() throws Exception {
        q("CREATE TABLE comp_in (id UInt32, s String) ENGINE = MergeTree ORDER BY id");
        StringBuilder sb = new StringBuilder("INSERT INTO comp_in FORMAT TSV\n");
        for (int i = 0; i < 10_000; i++) {
            sb.append(i).append("\tvalue-").append(i).append('\n');
        }
        byte[] raw = sb.toString().getBytes(StandardCharsets.UTF_8);
        byte[] framed = CompressedBlocks.encodeBlock(raw, 0, raw.length);
        assertThat(post(ClickHouseTarget.httpUrl(), "decompress=1&database=" + db, framed).status()).isEqualTo(200);
        assertThat(q("SELECT count() FROM comp_in")).isEqualTo("10000\n");

        // Corrupt checksum: refused, nothing inserted.
        byte[] corrupt = framed.clone();
        corrupt[corrupt.length / 2] ^= 0x5A;
        Res c = post(ClickHouseTarget.httpUrl(), "decompress=1&database=" + db, corrupt);
        assertThat(c.status()).isEqualTo(500);
        assertThat(c.header("X-ClickHouse-Exception-Code")).isEqualTo("40");
        assertThat(c.text()).contains("CHECKSUM_DOESNT_MATCH");
        // Truncated block.
        byte[] truncated = java.util.Arrays.copyOf(framed, framed.length - 100);
        Res t = post(ClickHouseTarget.httpUrl(), "decompress=1&database=" + db, truncated);
        assertThat(t.status()).isEqualTo(500);
        assertThat(t.header("X-ClickHouse-Exception-Code")).isIn("32", "33");
        assertThat(q("SELECT count() FROM comp_in")).isEqualTo("10000\n");

        // gzip Content-Encoding in, gzip out.
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(gz)) {
            g.write("INSERT INTO comp_in VALUES (20000, 'gz')".getBytes(StandardCharsets.UTF_8));
        }
        assertThat(post(ClickHouseTarget.httpUrl(), "database=" + db, gz.toByteArray(), "Content-Encoding", "gzip")
                .status()).isEqualTo(200);
        Res g = post(ClickHouseTarget.httpUrl(), "enable_http_compression=1&database=" + db,
                "SELECT s FROM comp_in WHERE id = 20000".getBytes(StandardCharsets.UTF_8), "Accept-Encoding", "gzip");
        assertThat(g.header("Content-Encoding")).isEqualTo("gzip");
        assertThat(new String(new GZIPInputStream(new ByteArrayInputStream(g.body())).readAllBytes(),
                StandardCharsets.UTF_8)).isEqualTo("gz\n");
    }

    @Test
    void authenticationAndReadonlyUsers() throws Exception {
        assumeTrue(ClickHouseTarget.embedded());
        ServerConfig cfg = ServerConfig.builder(EmbeddedClickHouse.shared().dataDir())
                .users(List.of(new ServerConfig.User("default", "", false), new ServerConfig.User("writer", "w-pass", false),
                        new ServerConfig.User("reader", "r-pass", true)))
                .poolSize(2).readonlyPoolSize(1).build();
        try (EmbeddedClickHouse ch = EmbeddedClickHouse.start(cfg)) {
            String base = ch.httpUrl();
            String basicW = "Basic " + Base64.getEncoder().encodeToString("writer:w-pass".getBytes(StandardCharsets.UTF_8));
            String basicBad = "Basic " + Base64.getEncoder().encodeToString("writer:nope".getBytes(StandardCharsets.UTF_8));
            assertThat(post(base, "database=" + db, "CREATE TABLE auth_t (a UInt8) ENGINE = Memory"
                    .getBytes(StandardCharsets.UTF_8), "Authorization", basicW).status()).isEqualTo(200);
            Res bad = post(base, "", "SELECT 1".getBytes(StandardCharsets.UTF_8), "Authorization", basicBad);
            assertThat(bad.status()).isEqualTo(403);
            assertThat(bad.header("X-ClickHouse-Exception-Code")).isEqualTo("516");
            Res unknownUser = post(base, "user=ghost&password=x", "SELECT 1".getBytes(StandardCharsets.UTF_8),
                    "X-Dummy", "1");
            assertThat(unknownUser.status()).isEqualTo(403);
            // Reader: reads (by header credentials), may not write.
            Res read = post(base, "", "SELECT 5".getBytes(StandardCharsets.UTF_8), "X-ClickHouse-User", "reader",
                    "X-ClickHouse-Key", "r-pass");
            assertThat(read.text()).isEqualTo("5\n");
            Res write = post(base, "database=" + db, "INSERT INTO auth_t VALUES (1)".getBytes(StandardCharsets.UTF_8),
                    "X-ClickHouse-User", "reader", "X-ClickHouse-Key", "r-pass");
            assertThat(write.header("X-ClickHouse-Exception-Code")).isEqualTo("164");
            Res mixed = post(base, "user=reader", "SELECT 1".getBytes(StandardCharsets.UTF_8), "Authorization", basicW);
            assertThat(mixed.header("X-ClickHouse-Exception-Code")).isEqualTo("516");
        }
    }

    @Test
    void urlSettingsNeverLeakBetweenRequests() throws Exception {
        assumeTrue(ClickHouseTarget.embedded());
        // One pooled connection, so every request reuses it.
        ServerConfig cfg = ServerConfig.builder(EmbeddedClickHouse.shared().dataDir()).poolSize(1).build();
        try (EmbeddedClickHouse ch = EmbeddedClickHouse.start(cfg)) {
            String base = ch.httpUrl();
            String def = post(base, "", b("SELECT getSetting('max_threads')")).text();
            assertThat(post(base, "max_threads=1&insert_deduplication_token=abc",
                    b("SELECT getSetting('max_threads'), getSetting('insert_deduplication_token')")).text())
                    .isEqualTo("1\tabc\n");
            assertThat(post(base, "", b("SELECT getSetting('max_threads'), getSetting('insert_deduplication_token')"))
                    .text()).isEqualTo(def.trim() + "\t\n");
            // SET without a session is a no-op (as on a server), and does not stick to the pooled connection.
            assertThat(post(base, "", b("SET max_threads = 1")).status()).isEqualTo(200);
            assertThat(post(base, "", b("SELECT getSetting('max_threads')")).text()).isEqualTo(def);
            // A failing setting leaves nothing behind either.
            assertThat(post(base, "max_threads=1&max_block_size=oops", b("SELECT 1")).status()).isNotEqualTo(200);
            assertThat(post(base, "", b("SELECT getSetting('max_threads')")).text()).isEqualTo(def);
            // Current database is per request.
            assertThat(post(base, "database=" + db, b("SELECT currentDatabase()")).text()).isEqualTo(db + "\n");
            assertThat(post(base, "", b("SELECT currentDatabase()")).text()).isEqualTo("default\n");
        }
    }

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void sessionsKeepTheirOwnState() throws Exception {
        String s1 = "s1-" + System.nanoTime();
        String s2 = "s2-" + System.nanoTime();
        String def = post("", "SELECT getSetting('max_threads')").text();
        assertThat(post("session_id=" + s1, "SET max_threads = 1").status()).isEqualTo(200);
        assertThat(post("session_id=" + s1, "CREATE TEMPORARY TABLE tmp_s (a UInt8)").status()).isEqualTo(200);
        assertThat(post("session_id=" + s1, "INSERT INTO tmp_s VALUES (1), (2)").status()).isEqualTo(200);
        assertThat(post("session_id=" + s1, "SELECT getSetting('max_threads'), (SELECT count() FROM tmp_s)").text())
                .isEqualTo("1\t2\n");
        // A URL setting on a session request applies to that request only.
        assertThat(post("session_id=" + s1 + "&max_threads=3", "SELECT getSetting('max_threads')").text())
                .isEqualTo("3\n");
        assertThat(post("session_id=" + s1, "SELECT getSetting('max_threads')").text()).isEqualTo("1\n");
        // Another session and sessionless requests see none of it.
        assertThat(post("session_id=" + s2, "SELECT getSetting('max_threads')").text()).isEqualTo(def);
        assertThat(post("session_id=" + s2, "SELECT count() FROM tmp_s").status()).isNotEqualTo(200);
        assertThat(post("", "SELECT getSetting('max_threads')").text()).isEqualTo(def);
        Res missing = post("session_id=nope-" + System.nanoTime() + "&session_check=1", "SELECT 1");
        assertThat(missing.header("X-ClickHouse-Exception-Code")).isEqualTo("372");
        assertThat(post("session_id=" + s1 + "&session_timeout=999999999", "SELECT 1")
                .header("X-ClickHouse-Exception-Code")).isEqualTo("374");
    }

    @Test
    void oversizeBodyIsRefusedAndServerKeepsServing() throws Exception {
        assumeTrue(ClickHouseTarget.embedded());
        ServerConfig cfg = ServerConfig.builder(EmbeddedClickHouse.shared().dataDir()).maxBodyBytes(64 * 1024)
                .poolSize(1).build();
        try (EmbeddedClickHouse ch = EmbeddedClickHouse.start(cfg)) {
            q("CREATE TABLE big_in (s String) ENGINE = MergeTree ORDER BY s");
            byte[] big = ("INSERT INTO big_in FORMAT TSV\n" + "x".repeat(200_000) + "\n").getBytes(StandardCharsets.UTF_8);
            Res r = post(ch.httpUrl(), "database=" + db, big);
            assertThat(r.status()).isEqualTo(413);
            assertThat(r.header("X-ClickHouse-Exception-Code")).isEqualTo("229");
            assertThat(r.text()).contains("QUERY_IS_TOO_LARGE");
            assertThat(post(ch.httpUrl(), "database=" + db, b("INSERT INTO big_in VALUES ('small')")).status())
                    .isEqualTo(200);
            assertThat(post(ch.httpUrl(), "database=" + db, b("SELECT count() FROM big_in")).text()).isEqualTo("1\n");
        }
    }

    /** A chunked (no Content-Length) POST whose body is produced as it is sent. */
    static Res postChunked(String base, String params, byte[] body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/?" + params))
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body)));
        String auth = Base64.getEncoder().encodeToString((ClickHouseTarget.user() + ":" + ClickHouseTarget.password())
                .getBytes(StandardCharsets.UTF_8));
        b.header("Authorization", "Basic " + auth);
        HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Res(r.statusCode(), r.headers().map(), r.body());
    }

    @Test
    void insertBodiesStreamToTheEngineAsTheyArrive() throws Exception {
        q("CREATE TABLE streamed_in (n UInt64, s String) ENGINE = MergeTree ORDER BY n");
        StringBuilder sb = new StringBuilder();
        int rows = 1_500_000;
        for (int i = 0; i < rows; i++) {
            sb.append(i).append('\t').append("row-").append(i % 97).append('\n');
        }
        byte[] data = sb.toString().getBytes(StandardCharsets.UTF_8); // ~17 MB: more than the queue holds
        String params = "database=" + db + "&query=" + enc("INSERT INTO streamed_in FORMAT TSV");
        Res r = postChunked(ClickHouseTarget.httpUrl(), params, data);
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        assertThat(r.header("X-ClickHouse-Summary")).contains("\"written_rows\":\"" + rows + "\"");
        r = post(ClickHouseTarget.httpUrl(), params, data);
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        assertThat(q("SELECT count(), sum(n), uniqExact(s) FROM streamed_in")).isEqualTo(
                (2L * rows) + "\t" + (2L * rows * (rows - 1) / 2) + "\t97\n");
        // An error found before the body is read (unknown table) and one in the data: the rest of the
        // body is dropped, nothing is half-inserted, and the server keeps serving.
        Res missing = postChunked(ClickHouseTarget.httpUrl(), "database=" + db + "&query="
                + enc("INSERT INTO no_such_table FORMAT TSV"), data);
        assertThat(missing.header("X-ClickHouse-Exception-Code")).isEqualTo("60");
        byte[] bad = ("1\tx\nnot-a-number\ty\n").getBytes(StandardCharsets.UTF_8);
        Res parse = postChunked(ClickHouseTarget.httpUrl(), params, bad);
        assertThat(parse.header("X-ClickHouse-Exception-Code")).isEqualTo("27");
        assertThat(q("SELECT count() FROM streamed_in")).isEqualTo((2L * rows) + "\n");
        if (ClickHouseTarget.embedded()) {
            ServerConfig cfg = ServerConfig.builder(EmbeddedClickHouse.shared().dataDir()).maxBodyBytes(64 * 1024)
                    .poolSize(1).build();
            try (EmbeddedClickHouse ch = EmbeddedClickHouse.start(cfg)) {
                Res big = postChunked(ch.httpUrl(), params, data);
                assertThat(big.status()).isEqualTo(413);
                assertThat(big.header("X-ClickHouse-Exception-Code")).isEqualTo("229");
                assertThat(postChunked(ch.httpUrl(), params, "7\tseven\n".getBytes(StandardCharsets.UTF_8)).status())
                        .isEqualTo(200);
            }
            assertThat(q("SELECT count() FROM streamed_in")).isEqualTo((2L * rows + 1) + "\n");
        }
    }

    @Test
    void clientDisconnectingMidResultCancelsTheQuery() throws Exception {
        assumeTrue(ClickHouseTarget.embedded());
        ServerConfig cfg = ServerConfig.builder(EmbeddedClickHouse.shared().dataDir()).poolSize(1).build();
        try (EmbeddedClickHouse ch = EmbeddedClickHouse.start(cfg)) {
            double before = ch.registry().counter("vigil_clickhouse_client_disconnects").count();
            try (Socket s = new Socket("127.0.0.1", ch.port())) {
                OutputStream out = s.getOutputStream();
                out.write(("GET /?query=" + enc("SELECT number FROM numbers(1000000000)") + " HTTP/1.1\r\nHost: x\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                byte[] buf = new byte[64 * 1024];
                int total = 0;
                while (total < 4 * 1024 * 1024) {
                    int n = in.read(buf);
                    if (n < 0) {
                        break;
                    }
                    total += n;
                }
                assertThat(total).isGreaterThanOrEqualTo(4 * 1024 * 1024);
            }
            // The only pooled connection comes back, clean, once the server notices.
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (ch.registry().counter("vigil_clickhouse_client_disconnects").count() == before
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(ch.registry().counter("vigil_clickhouse_client_disconnects").count()).isGreaterThan(before);
            Res r = post(ch.httpUrl(), "", b("SELECT 42"), "X-ClickHouse-Format", "RowBinaryWithNamesAndTypes");
            assertThat(r.body()).containsExactly(1, 2, '4', '2', 5, 'U', 'I', 'n', 't', '8', 42);
        }
    }

    /** Decodes a chunked body up to where it stops (a missing last chunk is fine). */
    static String dechunk(byte[] raw, int p) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (p < raw.length) {
            int eol = p;
            while (eol + 1 < raw.length && !(raw[eol] == '\r' && raw[eol + 1] == '\n')) {
                eol++;
            }
            if (eol + 1 >= raw.length) {
                break;
            }
            int len = Integer.parseInt(new String(raw, p, eol - p, StandardCharsets.US_ASCII).trim(), 16);
            if (len == 0) {
                break;
            }
            int start = eol + 2;
            int n = Math.min(len, raw.length - start);
            out.write(raw, start, n);
            p = start + len + 2;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    static byte[] gunzip(byte[] b) throws IOException {
        return new GZIPInputStream(new ByteArrayInputStream(b)).readAllBytes();
    }
}
