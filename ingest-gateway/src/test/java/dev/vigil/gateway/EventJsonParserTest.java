package dev.vigil.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vigil.common.config.Config;

class EventJsonParserTest {
    static final GatewayConfig.Limits LIMITS = GatewayConfig.Limits.of(Config.load(GatewayConfig.DEF, Map.of()));
    static final long NOW = 1_800_000_000_000L;

    static EventJsonParser.Result parse(String s, boolean nd, String headerBatch) {
        return new EventJsonParser(LIMITS).parse(new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8)), nd, "t1", headerBatch, NOW);
    }

    @Test
    void eventIdsFollowTheConvention() {
        var r = parse("{\"events\":[{\"type\":\"a\",\"ts\":" + NOW + "},{\"type\":\"a\",\"ts\":" + NOW + ",\"event_id\":\"x\"}],\"batch_id\":\"b\"}", false, null);
        assertThat(r.events()).extracting(e -> e.eventId()).containsExactly("b#0", "x");
        r = parse("[{\"type\":\"a\",\"ts\":" + NOW + "}]", false, null);
        assertThat(r.events().get(0).eventId()).isNull();
        r = parse("{\"type\":\"a\",\"ts\":" + NOW + "}\n{\"type\":\"a\",\"ts\":\"2027-01-15T08:00:00Z\"}\n", true, "hb");
        assertThat(r.events()).extracting(e -> e.eventId()).containsExactly("hb#0", "hb#1");
    }

    @Test
    void theBatchIdHeaderFollowsTheBatchIdRules() {
        String nd = "{\"type\":\"a\",\"ts\":" + NOW + "}\n";
        // empty: every such request's ids would be "#0", "#1", ... and collide with each other's as retries
        for (String bad : new String[] {"", "a\tb", "x".repeat(LIMITS.maxValueLength() + 1)}) {
            assertThatThrownBy(() -> parse(nd, true, bad)).as("header %s", bad).isInstanceOfSatisfying(RequestException.class, e -> {
                assertThat(e.status()).isEqualTo(400);
                assertThat(e.code()).isEqualTo("invalid_batch_id");
                assertThat(e.getMessage()).contains(EventsEndpoint.BATCH_ID_HEADER);
            });
        }
        assertThat(parse(nd, true, "x".repeat(LIMITS.maxValueLength())).events()).hasSize(1);
    }

    @Test
    void rejectedEventsKeepTheirIndex() {
        var r = parse("{\"batch_id\":\"b\",\"events\":[{\"type\":\"a\"},{\"type\":\"a\",\"ts\":" + NOW + "}]}", false, null);
        assertThat(r.rejections()).extracting(Rejection::index, Rejection::field, Rejection::reason).containsExactly(
                org.assertj.core.groups.Tuple.tuple(0, "ts", "missing"));
        assertThat(r.events().get(0).eventId()).isEqualTo("b#1");
        assertThat(r.total()).isEqualTo(2);
    }

    @Test
    void parseErrorsCarryPosition() {
        assertThatThrownBy(() -> parse("{\"events\":\n[}", false, null)).isInstanceOfSatisfying(RequestException.class, e -> {
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.details()).containsEntry("line", 2);
        });
        // Jackson nests the location where the object started: line and column, not its "[Source: REDACTED ...]"
        assertThatThrownBy(() -> parse("{\"events\":[{\"type\":\"a\"", false, null)).isInstanceOfSatisfying(RequestException.class, e ->
                assertThat(e.getMessage()).contains("line: 1, column: 12").doesNotContain("REDACTED"));
    }

    @Test
    void namesSanitise() {
        assertThat(Names.sanitize("http.server.duration", true)).isEqualTo("http_server_duration");
        assertThat(Names.sanitize("9lives", false)).isEqualTo("_9lives");
        assertThat(new Names(10, 10).labelName("f", "ok_name")).isNull();
    }
}
