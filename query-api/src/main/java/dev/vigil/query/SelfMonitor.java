package dev.vigil.query;

import dev.vigil.common.config.Config;

/** Placeholder replaced below. */
final class SelfMonitor implements AutoCloseable {
    static SelfMonitor fromConfig(Config c, QueryApi api) {
        return null;
    }

    @Override
    public void close() {
    }
}
