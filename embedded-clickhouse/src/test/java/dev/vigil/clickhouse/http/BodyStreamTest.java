package dev.vigil.clickhouse.http;

import dev.vigil.clickhouse.engine.ChdbException;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BodyStreamTest {
    static final int CHUNK = 64 * 1024;

    @Test
    void readingPausesWhileTheWorkerIsBehindAndResumesWhenItCatchesUp() throws Exception {
        EmbeddedChannel ch = new EmbeddedChannel();
        BodyStream s = new BodyStream(ch);
        int chunks = (int) (BodyStream.HIGH_WATER / CHUNK) + 2;
        for (int i = 0; i < chunks; i++) {
            s.offer(new byte[CHUNK]);
        }
        assertThat(ch.config().isAutoRead()).isFalse();
        int taken = 0;
        while ((long) (chunks - taken) * CHUNK > BodyStream.HIGH_WATER / 4 + CHUNK) {
            assertThat(s.take(1000)).hasSize(CHUNK);
            taken++;
        }
        ch.runPendingTasks();
        assertThat(ch.config().isAutoRead()).isFalse();
        s.take(1000);
        taken++;
        ch.runPendingTasks();
        assertThat(ch.config().isAutoRead()).isTrue();
        s.offer(new byte[] {1, 2, 3});
        s.end();
        while (taken < chunks) {
            assertThat(s.take(1000)).hasSize(CHUNK);
            taken++;
        }
        assertThat(s.take(1000)).containsExactly(1, 2, 3);
        assertThat(s.take(1000)).isNull();
        assertThat(s.take(1000)).isNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void aFailedBodyFailsTheWorkerAndADiscardedOneDropsWhatFollows() throws Exception {
        EmbeddedChannel ch = new EmbeddedChannel();
        BodyStream s = new BodyStream(ch);
        s.offer(new byte[10]);
        s.fail(ChdbException.of(ChdbException.QUERY_IS_TOO_LARGE_CODE, "QUERY_IS_TOO_LARGE", "too large"));
        assertThat(s.take(1000)).hasSize(10);
        assertThatThrownBy(() -> s.take(1000)).isInstanceOf(ChdbException.class).hasMessageContaining("too large");

        BodyStream d = new BodyStream(ch);
        for (int i = 0; i < (int) (BodyStream.HIGH_WATER / CHUNK) + 2; i++) {
            d.offer(new byte[CHUNK]);
        }
        assertThat(ch.config().isAutoRead()).isFalse();
        d.discard();
        ch.runPendingTasks();
        assertThat(ch.config().isAutoRead()).isTrue();
        d.offer(new byte[CHUNK]);
        assertThat(d.hasMore()).isFalse();
        assertThatThrownBy(() -> d.take(10)).isInstanceOf(ChdbException.class).hasMessageContaining("Timeout");
        ch.finishAndReleaseAll();
    }
}
