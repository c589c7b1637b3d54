package dev.vigil.promql.engine;

/**
 * Kernels of functions over range vectors. Each works on the window t[lo..hi), f[lo..hi) of one
 * series (stale markers already removed) and writes its result into out[0], returning false when
 * the function produces no output for this window.
 */
final class RangeFunctions {
    private RangeFunctions() {}

    /** Parameters of one window evaluation. */
    static final class W {
        long[] t;
        double[] f;
        long[] st;         // start timestamps (0 = unknown) or null
        int lo, hi;
        long stepTs;       // evaluation timestamp
        long rangeStart;   // ref - range
        long rangeEnd;     // ref
        long rangeMs;
        double p0, p1;     // scalar parameters
        boolean anchored, smoothed;
        boolean noResets;  // set by the caller when the whole series has no value decrease
        // extrapolatedRate cache: the window geometry of the previous call and what it determines
        long cToStart = Long.MIN_VALUE, cToEnd, cInterval, cRangeMs;
        int cNum;
        boolean cIsRate;
        double cDurationToStart, cDurationToEnd, cSampledInterval, cFactor;
    }

    static final int RATE = 0;
    static final int INCREASE = 1;
    static final int DELTA = 2;
    static final int IRATE = 3;
    static final int IDELTA = 4;
    static final int COUNT_OVER_TIME = 5;
    static final int PRESENT_OVER_TIME = 6;
    static final int ABSENT_OVER_TIME = 7;
    static final int LAST_OVER_TIME = 8;
    static final int FIRST_OVER_TIME = 9;
    static final int TS_OF_LAST_OVER_TIME = 10;
    static final int TS_OF_FIRST_OVER_TIME = 11;
    static final int SUM_OVER_TIME = 12;
    static final int AVG_OVER_TIME = 13;
    static final int MAX_OVER_TIME = 14;
    static final int MIN_OVER_TIME = 15;
    static final int TS_OF_MAX_OVER_TIME = 16;
    static final int TS_OF_MIN_OVER_TIME = 17;
    static final int STDDEV_OVER_TIME = 18;
    static final int STDVAR_OVER_TIME = 19;
    static final int QUANTILE_OVER_TIME = 20;
    static final int MAD_OVER_TIME = 21;
    static final int CHANGES = 22;
    static final int RESETS = 23;
    static final int DERIV = 24;
    static final int PREDICT_LINEAR = 25;
    static final int DOUBLE_EXPONENTIAL_SMOOTHING = 26;
    private static final String[] NAMES = {"rate", "increase", "delta", "irate", "idelta", "count_over_time", "present_over_time", "absent_over_time", "last_over_time", "first_over_time", "ts_of_last_over_time", "ts_of_first_over_time", "sum_over_time", "avg_over_time", "max_over_time", "min_over_time", "ts_of_max_over_time", "ts_of_min_over_time", "stddev_over_time", "stdvar_over_time", "quantile_over_time", "mad_over_time", "changes", "resets", "deriv", "predict_linear", "double_exponential_smoothing"};

    /** Function code for {@link #apply(int, W, double[])}; -1 if not a range-vector kernel. */
    static int code(String fn) {
        for (int i = 0; i < NAMES.length; i++) if (NAMES[i].equals(fn)) return i;
        return -1;
    }

    static boolean apply(String fn, W w, double[] out) {
        int c = code(fn);
        if (c < 0) throw new QueryException("function \"" + fn + "\" not supported over range vectors");
        return apply(c, w, out);
    }

