package dev.vigil.promql.engine;

import java.util.ArrayList;
import java.util.List;

/** Natural sort order as in github.com/facette/natsort (used by sort_by_label). */
final class NatSort {
    private NatSort() {}

    private static List<String> chunks(String s) {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            boolean digit = Character.isDigit(s.charAt(i));
            int j = i;
            while (j < s.length() && Character.isDigit(s.charAt(j)) == digit) j++;
            out.add(s.substring(i, j));
            i = j;
        }
        return out;
    }

    private static Long atoi(String s) {
        if (s.isEmpty()) return null;
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) < '0' || s.charAt(i) > '9') return null;
        try { return Long.parseLong(s); } catch (NumberFormatException e) { return null; }
    }

    static boolean less(String a, String b) {
        List<String> ca = chunks(a), cb = chunks(b);
        int na = ca.size(), nb = cb.size();
        for (int i = 0; i < na; i++) {
            if (i >= nb) return false;
            Long ai = atoi(ca.get(i)), bi = atoi(cb.get(i));
            if (ai != null && bi != null) {
                if (ai.longValue() == bi.longValue()) {
                    if (i == na - 1) return true;
                    else if (i == nb - 1) return false;
                    continue;
                }
                return ai < bi;
            }
            if (ca.get(i).equals(cb.get(i))) {
                if (i == na - 1) return true;
                else if (i == nb - 1) return false;
                continue;
            }
            return ca.get(i).compareTo(cb.get(i)) < 0;
        }
        return false;
    }
}
