package dev.vigil.clickhouse.http;

import com.clickhouse.data.ClickHouseCityHash;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class CityHash128Test {
    @Test
    void matchesTheDriversCityHash128ForEveryLengthBranch() {
        Random r = new Random(42);
        for (int len = 0; len < 1500; len++) {
            byte[] b = new byte[len + 7];
            r.nextBytes(b);
            long[] mine = CityHash128.hash(b, 7, len);
            long[] ref = ClickHouseCityHash.cityHash128(b, 7, len);
            assertThat(mine).as("len %d", len).containsExactly(ref[0], ref[1]);
        }
    }

    @Test
    void knownVectorOfEmptyInput() {
        // CityHash128 v1.0.2 of "" (seed k0, k1) as ClickHouse computes it.
        long[] h = CityHash128.hash(new byte[0], 0, 0);
        long[] ref = ClickHouseCityHash.cityHash128(new byte[0], 0, 0);
        assertThat(h).containsExactly(ref[0], ref[1]);
        assertThat(h[0]).isNotZero();
    }
}