    static boolean apply(int fc, W w, double[] out) {
        int n = w.hi - w.lo;
        long[] t = w.t;
        double[] f = w.f;
        int lo = w.lo, hi = w.hi;
        switch (fc) {
            case RATE: return extrapolatedRate(w, true, true, out);
            case INCREASE: return extrapolatedRate(w, true, false, out);
            case DELTA: return extrapolatedRate(w, false, false, out);
            case IRATE: return instantValue(w, true, out);
            case IDELTA: return instantValue(w, false, out);
            case COUNT_OVER_TIME: out[0] = n; return true;
            case PRESENT_OVER_TIME: out[0] = 1; return true;
            case ABSENT_OVER_TIME: out[0] = 1; return true;
            case LAST_OVER_TIME: out[0] = f[hi - 1]; return true;
            case FIRST_OVER_TIME: out[0] = f[lo]; return true;
            case TS_OF_LAST_OVER_TIME: out[0] = t[hi - 1] / 1000.0; return true;
            case TS_OF_FIRST_OVER_TIME: out[0] = t[lo] / 1000.0; return true;
            case SUM_OVER_TIME: {
                double sum = 0, c = 0;
                double[] kt = new double[2];
                for (int i = lo; i < hi; i++) { KahanSum.inc(f[i], sum, c, kt); sum = kt[0]; c = kt[1]; }
                out[0] = Double.isInfinite(sum) ? sum : sum + c;
                return true;
            }
            case AVG_OVER_TIME: {
                double sum = f[lo], count = 1, mean = 0, kc = 0;
                boolean inc = false;
                double[] kt = new double[2];
                for (int i = lo + 1; i < hi; i++) {
                    count = i - lo + 1;
                    if (!inc) {
                        KahanSum.inc(f[i], sum, kc, kt);
                        if (!Double.isInfinite(kt[0])) { sum = kt[0]; kc = kt[1]; continue; }
                        inc = true;
                        mean = sum / (count - 1);
                        kc /= (count - 1);
                    }
                    double q = (count - 1) / count;
                    KahanSum.inc(f[i] / count, q * mean, q * kc, kt);
                    mean = kt[0];
                    kc = kt[1];
                }
                out[0] = inc ? mean + kc : sum / count + kc / count;
                return true;
            }
            case MAX_OVER_TIME: {
                double m = f[lo];
                for (int i = lo; i < hi; i++) if (f[i] > m || Double.isNaN(m)) m = f[i];
                out[0] = m;
                return true;
            }
            case MIN_OVER_TIME: {
                double m = f[lo];
                for (int i = lo; i < hi; i++) if (f[i] < m || Double.isNaN(m)) m = f[i];
                out[0] = m;
                return true;
            }
            case TS_OF_MAX_OVER_TIME: {
                double m = f[lo];
                long ts = t[lo];
                for (int i = lo; i < hi; i++) if (f[i] >= m || Double.isNaN(m)) { m = f[i]; ts = t[i]; }
                out[0] = ts / 1000.0;
                return true;
            }
            case TS_OF_MIN_OVER_TIME: {
                double m = f[lo];
                long ts = t[lo];
                for (int i = lo; i < hi; i++) if (f[i] <= m || Double.isNaN(m)) { m = f[i]; ts = t[i]; }
                out[0] = ts / 1000.0;
                return true;
            }
            case STDDEV_OVER_TIME, STDVAR_OVER_TIME: {
                double count = 0, mean = 0, cMean = 0, aux = 0, cAux = 0;
                double[] kt = new double[2];
                for (int i = lo; i < hi; i++) {
                    count++;
                    double delta = f[i] - (mean + cMean);
                    KahanSum.inc(delta / count, mean, cMean, kt);
                    mean = kt[0];
                    cMean = kt[1];
                    KahanSum.inc(delta * (f[i] - (mean + cMean)), aux, cAux, kt);
                    aux = kt[0];
                    cAux = kt[1];
                }
                double variance = (aux + cAux) / count;
                out[0] = fc == STDDEV_OVER_TIME ? Math.sqrt(variance) : variance;
                return true;
            }
            case QUANTILE_OVER_TIME: {
                double[] v = java.util.Arrays.copyOfRange(f, lo, hi);
                out[0] = Evaluator.quantile(w.p0, v, v.length);
                return true;
            }
            case MAD_OVER_TIME: {
                for (int i = lo; i < hi; i++) if (Double.isNaN(f[i])) { out[0] = Double.NaN; return true; }
                double[] v = java.util.Arrays.copyOfRange(f, lo, hi);
                double median = Evaluator.quantile(0.5, v, v.length);
                double[] d = new double[n];
                for (int i = 0; i < n; i++) d[i] = Math.abs(f[lo + i] - median);
                out[0] = Evaluator.quantile(0.5, d, n);
                return true;
            }
            case CHANGES, RESETS: {
                int first = lo;
                if (w.anchored) {
                    if (t[hi - 1] <= w.rangeStart) return false;
                    int k = lo;
                    while (k < hi - 1 && t[k] <= w.rangeStart) k++;
                    first = Math.max(lo, k - 1);
                }
                int count = 0;
                boolean changes = fc == CHANGES;
                for (int i = first + 1; i < hi; i++) {
                    double prev = f[i - 1], cur = f[i];
                    if (changes) {
                        if (cur != prev && !(Double.isNaN(cur) && Double.isNaN(prev))) count++;
                    } else if (cur < prev || (w.st != null && startReset(w.st, t, i))) count++;
                }
                out[0] = count;
                return true;
            }
            case DERIV: {
                if (n < 2) return false;
                out[0] = linearRegression(t, f, lo, hi, t[lo])[0];
                return true;
            }
            case PREDICT_LINEAR: {
                if (n < 2) return false;
                double[] si = linearRegression(t, f, lo, hi, w.stepTs);
                out[0] = si[0] * w.p0 + si[1];
                return true;
            }
            case DOUBLE_EXPONENTIAL_SMOOTHING: {
                double sf = w.p0, tf = w.p1;
                if (sf <= 0 || sf >= 1) throw new QueryException("invalid smoothing factor. Expected: 0 < sf < 1, got: " + String.format("%f", sf));
                if (tf <= 0 || tf >= 1) throw new QueryException("invalid trend factor. Expected: 0 < tf < 1, got: " + String.format("%f", tf));
                if (n < 2) return false;
                double s0 = 0, s1 = f[lo], b = f[lo + 1] - f[lo];
                for (int i = 1; i < n; i++) {
                    double x = sf * f[lo + i];
                    b = i - 1 == 0 ? b : tf * (s1 - s0) + (1 - tf) * b;
                    double y = (1 - sf) * (s1 + b);
                    s0 = s1;
                    s1 = x + y;
                }
                out[0] = s1;
                return true;
            }
            default:
                throw new QueryException("range function code " + fc + " not supported");
        }
    }

