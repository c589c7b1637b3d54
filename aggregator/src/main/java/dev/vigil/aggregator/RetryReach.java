package dev.vigil.aggregator;

/**
 * How far back in record time a partition's retry store still recognises a client retry: the shorter of
 * {@code aggregator.dedup.window} and the time its record window ({@code aggregator.dedup.max-ids-per-partition}
 * records) spans. A retry whose original is older than that is counted again, by the rule ({@link SeenIds}); at a high
 * rate per partition it is the record window, not the 24 h, that bounds it, and this says by how much.
 *
 * <p>Kept from samples of (offset, watermark) taken after a poll's records of the partition, at most one per
 * 1/{@value #SAMPLES} of the record window, so it holds at most {@value #SAMPLES} + 2 samples whatever the rate. The reach
 * is measured from the first sample past the window's oldest offset, whose watermark is at or after that record's
 * time: it errs short, by at most the time of 1/{@value #SAMPLES} of the window and one poll. Consumer thread only.
 */
final class RetryReach {
    static final int SAMPLES = 256;
    /** Not known yet: the partition was assigned less than a record window and a time window ago. */
    static final long UNKNOWN = -1;

    private final long maxIds;
    private final long windowMs;
    private final long step;
    private final long[] offsets = new long[SAMPLES + 2];
    private final long[] watermarks = new long[SAMPLES + 2];
    private int head;
    private int size;
    /** The partition's first offset in Kafka when it was assigned: no record before it can be retried. */
    private long floor = Long.MAX_VALUE;
    /** Where reading resumed when recovery found no watermark there (the job had not read the partition): sampled with the first poll's. */
    private long unsampledStart = -1;

    RetryReach(long maxIds, long windowMs) {
        this.maxIds = maxIds;
        this.windowMs = windowMs;
        this.step = Math.max(1, (maxIds + SAMPLES - 1) / SAMPLES);
    }

    /**
     * On assignment, after recovery: reading resumes at {@code offset} of a partition whose first offset is
     * {@code logStart}, with the watermark recovery found there, if any.
     */
    void start(long logStart, long offset, long watermark, boolean hasWatermark) {
        head = 0;
        size = 0;
        floor = logStart;
        unsampledStart = -1;
        if (hasWatermark) {
            add(offset, watermark);
        } else {
            unsampledStart = offset; // the first poll's watermark stands for it: later than the truth, so the reach errs short
        }
    }

    /** After a poll's records: {@code next} is the offset of the next record, {@code watermark} the largest record time before it. */
    void sample(long next, long watermark) {
        if (unsampledStart >= 0) {
            add(unsampledStart, watermark);
            unsampledStart = -1;
        }
        long oldest = next - maxIds;
        while (size >= 2 && offsets[(head + 1) % offsets.length] <= oldest) {
            drop(); // one sample at or before the window's oldest offset stays: it shows the samples cover the window
        }
        if (size == 0 || next - offsets[(head + size - 1) % offsets.length] >= step) {
            if (size == offsets.length) { // not reached with the spacing above; bounded regardless
                drop();
            }
            add(next, watermark);
        }
    }

    /** The reach in ms at the partition's position {@code next} and watermark, or {@link #UNKNOWN}. */
    long reachMs(long next, long watermark, boolean hasWatermark) {
        if (maxIds == 0) {
            return 0;
        }
        long oldest = next - maxIds;
        if (oldest <= floor) {
            return windowMs; // every record the partition has is within the record window
        }
        if (size == 0 || !hasWatermark) {
            return UNKNOWN;
        }
        if (offsets[head] > oldest) { // the samples begin inside the record window: only the time window can be known
            return watermark - watermarks[head] >= windowMs ? windowMs : UNKNOWN;
        }
        int i = head;
        for (int k = 1; k < size; k++) {
            i = (head + k) % offsets.length;
            if (offsets[i] > oldest) {
                break;
            }
        }
        return Math.max(0, Math.min(windowMs, watermark - watermarks[i]));
    }

    /** The shorter of two reaches, either of which may be {@link #UNKNOWN}: a known one wins over an unknown one. */
    static long shorter(long a, long b) {
        return a == UNKNOWN ? b : b == UNKNOWN ? a : Math.min(a, b);
    }

    /** Samples held, for tests. */
    int samples() {
        return size;
    }

    private void add(long offset, long watermark) {
        int i = (head + size) % offsets.length;
        offsets[i] = offset;
        watermarks[i] = watermark;
        size++;
    }

    private void drop() {
        head = (head + 1) % offsets.length;
        size--;
    }
}
