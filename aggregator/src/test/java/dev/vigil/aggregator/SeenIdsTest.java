package dev.vigil.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

class SeenIdsTest {
    @Test
    void duplicateWithinBoundsOnly() {
        SeenIds s = new SeenIds(100, 1000);
        s.accept(1, 2, 10, 5000, 5000);
        assertThat(s.isDuplicate(1, 2, 11, 5000)).isTrue();
        assertThat(s.isDuplicate(1, 3, 11, 5000)).isFalse();
        assertThat(s.isDuplicate(1, 2, 111, 5000)).as("beyond the record window").isFalse();
        assertThat(s.isDuplicate(1, 2, 11, 6001)).as("beyond the time window").isFalse();
    }

    /** A store rebuilt from the accepted ids (as recovery does) decides exactly like the original. */
    @Test
    void rebuiltStoreDecidesLikeTheOriginal() {
        Random rnd = new Random(1);
        long maxIds = 500;
        long window = 10_000;
        SeenIds live = new SeenIds(maxIds, window);
        record Acc(long h, long l, long off, long ts) {
        }
        List<Acc> accepted = new ArrayList<>();
        long wm = Long.MIN_VALUE / 4;
        long[] ids = new long[5000];
        long[] tss = new long[5000];
        for (int o = 0; o < 5000; o++) {
            ids[o] = rnd.nextInt(800);
            tss[o] = o * 7L + rnd.nextInt(50);
        }
        int cut = 3100;
        List<Boolean> decisions = new ArrayList<>();
        long wmAtCut = 0;
        for (int o = 0; o < 5000; o++) {
            if (o == cut) {
                wmAtCut = wm;
            }
            wm = Math.max(wm, tss[o]);
            boolean dup = live.isDuplicate(ids[o], 7, o, wm);
            if (!dup) {
                live.accept(ids[o], 7, o, tss[o], wm);
                accepted.add(new Acc(ids[o], 7, o, tss[o]));
            }
            if (o >= cut) {
                decisions.add(dup);
            }
        }
        SeenIds rebuilt = new SeenIds(maxIds, window);
        long w0 = wmAtCut;
        for (Acc a : accepted) {
            if (a.off() >= cut - maxIds && a.off() < cut && a.ts() >= w0 - window) {
                rebuilt.accept(a.h(), a.l(), a.off(), a.ts(), w0);
            }
        }
        wm = w0;
        List<Boolean> replay = new ArrayList<>();
        for (int o = cut; o < 5000; o++) {
            wm = Math.max(wm, tss[o]);
            boolean dup = rebuilt.isDuplicate(ids[o], 7, o, wm);
            if (!dup) {
                rebuilt.accept(ids[o], 7, o, tss[o], wm);
            }
            replay.add(dup);
        }
        assertThat(replay).isEqualTo(decisions);
        assertThat(decisions).contains(true, false);
    }
}
