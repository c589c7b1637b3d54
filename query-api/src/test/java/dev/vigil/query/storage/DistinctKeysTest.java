package dev.vigil.query.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import dev.vigil.common.histogram.LogBuckets;

/** The distinct log-bucket keys of a metric's histograms (they decide its le set), dense and sparse key ranges. */
class DistinctKeysTest {
    @Test
    void sameAsASortedSet() {
        Random r = new Random(5);
        for (int round = 0; round < 200; round++) {
            List<int[]> lists = new ArrayList<>();
            TreeSet<Integer> want = new TreeSet<>();
            int n = r.nextInt(5);
            for (int i = 0; i < n; i++) {
                int[] a = new int[r.nextInt(50)];
                for (int j = 0; j < a.length; j++) {
                    a[j] = switch (r.nextInt(4)) {
                        case 0 -> LogBuckets.ZERO_KEY;
                        case 1 -> round % 2 == 0 ? 100 + r.nextInt(500) : -2_000_000 - r.nextInt(500); // negatives: wide range
                        case 2 -> round % 7 == 0 ? Integer.MAX_VALUE - r.nextInt(3) : r.nextInt(800);
                        default -> r.nextInt(1000) - 200;
                    };
                    want.add(a[j]);
                }
                lists.add(a);
            }
            assertArrayEquals(want.stream().mapToInt(Integer::intValue).toArray(), ClickHouseStorage.distinctKeys(lists), "round " + round);
        }
    }
}
