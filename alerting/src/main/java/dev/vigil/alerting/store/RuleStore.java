package dev.vigil.alerting.store;

import java.util.List;
import java.util.Optional;

/**
 * Durable, versioned storage of API-managed rule groups, per tenant and namespace. Every change
 * creates a new version; a delete is a version too (a tombstone), so history is never lost. The
 * file implementation is {@link FileRuleStore}; the query-api may provide one over ClickHouse.
 */
public interface RuleStore {
    /** One stored version of a group. {@code yaml} is null for a deletion. */
    record StoredGroup(String tenant, String namespace, String group, int version, long updatedAtMillis, String yaml) {
        public boolean deleted() {
            return yaml == null;
        }
    }

    /** Tenants that have (or had) stored groups. */
    List<String> tenants();

    /** The current (latest, not deleted) version of every group of a tenant, ordered by namespace and group. */
    List<StoredGroup> current(String tenant);

    Optional<StoredGroup> current(String tenant, String namespace, String group);

    /** Stores a new version of a group; returns it. */
    StoredGroup put(String tenant, String namespace, String group, String yaml);

    /** Records a deletion; returns the tombstone version, or empty if the group did not exist. */
    Optional<StoredGroup> delete(String tenant, String namespace, String group);

    /** Every version of a group, oldest first (including deletions). */
    List<StoredGroup> history(String tenant, String namespace, String group);

    Optional<StoredGroup> version(String tenant, String namespace, String group, int version);
}
