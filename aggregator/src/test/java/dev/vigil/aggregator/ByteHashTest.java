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

    /** Every byte of the range reaches the hash (the word loop and each tail branch), at unaligned offsets. */
    @Test
    void hashDependsOnEveryByteAndTheLength() {
        Random rnd = new Random(11);
        for (int len = 0; len <= 40; len++) {
            for (int trial = 0; trial < 8; trial++) {
                int off = rnd.nextInt(9);
                byte[] a = new byte[off + len + rnd.nextInt(9)];
                rnd.nextBytes(a);
                long h = ByteHash.hash(1, a, off, len);
                byte[] copy = Arrays.copyOf(a, a.length + 5);
                System.arraycopy(a, off, copy, 5, len);
                assertEquals(h, ByteHash.hash(1, copy, 5, len), "the same bytes elsewhere, length " + len);
                for (int i = 0; i < len; i++) {
                    byte keep = a[off + i];
                    a[off + i] ^= (byte) (1 << rnd.nextInt(8));
                    assertTrue(ByteHash.hash(1, a, off, len) != h, "length " + len + ", byte " + i + " changed");
                    a[off + i] = keep;
                }
                if (off + len < a.length) {
                    assertTrue(ByteHash.hash(1, a, off, len + 1) != h, "length " + len + " and " + (len + 1));
                }
            }
        }
    }

    @Test
    void aShortTailAndTheLengthDoNotCancelOut() {
        // a 4-7-byte tail fills the whole word: its top byte must not be able to undo the length
        byte[] a = "aaaa`".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertTrue(ByteHash.hash(1, a, 0, 4) != ByteHash.hash(1, a, 0, 5));
    }

    @Test
    void hashReadsNothingOutsideTheRange() {
        byte[] a = "tenant-a|inference".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (int len = 0; len <= a.length; len++) {
            // ranges that end at the array's end and start at its beginning: a read past either would throw
            ByteHash.hash(0, a, a.length - len, len);
            ByteHash.hash(0, Arrays.copyOf(a, len), 0, len);
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
