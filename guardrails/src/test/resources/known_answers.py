#!/usr/bin/env python3
"""Independent reference values for KnownAnswersTest (plain Python 3, no scipy, no Java).

Run:  python3 guardrails/src/test/resources/known_answers.py
Every formula is written out from the papers (and GrowthBook's gbstats for the confidence sequence);
the Java code is never called. Output values are pasted into KnownAnswersTest.java.
"""
import math
from statistics import NormalDist

N01 = NormalDist()
ALPHA = 0.05
TUNING = 5000.0

def phi_sf(x):            # P(Z > x)
    return 0.5 * math.erfc(x / math.sqrt(2))

Z975 = N01.inv_cdf(1 - ALPHA / 2)

def rho(alpha, tuning, two_sided=True):      # eq. 161 of arXiv:2103.06476v7, as gbstats
    a = alpha if two_sided else 2 * alpha
    return math.sqrt((-2 * math.log(a) + math.log(-2 * math.log(a) + 1)) / tuning)

def hw_two(s2, n, tuning=TUNING, alpha=ALPHA):   # eq. 9
    r = rho(alpha, tuning, True)
    return math.sqrt(s2) * math.sqrt(2 * (n * r * r + 1) / (n * r) ** 2 * math.log(math.sqrt(n * r * r + 1) / alpha))

def hw_one(s2, n, tuning=TUNING, alpha=ALPHA):   # one-sided normal mixture (gbstats one-sided)
    r = rho(alpha, tuning, False)
    return math.sqrt(s2 * 2 * (n * r * r + 1) / (n * r) ** 2 * math.log(1 + math.sqrt(n * r * r + 1) / (2 * alpha)))

def p_seq(est, var, n, tuning=TUNING, alpha=ALPHA):  # eq. 155
    r = rho(alpha, tuning, True)
    st2 = est * est * n / var
    t = n * r * r + 1
    e = math.exp(r * r * st2 / (2 * t)) / math.sqrt(t)
    return min(1.0, 1.0 / e)

def show(name, x):
    print(f"{name} = {x!r}")

def effect(prefix, est, var, n):
    se = math.sqrt(var)
    show(prefix + ".estimate", est)
    show(prefix + ".se", se)
    show(prefix + ".fixedLower", est - Z975 * se)
    show(prefix + ".fixedUpper", est + Z975 * se)
    show(prefix + ".fixedP", 2 * phi_sf(abs(est) / se))
    h = hw_two(var * n, n)
    show(prefix + ".avHalfWidth", h)
    show(prefix + ".avLower", est - h)
    show(prefix + ".avUpper", est + h)
    show(prefix + ".avP", p_seq(est, var, n))

def var_unit(ss, s, n):
    return (ss - s * s / n) / (n - 1)

def cov_unit(sxy, sx, sy, n):
    return (sxy - sx * sy / n) / (n - 1)

def compare(prefix, c_val, c_var, t_val, t_var, n):
    effect(prefix + ".abs", t_val - c_val, t_var + c_var, n)
    rel_var = t_var / c_val ** 2 + t_val ** 2 * c_var / c_val ** 4
    effect(prefix + ".rel", t_val / c_val - 1, rel_var, n)

print("# constants")
show("z975", Z975)
show("rho_two", rho(ALPHA, TUNING, True))
show("rho_one", rho(ALPHA, TUNING, False))

print("# A: mean metric")
nc, sc, ssc = 1000, 5000.0, 28996.0
nt, st, sst = 1100, 5720.0, 34590.59
mc, mt = sc / nc, st / nt
vc, vt = var_unit(ssc, sc, nc), var_unit(sst, st, nt)
show("A.controlMean", mc); show("A.variantMean", mt); show("A.controlUnitVar", vc); show("A.variantUnitVar", vt)
compare("A", mc, vc / nc, mt, vt / nt, nc + nt)

