#!/usr/bin/env python3
"""Top frames of async-profiler's collapsed output (aggregator/bench.sh with ASPROF=1).

usage: scripts/collapsed-top.py FILE [THREAD-SUBSTRING] [N]
Prints, for the samples of threads whose name contains THREAD-SUBSTRING (default: all), the
frames with the most samples on top of the stack (self) and anywhere in it (inclusive), in %.
"""
import collections
import sys

path = sys.argv[1]
want = sys.argv[2] if len(sys.argv) > 2 else ""
top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
own, incl, threads = collections.Counter(), collections.Counter(), collections.Counter()
total = 0
with open(path) as f:
    for line in f:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        frames = stack.split(";")
        n = int(count)
        threads[frames[0]] += n
        if want not in frames[0]:
            continue
        total += n
        own[frames[-1]] += n
        for fr in set(frames[1:]):
            incl[fr] += n
if total == 0:
    sys.exit(f"no samples for threads matching {want!r}")
print(f"{total} samples of threads matching {want!r}")
for title, c in (("self", own), ("inclusive", incl)):
    print(f"--- {title}")
    for fr, n in c.most_common(top):
        print(f"{100.0 * n / total:5.1f}  {fr}")
print("--- busiest threads (all)")
for t, n in threads.most_common(10):
    print(f"{n:8d}  {t}")
