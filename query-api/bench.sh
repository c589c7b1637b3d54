#!/usr/bin/env bash
# Query benchmark: 1,000 event series, 24 h, step 60 s, PromQL (engine + ClickHouse storage) vs
# hand-written ClickHouse SQL in the same session. Figures go to docs/query-api.md "Benchmark".
set -euo pipefail
cd "$(dirname "$0")/.."
export VIGIL_CHDB_LIB="${VIGIL_CHDB_LIB:-$(scripts/fetch-chdb.sh)}"
mvn -B -o -q -pl query-api verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
    -Dit.test=QueryBenchmark -Dfailsafe.failIfNoSpecifiedTests=false "$@" 2>&1 | grep -E '^(BENCH|\|)' || true