    static double[] linearRegression(long[] t, double[] f, int lo, int hi, long interceptTime) {
        double n = 0, sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0;
        double initY = f[lo];
        boolean constY = true;
        double[] kt = new double[2];
        for (int i = lo; i < hi; i++) {
            if (constY && i > lo && f[i] != initY) constY = false;
            n += 1;
            double x = (t[i] - interceptTime) / 1e3;
            KahanSum.inc(x, sumX, cX, kt); sumX = kt[0]; cX = kt[1];
            KahanSum.inc(f[i], sumY, cY, kt); sumY = kt[0]; cY = kt[1];
            KahanSum.inc(x * f[i], sumXY, cXY, kt); sumXY = kt[0]; cXY = kt[1];
            KahanSum.inc(x * x, sumX2, cX2, kt); sumX2 = kt[0]; cX2 = kt[1];
        }
        if (constY) {
            if (Double.isInfinite(initY)) return new double[]{Double.NaN, Double.NaN};
            return new double[]{0, initY};
        }
        sumX += cX;
        sumY += cY;
        sumXY += cXY;
        sumX2 += cX2;
        double covXY = sumXY - sumX * sumY / n;
        double varX = sumX2 - sumX * sumX / n;
        double slope = covXY / varX;
        double intercept = sumY / n - slope * sumX / n;
        return new double[]{slope, intercept};
    }

    private static boolean instantValue(W w, boolean isRate, double[] out) {
        if (w.hi - w.lo < 2) return false;
        long t0 = w.t[w.hi - 2], t1 = w.t[w.hi - 1];
        double f0 = w.f[w.hi - 2], f1 = w.f[w.hi - 1];
        long sampled = t1 - t0;
        if (sampled == 0) return false;
        double r = f1;
        boolean reset = f1 < f0 || (isRate && w.st != null && startReset(w.st, w.t, w.hi - 1));
        if (!isRate || !reset) r = f1 - f0;
        if (isRate) r /= sampled / 1000.0;
        out[0] = r;
        return true;
    }

    static double interpolate(long t1, double y1, long t2, double y2, long t, boolean isCounter) {
        if (isCounter && y2 < y1) y1 = 0;
        return y1 + (y2 - y1) * (double) (t - t1) / (double) (t2 - t1);
    }

