package dev.vigil.query.storage;

import java.lang.reflect.Array;
import java.util.List;

import com.clickhouse.client.api.data_formats.ClickHouseBinaryFormatReader;
import com.clickhouse.client.api.data_formats.internal.BinaryStreamReader;

/** Reads array columns of a RowBinaryWithNamesAndTypes result into primitive arrays, whatever holder the client uses. */
final class Cols {
    private Cols() {
    }

    private static Object raw(ClickHouseBinaryFormatReader r, String col) {
        Object o = r.readValue(col);
        if (o instanceof BinaryStreamReader.ArrayValue a) {
            return a.getArray();
        }
        if (o instanceof List<?> l) {
            return l.toArray();
        }
        return o;
    }

    static long[] longs(ClickHouseBinaryFormatReader r, String col) {
        Object o = raw(r, col);
        if (o instanceof long[] a) {
            return a;
        }
        int n = o == null ? 0 : Array.getLength(o);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = ((Number) Array.get(o, i)).longValue();
        }
        return out;
    }

    static int[] ints(ClickHouseBinaryFormatReader r, String col) {
        Object o = raw(r, col);
        if (o instanceof int[] a) {
            return a;
        }
        int n = o == null ? 0 : Array.getLength(o);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = ((Number) Array.get(o, i)).intValue();
        }
        return out;
    }

    static double[] doubles(ClickHouseBinaryFormatReader r, String col) {
        Object o = raw(r, col);
        if (o instanceof double[] a) {
            return a;
        }
        int n = o == null ? 0 : Array.getLength(o);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = ((Number) Array.get(o, i)).doubleValue();
        }
        return out;
    }

    static String[] strings(ClickHouseBinaryFormatReader r, String col) {
        Object o = raw(r, col);
        if (o instanceof String[] a) {
            return a;
        }
        int n = o == null ? 0 : Array.getLength(o);
        String[] out = new String[n];
        for (int i = 0; i < n; i++) {
            out[i] = String.valueOf(Array.get(o, i));
        }
        return out;
    }
}