print("# B: proportion metric")
nc, cc, nt, ct = 10000, 1200, 10000, 1300
pc, pt = cc / nc, ct / nt
vc, vt = var_unit(cc, cc, nc), var_unit(ct, ct, nt)   # 0/1 values: sum of squares = count
show("B.controlUnitVar", vc); show("B.variantUnitVar", vt)
compare("B", pc, vc / nc, pt, vt / nt, nc + nt)

print("# C: ratio metric (delta method)")
def ratio(n, sy, syy, sd, sdd, syd):
    f = sy / sd
    md = sd / n
    vy, vd, cyd = var_unit(syy, sy, n), var_unit(sdd, sd, n), cov_unit(syd, sy, sd, n)
    uv = (vy - 2 * f * cyd + f * f * vd) / md ** 2
    return f, uv
fc, uvc = ratio(2000, 3000.0, 9000.0, 6000.0, 24000.0, 11000.0)
ft, uvt = ratio(2000, 3300.0, 10200.0, 6100.0, 24800.0, 12000.0)
show("C.controlRatio", fc); show("C.variantRatio", ft); show("C.controlUnitVar", uvc); show("C.variantUnitVar", uvt)
compare("C", fc, uvc / 2000, ft, uvt / 2000, 4000)

print("# D: CUPED on a mean metric (pooled theta)")
groups = [  # n, sumY, sumY2, sumX, sumX2, sumXY
    (1000, 5000.0, 28996.0, 4800.0, 27036.0, 26397.6),
    (1100, 5720.0, 34590.59, 5300.0, 30152.0, 30527.3),
]
num = sum((g[0] - 1) * cov_unit(g[5], g[3], g[1], g[0]) for g in groups)
den = sum((g[0] - 1) * var_unit(g[4], g[3], g[0]) for g in groups)
theta = num / den
xbar = sum(g[3] for g in groups) / sum(g[0] for g in groups)
show("D.theta", theta); show("D.pooledPreMean", xbar)
adj, avar, uvar = [], [], []
for g in groups:
    n, sy, syy, sx, sxx, sxy = g
    vy, vx, cxy = var_unit(syy, sy, n), var_unit(sxx, sx, n), cov_unit(sxy, sx, sy, n)
    adj.append(sy / n - theta * (sx / n - xbar))
    avar.append((vy - 2 * theta * cxy + theta * theta * vx) / n)
    uvar.append(vy / n)
show("D.controlAdjusted", adj[0]); show("D.variantAdjusted", adj[1])
show("D.varianceReduction", 1 - (avar[0] + avar[1]) / (uvar[0] + uvar[1]))
compare("D", adj[0], avar[0], adj[1], avar[1], 2100)

print("# E: sample ratio mismatch (closed-form chi-square tails)")
def chi2(obs, alloc):
    tot = sum(obs)
    return sum((o - a * tot) ** 2 / (a * tot) for o, a in zip(obs, alloc))
x = chi2([50500, 49500], [0.5, 0.5]); show("E1.chi2", x); show("E1.p", math.erfc(math.sqrt(x / 2)))      # df=1
x = chi2([5100, 2400, 2500], [0.5, 0.25, 0.25]); show("E2.chi2", x); show("E2.p", math.exp(-x / 2))     # df=2
x = chi2([101000, 99000], [0.5, 0.5]); show("E3.chi2", x); show("E3.p", math.erfc(math.sqrt(x / 2)))
x = chi2([3400, 3300, 3300, 3100], [0.25, 0.25, 0.25, 0.25]); show("E4.chi2", x)                          # df=3
show("E4.p", math.erfc(math.sqrt(x / 2)) + math.sqrt(2 * x / math.pi) * math.exp(-x / 2))

print("# F: Benjamini-Hochberg, worked by hand in the test")

