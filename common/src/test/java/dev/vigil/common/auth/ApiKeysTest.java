package dev.vigil.common.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.junit.jupiter.api.Test;

import dev.vigil.common.config.ConfigException;

class ApiKeysTest {
    @Test
    void resolvesPlainAndPreHashedKeys() {
        ApiKeys keys = ApiKeys.parse(List.of("acme:secret-1", "globex:sha256:" + ApiKeys.sha256Hex("secret-2")));
        assertThat(keys.tenantOf("secret-1")).contains("acme");
        assertThat(keys.tenantOfAuthorization("Bearer secret-2")).contains("globex");
        assertThat(keys.tenantOfAuthorization("bearer  secret-2 ")).contains("globex");
        assertThat(keys.tenantOf("secret-3")).isEmpty();
        assertThat(keys.tenantOfAuthorization("Basic c2VjcmV0LTE=")).isEmpty();
        assertThat(keys.tenantOfAuthorization(null)).isEmpty();
    }

    @Test
    void malformedEntriesNameTheProblemWithoutLeakingTheKey() {
        assertThatThrownBy(() -> ApiKeys.parse(List.of("no-colon-here")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("api-keys");
        assertThatThrownBy(() -> ApiKeys.parse(List.of("bad tenant:abc"))).hasMessageContaining("invalid tenant");
        assertThatThrownBy(() -> ApiKeys.parse(List.of("t:sha256:xyz"))).hasMessageContaining("64 hex");
    }
}
