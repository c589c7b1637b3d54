package dev.vigil.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;

import org.junit.jupiter.api.Test;

class ConfigTest {
    static final ConfigKey<Integer> PORT = ConfigKey.intKey("gateway.port", 8080, 1, 65535, "port");
    static final ConfigKey<Duration> TIMEOUT = ConfigKey.durationKey("gateway.ack-timeout", "5s",
            Duration.ofMillis(10), Duration.ofMinutes(5), "ack timeout");
    static final ConfigKey<Long> BODY = ConfigKey.bytesKey("gateway.max-body-bytes", "16MiB", 1024, 1L << 30, "body");
    static final ConfigKey<String> MODE = ConfigKey.enumKey("clickhouse.mode", "embedded", java.util.List.of("embedded", "external"), "mode");
    static final ConfigDef DEF = new ConfigDef().define(PORT, TIMEOUT, BODY, MODE);

    @Test
    void defaultsApplyWhenNothingIsSet() {
        Config c = Config.from(DEF, Map.of(), new Properties());
        assertThat(c.get(PORT)).isEqualTo(8080);
        assertThat(c.get(TIMEOUT)).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.get(BODY)).isEqualTo(16L * 1024 * 1024);
    }

    @Test
    void environmentOverridesFileWhichOverridesDefault() {
        Properties file = new Properties();
        file.setProperty("gateway.port", "9000");
        file.setProperty("clickhouse.mode", "external");
        Config c = Config.from(DEF, Map.of("VIGIL_GATEWAY_PORT", "9100"), file);
        assertThat(c.get(PORT)).isEqualTo(9100);
        assertThat(c.get(MODE)).isEqualTo("external");
    }

    @Test
    void badValueFailsNamingTheKeyAndTheAcceptedValues() {
        assertThatThrownBy(() -> Config.from(DEF, Map.of("VIGIL_GATEWAY_PORT", "eighty"), new Properties()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("gateway.port")
                .hasMessageContaining("VIGIL_GATEWAY_PORT")
                .hasMessageContaining("eighty")
                .hasMessageContaining("[1, 65535]");
        assertThatThrownBy(() -> Config.from(DEF, Map.of("VIGIL_CLICKHOUSE_MODE", "cloud"), new Properties()))
                .hasMessageContaining("clickhouse.mode").hasMessageContaining("one of embedded, external");
        assertThatThrownBy(() -> Config.from(DEF, Map.of("VIGIL_GATEWAY_ACK_TIMEOUT", "1h"), new Properties()))
                .hasMessageContaining("gateway.ack-timeout").hasMessageContaining("5m");
    }

    @Test
    void everyErrorIsReportedAtOnce() {
        assertThatThrownBy(() -> Config.from(DEF, Map.of("VIGIL_GATEWAY_PORT", "0", "VIGIL_GATEWAY_MAX_BODY_BYTES", "12XB"), new Properties()))
                .hasMessageContaining("gateway.port").hasMessageContaining("gateway.max-body-bytes");
    }

    @Test
    void requiredKeyWithoutValueFails() {
        ConfigDef def = new ConfigDef().define(ConfigKey.stringKey("data-dir", null, "where data lives").required());
        assertThatThrownBy(() -> Config.from(def, Map.of(), new Properties()))
                .hasMessageContaining("data-dir is required").hasMessageContaining("VIGIL_DATA_DIR");
    }

    @Test
    void markdownListsEveryKey() {
        assertThat(DEF.toMarkdown()).contains("`gateway.port`", "`VIGIL_GATEWAY_MAX_BODY_BYTES`", "`16MiB`");
    }
}
