#!/usr/bin/env python3
"""Regenerates src/test/resources/expected-failures.txt from target/promqltest-failures.txt.

Usage (from the promql/ directory, after a test run):  python3 scripts/gen-expected-failures.py
Reasons are derived from the eval's data/query; review the diff before committing.
"""
import os, re, sys

here = os.path.dirname(os.path.abspath(__file__))
mod = os.path.dirname(here)
fails = open(os.path.join(mod, 'target', 'promqltest-failures.txt')).read().splitlines()
testdir = os.environ.get('PROMQLTEST_DIR') or os.path.join(mod, '..', '..', 'shared', 'conformance', 'promqltest')

def native_metrics(path):
    """Metric names loaded as native histograms (incl. NHCB conversions) in a test file."""
    names = set()
    lines = open(path).read().splitlines()
    in_load = False
    nhcb = False
    for l in lines:
        s = l.strip()
        if s.startswith('load'):
            in_load = True
            nhcb = s.startswith('load_with_nhcb')
            continue
        if s.startswith('eval') or s == 'clear' or (l and not l[0].isspace() and s):
            in_load = False
        if in_load and s and not s.startswith('#'):
            m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)', s)
            if not m:
                continue
            name = m.group(1)
            if '{{' in s:
                names.add(name)
            if nhcb:
                for suf in ('_bucket', '_count', '_sum'):
                    if name.endswith(suf):
                        names.add(name[:-len(suf)])
    return names

def native_state(lines):
    """For each line index, whether native histogram data is loaded at that point."""
    st = []
    cur = False
    in_load = False
    for l in lines:
        s = l.strip()
        if s == 'clear':
            cur = False; in_load = False
        elif s.startswith('load'):
            in_load = True
            if s.startswith('load_with_nhcb'):
                cur = True
        elif s.startswith('eval'):
            in_load = False
        elif in_load and '{{' in s:
            cur = True
        st.append(cur)
    return st

cache = {}
out = []
for f in fails:
    if not f.strip():
        continue
    ident, msg = f.split(' ', 1)
    fname, line = ident.rsplit(':', 1)
    path = os.path.join(testdir, fname)
    if fname not in cache:
        ls = open(path).read().splitlines()
        cache[fname] = (native_metrics(path), ls, native_state(ls))
    natives, lines, nstate = cache[fname]
    q = lines[int(line) - 1]
    body = '\n'.join(lines[int(line) - 1:int(line) + 12])
    if fname == 'native_histograms.test':
        reason = 'native histograms are not supported'
    elif fname == 'info.test' or 'info(' in q:
        reason = 'info() function not implemented'
    elif fname == 'start_timestamps.test':
        reason = 'start timestamps (@st samples) not supported'
    elif '{{' in body or any(re.search(r'\b' + re.escape(n) + r'\b', q) for n in natives) or 'native histogram' in msg or 'histograms' in msg:
        reason = 'needs native histograms'
    elif nstate[int(line) - 1]:
        reason = 'needs native histograms (native histogram series loaded)'
    else:
        reason = 'TODO: ' + msg[:160]
    out.append(f'{ident} {reason}')

hdr = ['# Conformance evals that are expected to fail, one per line: <file>:<line> <reason>.',
       '# The suite fails if a listed eval passes (remove it) or an unlisted eval fails.',
       '# Regenerate candidates with scripts/gen-expected-failures.py after a test run.']
open(os.path.join(mod, 'src', 'test', 'resources', 'expected-failures.txt'), 'w').write('\n'.join(hdr + out) + '\n')
print(len(out), 'entries')
