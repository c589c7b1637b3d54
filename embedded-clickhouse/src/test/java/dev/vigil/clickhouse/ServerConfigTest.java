package dev.vigil.clickhouse;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ServerConfigTest {
    @Test
    void defaults() {
        ServerConfig c = ServerConfig.fromEnv(Map.of());
        assertThat(c.port()).isEqualTo(8123);
        assertThat(c.host()).isEqualTo("127.0.0.1");
        assertThat(c.users()).containsExactly(new ServerConfig.User("default", "", false));
        assertThat(c.maxBodyBytes()).isEqualTo(1L << 30);
    }

    @Test
    void parsesEveryKey() {
        ServerConfig c = ServerConfig.fromEnv(Map.of(ServerConfig.PORT, "9000", ServerConfig.DATA_DIR, "/x/y",
                ServerConfig.USERS, "default:,w:secret,r:pw:readonly", ServerConfig.POOL_SIZE, "3",
                ServerConfig.MAX_BODY, "64MiB", ServerConfig.SESSION_TIMEOUT, "10"));
        assertThat(c.port()).isEqualTo(9000);
        assertThat(c.dataDir()).isEqualTo(Path.of("/x/y"));
        assertThat(c.users()).contains(new ServerConfig.User("r", "pw", true), new ServerConfig.User("w", "secret", false));
        assertThat(c.poolSize()).isEqualTo(3);
        assertThat(c.maxBodyBytes()).isEqualTo(64L << 20);
        assertThat(c.defaultSessionTimeout().toSeconds()).isEqualTo(10);
    }

    @Test
    void errorsNameTheKeyAndAcceptedValues() {
        assertThatThrownBy(() -> ServerConfig.fromEnv(Map.of(ServerConfig.PORT, "80000")))
                .hasMessageContaining("VIGIL_CLICKHOUSE_PORT").hasMessageContaining("0..65535");
        assertThatThrownBy(() -> ServerConfig.fromEnv(Map.of(ServerConfig.USERS, "bob")))
                .hasMessageContaining("VIGIL_CLICKHOUSE_USERS").hasMessageContaining("name:password")
                .hasMessageNotContaining("bob");
        assertThatThrownBy(() -> ServerConfig.fromEnv(Map.of(ServerConfig.MAX_BODY, "12 parsecs")))
                .hasMessageContaining("VIGIL_CLICKHOUSE_MAX_BODY_BYTES");
        assertThatThrownBy(() -> ServerConfig.fromEnv(Map.of("VIGIL_CLICKHOUSE_POOLSIZE", "4")))
                .hasMessageContaining("VIGIL_CLICKHOUSE_POOLSIZE: unknown key");
        assertThatThrownBy(() -> ServerConfig.fromEnv(Map.of(ServerConfig.SESSION_TIMEOUT, "100",
                ServerConfig.MAX_SESSION_TIMEOUT, "50"))).hasMessageContaining("exceeds");
    }
}
