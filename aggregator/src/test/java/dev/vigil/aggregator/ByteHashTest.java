package dev.vigil.aggregator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

class ByteHashTest {
    /** Every length through the word, overlapping-word and vectorized branches, at unaligned offsets. */
    @Test
    void eqAgreesWithArraysEqualsAtEveryLengthAndDifferingByte() {
        Random rnd = new Random(7);
        for (int len = 0; len <= 100; len++) {
            for (int trial = 0; trial < 4; trial++) {
                int ao = rnd.nextInt(9);
                int bo = rnd.nextInt(9);
                byte[] a = new byte[ao + len + rnd.nextInt(9)];
                rnd.nextBytes(a);
                byte[] b = new byte[bo + len + rnd.nextInt(9)];
                rnd.nextBytes(b);
                System.arraycopy(a, ao, b, bo, len);
                assertTrue(ByteHash.eq(a, ao, b, bo, len), "equal ranges of length " + len);
                for (int i = 0; i < len; i++) {
                    byte keep = b[bo + i];
                    b[bo + i] ^= (byte) (1 << rnd.nextInt(8));
                    assertFalse(ByteHash.eq(a, ao, b, bo, len), "length " + len + ", byte " + i + " differs");
                    assertEquals(Arrays.equals(a, ao, ao + len, b, bo, bo + len), ByteHash.eq(a, ao, b, bo, len));
                    b[bo + i] = keep;
                }
            }
        }
    }

    @Test
    void eqReadsNothingOutsideTheRanges() {
        // ranges that end exactly at the array's end: a word read past it would throw
        byte[] a = "tenant-a|inference".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] b = "xxtenant-a|inference".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (int len = 0; len <= a.length; len++) {
            assertTrue(ByteHash.eq(a, a.length - len, b, b.length - len, len));
        }
    }
}
