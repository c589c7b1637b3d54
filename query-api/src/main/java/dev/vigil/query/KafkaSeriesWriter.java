package dev.vigil.query;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SortedMap;
import java.util.TreeMap;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.alerting.LabelSet;
import dev.vigil.alerting.SeriesWriter;
import dev.vigil.common.codec.RecordCodec;
import dev.vigil.common.model.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Writes recording-rule results and {@code ALERTS}/{@code ALERTS_FOR_STATE} series back as ordinary
 * samples: each one is produced to the samples topic ({@code vigil.samples}) exactly as the gateway
 * and {@link SelfMonitor} do (RecordCodec value, series key, {@code vigil-kind: sample} header), so
 * the aggregator stores it in {@code vigil_samples} under the rule's tenant and it is queryable by
 * PromQL after the aggregator's next flush (seconds). Prometheus staleness markers are not stored
 * (the storage has no staleness; a series simply stops). Sends are asynchronous; a failed send is
 * counted in {@code vigil_query_rule_samples_failed_total} and logged.
 */
public final class KafkaSeriesWriter implements SeriesWriter, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KafkaSeriesWriter.class);

    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final Counter written;
    private final Counter failed;

    public KafkaSeriesWriter(String bootstrap, String topicPrefix, MeterRegistry registry) {
        this.producer = samplesProducer(bootstrap, "vigil-rule-writer");
        this.topic = Topics.samples(topicPrefix);
        this.written = registry.counter("vigil_query_rule_samples_written_total");
        this.failed = registry.counter("vigil_query_rule_samples_failed_total");
    }

    @Override
    public void write(String tenant, List<SeriesWriter.Sample> samples) {
        for (SeriesWriter.Sample s : samples) {
            if (s.isStale() || Double.isNaN(s.value())) {
                continue;
            }
            dev.vigil.common.model.Sample out = toSample(tenant, s);
            try {
                producer.send(sampleRecord(topic, out), (md, e) -> {
                    if (e != null) {
                        failed.increment();
                        log.warn("rule sample send failed tenant={} name={} error={}", tenant, out.name(), e.toString());
                    } else {
                        written.increment();
                    }
                });
            } catch (RuntimeException e) {
                failed.increment();
                log.warn("rule sample send failed tenant={} name={} error={}", tenant, out.name(), e.toString());
            }
        }
    }

    /** A producer for the samples topic with the gateway's durability settings (acks=all, idempotence). */
    static KafkaProducer<byte[], byte[]> samplesProducer(String bootstrap, String clientId) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** A sample as the gateway writes it: series key, RecordCodec value, {@code vigil-kind: sample} header. */
    static ProducerRecord<byte[], byte[]> sampleRecord(String topic, dev.vigil.common.model.Sample s) {
        return new ProducerRecord<>(topic, null, null, s.seriesKey().getBytes(StandardCharsets.UTF_8), RecordCodec.encode(s),
                List.of(new RecordHeader("vigil-kind", "sample".getBytes(StandardCharsets.UTF_8))));
    }

    static dev.vigil.common.model.Sample toSample(String tenant, SeriesWriter.Sample s) {
        SortedMap<String, String> labels = new TreeMap<>();
        String name = "";
        for (Map.Entry<String, String> e : s.labels()) {
            if (e.getKey().equals(LabelSet.METRIC_NAME)) {
                name = e.getValue();
            } else {
                labels.put(e.getKey(), e.getValue());
            }
        }
        return new dev.vigil.common.model.Sample(tenant, name, labels, s.timestampMillis(), s.value());
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}
