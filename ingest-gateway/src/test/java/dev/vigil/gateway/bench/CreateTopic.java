package dev.vigil.gateway.bench;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;

/** {@code CreateTopic <bootstrap> <topic> <partitions>}: for ingest-gateway/bench.sh (ProducerPerformance's topic). */
public final class CreateTopic {
    public static void main(String[] args) throws Exception {
        try (Admin a = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]))) {
            a.createTopics(List.of(new NewTopic(args[1], Integer.parseInt(args[2]), (short) 1))).all().get(60, TimeUnit.SECONDS);
        }
    }
}
