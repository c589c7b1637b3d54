package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.vigil.common.config.ConfigException;

/** kafka.consumer-properties: tuning passes through, the settings exactly-once rests on are refused by name. */
class ConsumerPropsTest {

    @Test
    void tuningKeysPassThrough() {
        assertThat(AggregatorMain.consumerProps(List.of("session.timeout.ms=20000", " fetch.min.bytes = 1024 ")))
                .isEqualTo(Map.of("session.timeout.ms", "20000", "fetch.min.bytes", "1024"));
    }

    @Test
    void keysTheExactlyOnceEffectDependsOnAreRefusedWithTheKeyNamed() {
        for (String kv : List.of("enable.auto.commit=true", "group.id=other", "auto.offset.reset=latest", "isolation.level=read_uncommitted",
                "value.deserializer=org.apache.kafka.common.serialization.StringDeserializer")) {
            String key = kv.substring(0, kv.indexOf('='));
            assertThatThrownBy(() -> AggregatorMain.consumerProps(List.of("session.timeout.ms=20000", kv)))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("kafka.consumer-properties may not set '" + key + "'");
        }
    }

    @Test
    void anEntryWithoutAKeyIsRefused() {
        assertThatThrownBy(() -> AggregatorMain.consumerProps(List.of("=1"))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("invalid entry '=1'");
    }
}
