package dev.vigil.alerting.store;

import java.util.Optional;

import dev.vigil.alerting.GroupState;

/** Durable alert state per rule group (what a restart restores). */
public interface AlertStateStore {
    Optional<GroupState> load(String groupKey);

    void save(String groupKey, GroupState state);

    void delete(String groupKey);

    /** Keeps nothing (tests, or deployments that accept losing state on restart). */
    AlertStateStore NONE = new AlertStateStore() {
        @Override
        public Optional<GroupState> load(String groupKey) {
            return Optional.empty();
        }

        @Override
        public void save(String groupKey, GroupState state) {
        }

        @Override
        public void delete(String groupKey) {
        }
    };
}