print("# G: quantile with unit-clustered interval (Deng, Knoblich & Yu 2018)")
edges = [0, 10, 20, 30, 40, 50]
units = [[3, 12, 25], [8, 9], [15, 33, 41, 47], [22], [5, 18, 28, 36], [11, 44], [2, 7, 13], [31, 38, 49]]
n = len(units)
M = [len(u) for u in units]
counts = [sum(1 for u in units for v in u if edges[k] < v <= edges[k + 1]) for k in range(5)]
S = [[sum(1 for v in u if v <= edges[k + 1]) for k in range(5)] for u in units]
sum_below_sq = [sum(S[i][k] ** 2 for i in range(n)) for k in range(5)]
sum_below_m = [sum(S[i][k] * M[i] for i in range(n)) for k in range(5)]
print("G.counts =", counts); print("G.sumBelowSq =", sum_below_sq); print("G.sumBelowTimesEvents =", sum_below_m)
print("G.sumEvents =", sum(M), " G.sumEventsSq =", sum(m * m for m in M))
E = sum(M)
cum = [0]
for c in counts: cum.append(cum[-1] + c)
def value_at(rank):
    for k in range(5):
        if counts[k] > 0 and cum[k + 1] >= rank:
            t = min(1, max(0, (rank - cum[k]) / counts[k]))
            return edges[k] + t * (edges[k + 1] - edges[k]), k, t
for p in (0.5, 0.9):
    q, k, t = value_at(p * E)
    sq = (sum_below_sq[k - 1] if k > 0 else 0) * (1 - t) + sum_below_sq[k] * t
    sm = (sum_below_m[k - 1] if k > 0 else 0) * (1 - t) + sum_below_m[k] * t
    ssr = sq - 2 * p * sm + p * p * sum(m * m for m in M)
    mbar = E / n
    var_f = ssr / ((n - 1) * n * mbar ** 2)
    z = 1.959963984540054
    lo = value_at(max(0, E * (p - z * math.sqrt(var_f))))[0]
    hi = value_at(min(E, E * (p + z * math.sqrt(var_f))))[0]
    tag = "G" + str(int(p * 100))
    show(tag + ".quantile", q); show(tag + ".varF", var_f); show(tag + ".lower", lo); show(tag + ".upper", hi)
    show(tag + ".se", (hi - lo) / (2 * z))

print("# H: guardrail non-inferiority on the relative scale, A's data, harm = increase, margin 2 %")
c_val, c_var = 5.0, var_unit(28996.0, 5000.0, 1000) / 1000
t_val, t_var = 5720.0 / 1100, var_unit(34590.59, 5720.0, 1100) / 1100
rel = t_val / c_val - 1
rvar = t_var / c_val ** 2 + t_val ** 2 * c_var / c_val ** 4
n = 2100
show("H.harm", rel)
show("H.upper", rel + hw_one(rvar * n, n))
show("H.lower", rel - hw_two(rvar * n, n))
print("# H2: same data, harm = decrease, margin 1 %: units still needed (inconclusive)")
harm = -rel
up2 = harm + hw_one(rvar * n, n)
show("H2.upper", up2)
beta_g = 0.2 / (1 + 1)                 # one guardrail + one success metric
zb = N01.inv_cdf(1 - beta_g)
s2 = rvar * n
target = 0.01 - max(0.0, harm)
gap = lambda N: hw_one(s2, N) + zb * math.sqrt(s2 / N) - target
lo, hi = n, 2 * n
while gap(hi) > 0:
    lo, hi = hi, hi * 2
for _ in range(200):
    if hi - lo <= 0.5: break
    mid = (lo + hi) / 2
    if gap(mid) > 0: lo = mid
    else: hi = mid
show("H2.zBeta", zb); show("H2.pairUnitsNeeded", hi)
print("H2.additionalUnits =", math.ceil((hi - n) / 1.0))   # two variants: pair share = 1

print("# H3: proportion guardrail, 100000 units per arm, 12000 vs 13000 with events, harm = increase, absolute margin 0.005")
n_arm = 100000
vc, vt = var_unit(12000, 12000, n_arm) / n_arm, var_unit(13000, 13000, n_arm) / n_arm
est = 0.13 - 0.12
var = vc + vt
n = 2 * n_arm
show("H3.harm", est)
show("H3.upper", est + hw_one(var * n, n))
show("H3.lower", est - hw_two(var * n, n))
