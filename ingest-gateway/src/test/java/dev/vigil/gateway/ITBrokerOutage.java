package dev.vigil.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import dev.vigil.common.codec.RecordCodec;
import dev.vigil.kafka.KafkaBroker;

/**
 * The broker is stopped for about 10 s under load: clients see 503 (or 429) or slow answers,
 * never a 2xx for data Kafka does not hold; afterwards every event of every 2xx answer is in
 * Kafka exactly once.
 */
class ITBrokerOutage {
    @Test
    void brokerStoppedUnderLoad() throws Exception {
        Path dir = Files.createTempDirectory("vigil-gw-outage");
        KafkaBroker broker = KafkaBroker.start(dir, 0);
        int port = broker.port();
        int ctl = broker.controllerPort();
        String bootstrap = broker.bootstrapServers();
        Gateway gw = TestSupport.gateway(bootstrap, "it-outage.", Map.of("VIGIL_GATEWAY_KAFKA_ACK_TIMEOUT", "2s"));
        Set<String> acked = ConcurrentHashMap.newKeySet();
        Map<Integer, AtomicLong> statuses = new ConcurrentHashMap<>();
        List<Long> slowest = new CopyOnWriteArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong seq = new AtomicLong();
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            int client = c;
            clients.add(Thread.ofPlatform().name("outage-client-" + c).start(() -> {
                long worst = 0;
                while (!stop.get()) {
                    long n = seq.incrementAndGet();
                    List<String> ids = new ArrayList<>();
                    StringBuilder sb = new StringBuilder("{\"events\":[");
                    for (int i = 0; i < 20; i++) {
                        String id = "o-" + client + "-" + n + "-" + i;
                        ids.add(id);
                        sb.append(i == 0 ? "" : ",").append("{\"type\":\"inference\",\"ts\":").append(System.currentTimeMillis())
                                .append(",\"dims\":{\"model\":\"m").append(i % 3).append("\"},\"measures\":{\"score\":").append(i)
                                .append("},\"event_id\":\"").append(id).append("\"}");
                    }
                    sb.append("]}");
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<byte[]> r = TestSupport.post(gw, "/v1/events", TestSupport.ACME_KEY, "application/json",
                                sb.toString().getBytes(StandardCharsets.UTF_8));
                        statuses.computeIfAbsent(r.statusCode(), k -> new AtomicLong()).incrementAndGet();
                        if (r.statusCode() == 200) {
                            acked.addAll(ids);
                        } else {
                            assertThat(r.headers().firstValue("Retry-After")).as("status " + r.statusCode()).isPresent();
                        }
                    } catch (Exception e) {
                        statuses.computeIfAbsent(-1, k -> new AtomicLong()).incrementAndGet();
                    }
                    worst = Math.max(worst, (System.nanoTime() - t0) / 1_000_000);
                    sleep(20);
                }
                slowest.add(worst);
            }));
        }
        sleep(4000);
        long okBefore = statuses.getOrDefault(200, new AtomicLong()).get();
        broker.close();
        sleep(10_000);
        Map<Integer, Long> during = snapshot(statuses);
        broker = KafkaBroker.start(dir, port, ctl, Map.of());
        long restarted = System.currentTimeMillis();
        // Wait until the gateway writes again, then a little more load.
        while (System.currentTimeMillis() - restarted < 30_000 && statuses.getOrDefault(200, new AtomicLong()).get() <= during.getOrDefault(200, 0L)) {
            sleep(200);
        }
        sleep(3000);
        stop.set(true);
        for (Thread t : clients) {
            t.join(30_000);
        }
        Map<Integer, Long> fin = snapshot(statuses);
        try {
            assertThat(okBefore).as("2xx before the outage").isPositive();
            assertThat(fin.getOrDefault(503, 0L) + fin.getOrDefault(429, 0L)).as("503/429 during the outage " + fin).isPositive();
            assertThat(fin.get(200)).as("2xx after the restart " + fin).isGreaterThan(during.getOrDefault(200, 0L));
            assertThat(fin.keySet()).as("only 200, 429, 503: " + fin).isSubsetOf(Set.of(200, 429, 503));
            assertThat(slowest).as("every answer within a bounded time").allMatch(ms -> ms < 8000);

            Map<String, Integer> inKafka = new HashMap<>();
            for (var rec : TestSupport.readAll(broker.bootstrapServers(), "it-outage.events")) {
                inKafka.merge(RecordCodec.decodeEvent(rec.value()).eventId(), 1, Integer::sum);
            }
            for (String id : acked) {
                assertThat(inKafka.get(id)).as("acknowledged event " + id + " in Kafka exactly once").isEqualTo(1);
            }
            assertThat(inKafka.values()).as("no event id twice in Kafka").allMatch(n -> n == 1);
            System.out.println("outage test statuses=" + fin + " acked_events=" + acked.size() + " kafka_events=" + inKafka.size()
                    + " worst_ms=" + slowest);
            assertThat(TestSupport.get(gw, "/health/ready").statusCode()).isEqualTo(200);
        } finally {
            gw.close();
            broker.close();
        }
    }

    static Map<Integer, Long> snapshot(Map<Integer, AtomicLong> m) {
        Map<Integer, Long> out = new HashMap<>();
        m.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
