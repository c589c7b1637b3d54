package dev.vigil.common.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

class RedactTest {
    @Test
    void urlsKeepOnlySchemeHostAndPort() {
        assertThat(Redact.urls("https://hooks.example.com/services/T0/B0?token=s3cr3t")).isEqualTo("https://hooks.example.com/***");
        // the secret of a Slack-style webhook is in its path
        assertThat(Redact.urls("https://hooks.slack.com/services/T000/B000/XXXXSECRET")).isEqualTo("https://hooks.slack.com/***");
        assertThat(Redact.urls("http://user:pw@am.internal:9093")).isEqualTo("http://am.internal:9093/***");
        // an @ in the query is not user info: the host stays
        assertThat(Redact.urls("http://am:9093?contact=ops@x.com")).isEqualTo("http://am:9093/***");
        // ; inside a query does not end the redaction
        assertThat(Redact.urls("http://a:1/x?token=abc;def")).isEqualTo("http://a:1/***");
        assertThat(Redact.urls("jdbc:clickhouse:http://ch:8123/default?password=x&ssl=true")).isEqualTo("jdbc:clickhouse:http://ch:8123/***");
        // a list of targets: each URL on its own
        assertThat(Redact.urls("[am=alertmanager:http://a:1/x?k=1, hook=webhook:https://u:p@b/y]"))
                .isEqualTo("[am=alertmanager:http://a:1/***, hook=webhook:https://b/***]");
        assertThat(Redact.urls("http://127.0.0.1:9093")).isEqualTo("http://127.0.0.1:9093");
        assertThat(Redact.urls("http://127.0.0.1:9093/")).isEqualTo("http://127.0.0.1:9093");
        assertThat(Redact.urls("no url here")).isEqualTo("no url here");
    }

    @Test
    void theStartupLineShowsNoSecretsOfUrls() {
        ConfigKey<String> hook = ConfigKey.stringKey("test.hook", "", "a URL");
        Config c = Config.load(new ConfigDef().define(hook), Map.of("VIGIL_TEST_HOOK", "https://x.example/h?token=abc"));
        assertThat(c.describe()).contains("test.hook=https://x.example/***").doesNotContain("abc");
    }
}