    private static boolean extrapolatedRate(W w, boolean isCounter, boolean isRate, double[] out) {
        if (w.anchored || w.smoothed) return extendedRate(w, isCounter, isRate, out);
        int lo = w.lo, hi = w.hi;
        if (isCounter && w.st != null) return startTimestampRate(w, isRate, out);
        if (hi - lo < 2) return false;
        long[] t = w.t;
        double[] f = w.f;
        int numMinusOne = hi - lo - 1;
        long firstT = t[lo], lastT = t[hi - 1];
        double result = f[hi - 1] - f[lo];
        if (isCounter && !w.noResets) {
            for (int i = lo + 1; i < hi; i++) if (f[i] < f[i - 1]) result += f[i - 1];
        }
        // Everything but the counter's zero point depends only on the window geometry, which repeats
        // from step to step for regularly sampled series: reuse it (same operations, same results).
        long toStart = firstT - w.rangeStart, toEnd = w.rangeEnd - lastT, interval = lastT - firstT;
        if (toStart != w.cToStart || toEnd != w.cToEnd || interval != w.cInterval || numMinusOne != w.cNum
                || w.rangeMs != w.cRangeMs || isRate != w.cIsRate) {
            double durationToStart = toStart / 1000.0;
            double durationToEnd = toEnd / 1000.0;
            double sampledInterval = interval / 1000.0;
            double avg = sampledInterval / numMinusOne;
            double threshold = avg * 1.1;
            if (durationToStart >= threshold) durationToStart = avg / 2;
            if (durationToEnd >= threshold) durationToEnd = avg / 2;
            double factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
            if (isRate) factor /= w.rangeMs / 1000.0;
            w.cToStart = toStart;
            w.cToEnd = toEnd;
            w.cInterval = interval;
            w.cNum = numMinusOne;
            w.cRangeMs = w.rangeMs;
            w.cIsRate = isRate;
            w.cDurationToStart = durationToStart;
            w.cDurationToEnd = durationToEnd;
            w.cSampledInterval = sampledInterval;
            w.cFactor = factor;
        }
        double factor = w.cFactor;
        if (isCounter && result > 0 && f[lo] >= 0) {
            double sampledInterval = w.cSampledInterval;
            double durationToZero = sampledInterval * (f[lo] / result);
            if (durationToZero < w.cDurationToStart) {
                factor = (sampledInterval + durationToZero + w.cDurationToEnd) / sampledInterval;
                if (isRate) factor /= w.rangeMs / 1000.0;
            }
        }
        out[0] = result * factor;
        return true;
    }

    /**
     * Whether sample i starts a new counter lifetime according to its start timestamp: its start
     * lies after the previous sample, or equals the previous sample's time while the previous
     * sample had a valid earlier start of its own (a delta sample). A start equal to the previous
     * time after an unknown or invalid previous start is a cumulative counter with unknown start.
     */
    static boolean startReset(long[] st, long[] t, int i) {
        long cur = st[i];
        if (cur == 0 || cur >= t[i]) return false;
        long prevT = t[i - 1], prevSt = st[i - 1];
        return cur > prevT || (cur == prevT && prevSt != 0 && prevSt < prevT);
    }

    /** Whether sample i's start time overlaps the previous sample without repeating its start (annotation). */
    static boolean startOverlap(long[] st, long[] t, int i) {
        long cur = st[i];
        return cur != 0 && cur < t[i - 1] && cur != st[i - 1];
    }

