package dev.vigil.aggregator;

import java.util.Map;
import java.util.function.Function;

import org.apache.kafka.clients.producer.Producer;

import io.micrometer.core.instrument.MeterRegistry;

/**
 * What every job worker of one aggregator shares: ClickHouse, metrics, limits and the process-wide settings.
 *
 * @param deadLetterProducers a new dead-letter producer for the named job. Each job has its own, created with its first
 *                          dead letter and closed with the job: one job's flood of dead letters fills its own buffer and
 *                          waits for its own sends, never another job's
 *
 * @param bootstrapServers  Kafka bootstrap servers
 * @param groupPrefix       consumer group = prefix + job name
 * @param deadLetterTopic   where poison records go
 * @param deadLetterMaxBytes a dead letter keeps at most this many bytes of the record's key and value together
 * @param queueCapacity     flushes queued per job before its partitions are paused
 * @param flushParallelism  flusher threads per job; a partition always flushes on the same one (in order)
 * @param maxKeysPerFlush   in-memory rows per partition before a flush is forced
 * @param maxBytesPerFlush  estimated heap of one partition's buffer before a flush is forced
 * @param maxQueuedBytes    estimated heap of a job's cut, not yet stored flushes before its partitions are paused
 * @param seriesCacheBytes  estimated heap of a consumer thread's series cache before it is cleared
 * @param dedupMaxIds       per-partition id window in records (see SeenIds)
 * @param dedupWindowMs     per-partition id window in record time
 * @param maxFutureMs       events further in the future than this (vs record time) are dead-lettered
 * @param maxOverflowMetrics per tenant, the metric names a job counts and logs series-limit overflow under (then "__other__")
 * @param maxMeasureNames   per tenant and window, the distinct (metric, measure) names a job stores (then measure "__other__")
 * @param maxTenants        per window, the tenants a job keeps limiter state for (others stored as their series "__other__")
 * @param catchUpLag        a partition at least this many records behind its end offset is catching up (0: never)
 * @param catchUpFlushIntervalMs while catching up, a partition is flushed at this interval if it is longer than its job's
 * @param instance          this process (for the flush log)
 * @param consumerOverrides extra Kafka consumer properties
 * @param memory            the process' memory budget, shared by every job (flush-buffer allowances, estimates)
 */
public record WorkerSettings(
        ClickHouse ch,
        Function<String, Producer<byte[], byte[]>> deadLetterProducers,
        MeterRegistry registry,
        TenantLimits.Source limits,
        String bootstrapServers,
        String groupPrefix,
        String deadLetterTopic,
        int deadLetterMaxBytes,
        int queueCapacity,
        int flushParallelism,
        int maxKeysPerFlush,
        long maxBytesPerFlush,
        long maxQueuedBytes,
        long seriesCacheBytes,
        long dedupMaxIds,
        long dedupWindowMs,
        long maxFutureMs,
        long seriesWindowMs,
        int maxOverflowMetrics,
        int maxMeasureNames,
        int maxTenants,
        long catchUpLag,
        long catchUpFlushIntervalMs,
        String instance,
        Map<String, Object> consumerOverrides,
        MemoryBudget memory) {
}
