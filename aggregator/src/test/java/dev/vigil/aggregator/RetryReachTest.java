package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import org.junit.jupiter.api.Test;

class RetryReachTest {
    /**
     * A partition read poll by poll, its records' times rising at a varying rate: the reach is never longer than the time
     * the record window truly spans (the newest record time minus the time of the window's oldest record), and shorter by
     * at most the time of one sample step and one poll.
     */
    @Test
    void errsShortOfTheTimeTheRecordWindowSpansByAtMostAStepAndAPoll() {
        long maxIds = 10_000;
        long window = 3_600_000;
        RetryReach reach = new RetryReach(maxIds, window);
        Random rnd = new Random(7);
        int n = 200_000;
        long[] ts = new long[n];
        long t = 1_000_000;
        for (int o = 0; o < n; o++) {
            t += rnd.nextInt(o / 20_000 % 2 == 0 ? 3 : 20); // 1 ms a record on average, then 9.5
            ts[o] = t;
        }
        reach.start(0, 0, 0, false);
        int o = 0;
        int known = 0;
        while (o < n) {
            int poll = 1 + rnd.nextInt(500);
            o = Math.min(n, o + poll);
            long wm = ts[o - 1];
            reach.sample(o, wm);
            long got = reach.reachMs(o, wm, true);
            long oldest = o - maxIds;
            if (oldest <= 0) {
                assertThat(got).as("young partition at %d", o).isEqualTo(window);
                continue;
            }
            long truth = wm - ts[(int) oldest];
            long slack = ts[(int) Math.min(n - 1, oldest + (maxIds + 255) / 256 + 500)] - ts[(int) oldest];
            assertThat(got).as("at offset %d", o).isBetween(truth - slack, truth);
            known++;
        }
        assertThat(known).isGreaterThan(100);
        assertThat(reach.samples()).isLessThanOrEqualTo(RetryReach.SAMPLES + 2);
    }

    @Test
    void theTimeWindowBindsWhenTheRecordWindowSpansLonger() {
        RetryReach reach = new RetryReach(10_000, 60_000);
        reach.start(0, 50_000, 0, true); // resumed deep in the log, one record a second
        for (long o = 50_001; o <= 50_100; o++) {
            reach.sample(o, (o - 50_000) * 1000);
        }
        assertThat(reach.reachMs(50_100, 100_000, true)).isEqualTo(60_000);
    }

    @Test
    void unknownUntilTheSamplesCoverARecordWindowAfterAnAssignmentDeepInTheLog() {
        RetryReach reach = new RetryReach(10_000, 3_600_000);
        reach.start(0, 1_000_000, 5_000, true);
        long o = 1_000_000;
        for (; o < 1_009_000; o += 100) {
            reach.sample(o + 100, 5_000 + (o + 100 - 1_000_000));
            assertThat(reach.reachMs(o + 100, 5_000 + (o + 100 - 1_000_000), true)).as("at %d", o).isEqualTo(RetryReach.UNKNOWN);
        }
        for (; o < 1_020_000; o += 100) {
            reach.sample(o + 100, 5_000 + (o + 100 - 1_000_000));
        }
        assertThat(reach.reachMs(o, 5_000 + (o - 1_000_000), true)).isBetween(10_000L - 200, 10_000L);
    }

    @Test
    void aPartitionShorterThanTheRecordWindowKeepsTheTimeWindow() {
        RetryReach reach = new RetryReach(500_000, 86_400_000);
        reach.start(1_000, 1_000, 0, false);
        reach.sample(400_000, 123_456);
        assertThat(reach.reachMs(400_000, 123_456, true)).isEqualTo(86_400_000);
    }

    @Test
    void theShorterOfTwoReachesIsTheShorterKnownOne() {
        assertThat(RetryReach.shorter(RetryReach.UNKNOWN, RetryReach.UNKNOWN)).isEqualTo(RetryReach.UNKNOWN);
        assertThat(RetryReach.shorter(RetryReach.UNKNOWN, 5_000)).isEqualTo(5_000);
        assertThat(RetryReach.shorter(5_000, RetryReach.UNKNOWN)).isEqualTo(5_000);
        assertThat(RetryReach.shorter(7_000, 5_000)).isEqualTo(5_000);
        assertThat(RetryReach.shorter(0, 5_000)).isZero();
    }

    @Test
    void noReachWhenClientIdsAreNotKept() {
        RetryReach reach = new RetryReach(0, 86_400_000);
        reach.start(0, 0, 0, false);
        reach.sample(10, 10);
        assertThat(reach.reachMs(10, 10, true)).isZero();
    }

    @Test
    void heldSamplesStayBoundedWhateverThePollSize() {
        RetryReach reach = new RetryReach(1_000_000, 86_400_000);
        reach.start(0, 0, 0, true);
        for (long o = 1; o <= 5_000_000; o++) {
            reach.sample(o, o);
        }
        assertThat(reach.samples()).isLessThanOrEqualTo(RetryReach.SAMPLES + 2);
        assertThat(reach.reachMs(5_000_000, 5_000_000, true)).isBetween(1_000_000L - 4_000, 1_000_000L);
    }
}