    /**
     * rate/increase over samples with start timestamps: resets are also detected from start
     * timestamps, and when the first sample's start lies inside the range the counter is assumed
     * to be 0 at its start instead of extrapolating to the left (this also gives a result for a
     * single sample).
     */
    private static boolean startTimestampRate(W w, boolean isRate, double[] out) {
        int lo = w.lo, hi = w.hi;
        int n = hi - lo;
        if (n < 1) return false;
        long[] t = w.t, st = w.st;
        double[] f = w.f;
        long firstT = t[lo], lastT = t[hi - 1];
        double result = f[hi - 1] - f[lo];
        for (int i = lo + 1; i < hi; i++) if (f[i] < f[i - 1] || startReset(st, t, i)) result += f[i - 1];
        double sampledInterval = (lastT - firstT) / 1000.0;
        double avg = n > 1 ? sampledInterval / (n - 1) : 0;
        double threshold = avg * 1.1;
        double durationToStart = (firstT - w.rangeStart) / 1000.0;
        double durationToEnd = (w.rangeEnd - lastT) / 1000.0;
        long firstSt = st[lo];
        if (firstSt != 0 && firstSt > w.rangeStart && firstSt < firstT) {
            durationToStart = 0;
            sampledInterval = (lastT - firstSt) / 1000.0;
            result += f[lo];
        } else {
            if (n < 2) return false;
            if (durationToStart >= threshold) durationToStart = avg / 2;
            if (result > 0 && f[lo] >= 0) {
                double durationToZero = sampledInterval * (f[lo] / result);
                if (durationToZero < durationToStart) durationToStart = durationToZero;
            }
        }
        if (sampledInterval <= 0) return false;
        if (durationToEnd >= threshold) durationToEnd = avg / 2;
        double factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
        if (isRate) factor /= w.rangeMs / 1000.0;
        out[0] = result * factor;
        return true;
    }

    private static boolean extendedRate(W w, boolean isCounter, boolean isRate, double[] out) {
        long[] t = w.t;
        double[] f = w.f;
        int base = w.lo;
        int len = w.hi - w.lo;
        if (len == 0) return false;
        int lastIdx = len - 1;
        // sort.Search(lastIdx, f[i].T > rangeStart)
        int k = 0;
        while (k < lastIdx && !(t[base + k] > w.rangeStart)) k++;
        int first = Math.max(0, k - 1);
        int last = lastIdx;
        if (w.smoothed) {
            int m = 0;
            while (m < lastIdx && !(t[base + m] >= w.rangeEnd)) m++;
            last = m;
        }
        if (t[base + last] <= w.rangeStart) return false;
        if (w.smoothed && t[base + first] >= w.rangeEnd) return false;
        double left = (w.smoothed && t[base + first] < w.rangeStart)
                ? interpolate(t[base + first], f[base + first], t[base + first + 1], f[base + first + 1], w.rangeStart, isCounter)
                : f[base + first];
        double right = (w.smoothed && last > 0 && t[base + last] > w.rangeEnd)
                ? interpolate(t[base + last - 1], f[base + last - 1], t[base + last], f[base + last], w.rangeEnd, isCounter)
                : f[base + last];
        double result = right - left;
        if (isCounter) {
            if (t[base + first] <= w.rangeStart) first++;
            if (t[base + last] >= w.rangeEnd) last--;
            double correction = 0, prev = left;
            for (int i = first; i <= last; i++) {
                if (f[base + i] < prev) correction += prev;
                prev = f[base + i];
            }
            if (right < prev) correction += prev;
            result += correction;
        }
        if (isRate) result /= w.rangeMs / 1000.0;
        out[0] = result;
        return true;
    }

    /** Port of Prometheus extendFloats for anchored/smoothed matrix selectors. */
    static Series extendFloats(Series s, long mint, long maxt, boolean smoothed) {
        int lastIdx = s.n - 1;
        int k = 0;
        while (k < lastIdx && !(s.t[k] > mint)) k++;
        int first = Math.max(0, k - 1);
        int last = lastIdx;
        if (smoothed) {
            int m = 0;
            while (m < lastIdx && !(s.t[m] >= maxt)) m++;
            last = m;
        }
        if (s.t[last] <= mint) return null;
        double left = (smoothed && s.t[first] < mint) ? interpolate(s.t[first], s.f[first], s.t[first + 1], s.f[first + 1], mint, false) : s.f[first];
        double right = (smoothed && last > 0 && s.t[last] > maxt) ? interpolate(s.t[last - 1], s.f[last - 1], s.t[last], s.f[last], maxt, false) : s.f[last];
        if (s.t[first] <= mint) first++;
        if (s.t[last] >= maxt) last--;
        Series o = new Series(s.labels, s.dropName, Math.max(2, last - first + 3));
        o.add(mint, left);
        for (int i = first; i <= last; i++) o.add(s.t[i], s.f[i]);
        o.add(maxt, right);
        return o;
    }
}
