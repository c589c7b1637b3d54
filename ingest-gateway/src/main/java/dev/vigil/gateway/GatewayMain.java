package dev.vigil.gateway;

import dev.vigil.common.service.ServiceRunner;

/**
 * Starts the ingest gateway from the environment ({@code VIGIL_*}, see docs/gateway.md). Exit 2
 * on invalid configuration naming the key; prints {@code READY ingest-gateway <address>}.
 */
public final class GatewayMain {
    public static final String SERVICE = "ingest-gateway";

    private GatewayMain() {
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("--config-doc")) {
            System.out.print(GatewayConfig.DEF.toMarkdown());
            return;
        }
        ServiceRunner.run(SERVICE, GatewayConfig.DEF, Gateway::start);
    }
}
