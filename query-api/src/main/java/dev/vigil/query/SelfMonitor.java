package dev.vigil.query;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.vigil.common.config.Config;
import dev.vigil.common.model.Sample;
import dev.vigil.common.model.Topics;
import io.micrometer.core.instrument.Counter;

/**
 * Vigil watches itself: scrapes the services' {@code /metrics} (Prometheus text format) every
 * interval and produces the samples, under the system tenant, to the samples topic exactly as the
 * gateway would ({@link KafkaSeriesWriter#sampleRecord}: RecordCodec value, series key, {@code kind: sample} header), so the aggregator
 * stores them in {@code vigil_samples} and they are queryable like any tenant's metrics. Each
 * sample gets {@code job} (from the target) and {@code instance} (host:port) labels; a failed
 * scrape writes {@code up{job,instance} 0}, a good one {@code up 1}.
 */
public final class SelfMonitor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SelfMonitor.class);

    /** A scrape target. {@code body} supplies the text for in-process targets ("self"). */
    public record Target(String job, String url, Supplier<String> body) {
    }

    private final List<Target> targets;
    private final String tenant;
    private final String topic;
    private final KafkaProducer<byte[], byte[]> producer;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("self-monitor").daemon().factory());
    private final Counter scraped;
    private final Counter failed;

    public SelfMonitor(List<Target> targets, String tenant, String bootstrap, String topicPrefix, Duration interval,
                       io.micrometer.core.instrument.MeterRegistry registry) {
        this.targets = List.copyOf(targets);
        this.tenant = tenant;
        this.topic = Topics.samples(topicPrefix);
        this.producer = KafkaSeriesWriter.samplesProducer(bootstrap, "vigil-self-monitor");
        this.scraped = registry.counter("vigil_selfmon_samples_total");
        this.failed = registry.counter("vigil_selfmon_scrape_failures_total");
        timer.scheduleAtFixedRate(this::scrapeAll, 1000, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    static SelfMonitor fromConfig(Config c, QueryApi api) {
        List<String> specs = c.get(QueryApiMain.SELFMON_TARGETS);
        if (specs.isEmpty()) {
            return null;
        }
        List<Target> targets = new ArrayList<>();
        for (String spec : specs) {
            int i = spec.indexOf('=');
            if (spec.equals("self") || spec.endsWith("=self")) {
                targets.add(new Target(i > 0 ? spec.substring(0, i) : "query-api", api.baseUrl() + "/metrics", () -> api.registry().scrape()));
            } else if (i > 0) {
                targets.add(new Target(spec.substring(0, i), spec.substring(i + 1), null));
            } else {
                throw new dev.vigil.common.config.ConfigException("config key self-monitoring.targets has invalid entry '" + spec
                        + "'; accepted values: job=http://host:port/metrics or self");
            }
        }
        log.info("self-monitoring targets={} tenant={}", targets.stream().map(Target::job).toList(), c.get(QueryApiMain.SELFMON_TENANT));
        return new SelfMonitor(targets, c.get(QueryApiMain.SELFMON_TENANT), QueryApiMain.kafkaBootstrap(c), c.get(QueryApiMain.SELFMON_TOPIC_PREFIX),
                c.get(QueryApiMain.SELFMON_INTERVAL), api.registry());
    }

    /** One round over every target (also called by tests). */
    public void scrapeAll() {
        long now = System.currentTimeMillis();
        for (Target t : targets) {
            String instance = URI.create(t.url).getAuthority();
            String body = null;
            try {
                if (t.body != null) {
                    body = t.body.get();
                } else {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(t.url)).timeout(Duration.ofSeconds(5)).GET().build(),
                            HttpResponse.BodyHandlers.ofString());
                    body = r.statusCode() == 200 ? r.body() : null;
                }
            } catch (Exception e) {
                log.debug("self-monitoring scrape failed job={} error={}", t.job, e.toString());
            }
            Map<String, String> extra = new LinkedHashMap<>();
            extra.put("job", t.job);
            extra.put("instance", instance);
            List<Sample> out = new ArrayList<>();
            if (body != null) {
                out.addAll(parse(tenant, body, extra, now));
            } else {
                failed.increment();
            }
            SortedMap<String, String> upLabels = new TreeMap<>(extra);
            out.add(new Sample(tenant, "up", upLabels, now, body != null ? 1 : 0));
            for (Sample s : out) {
                producer.send(KafkaSeriesWriter.sampleRecord(topic, s), (md, e) -> {
                    if (e != null) {
                        log.debug("self-monitoring send failed error={}", e.toString());
                    }
                });
            }
            scraped.increment(out.size());
        }
    }

    /** Parses the Prometheus text exposition format (comments skipped, optional timestamps honoured). */
    public static List<Sample> parse(String tenant, String text, Map<String, String> extra, long defaultTs) {
        List<Sample> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                int i = 0;
                while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
                    i++;
                }
                String name = line.substring(0, i);
                SortedMap<String, String> labels = new TreeMap<>();
                if (i < line.length() && line.charAt(i) == '{') {
                    i++;
                    while (line.charAt(i) != '}') {
                        int eq = line.indexOf('=', i);
                        String k = line.substring(i, eq).strip();
                        int j = eq + 2;
                        StringBuilder v = new StringBuilder();
                        while (line.charAt(j) != '"') {
                            char c = line.charAt(j);
                            if (c == '\\') {
                                char n = line.charAt(++j);
                                v.append(n == 'n' ? '\n' : n);
                            } else {
                                v.append(c);
                            }
                            j++;
                        }
                        labels.put(k, v.toString());
                        i = j + 1;
                        while (line.charAt(i) == ',' || line.charAt(i) == ' ') {
                            i++;
                        }
                    }
                    i++;
                }
                String[] rest = line.substring(i).strip().split("\\s+");
                double v = switch (rest[0]) {
                    case "+Inf" -> Double.POSITIVE_INFINITY;
                    case "-Inf" -> Double.NEGATIVE_INFINITY;
                    case "NaN" -> Double.NaN;
                    default -> Double.parseDouble(rest[0]);
                };
                long ts = rest.length > 1 ? Long.parseLong(rest[1]) : defaultTs;
                extra.forEach(labels::putIfAbsent);
                out.add(new Sample(tenant, name, labels, ts, v));
            } catch (RuntimeException e) {
                log.debug("self-monitoring: skipped unparsable line '{}'", line);
            }
        }
        return out;
    }

    @Override
    public void close() {
        timer.shutdownNow();
        producer.close(Duration.ofSeconds(5));
    }
}
