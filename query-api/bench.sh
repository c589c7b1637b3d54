#!/usr/bin/env bash
# Query benchmarks (figures go to docs/query-api.md "Benchmark" and docs/benchmarks.md):
#  QueryBenchmark:     1,000 event series, 24 h, step 60 s, PromQL (engine + ClickHouse storage) vs
#                      hand-written ClickHouse SQL in the same session, runs interleaved;
#  DashboardBenchmark: every request of dashboards/json/ml-model-health.json over HTTP (wall time).
# BENCH=QueryBenchmark (or DashboardBenchmark) runs one of them; extra arguments go to Maven
# (e.g. -Dbench.runs=30 -Dbench.cases=2 -Dbench.dashboard.runs=10).
set -euo pipefail
cd "$(dirname "$0")/.."
export VIGIL_CHDB_LIB="${VIGIL_CHDB_LIB:-$(scripts/fetch-chdb.sh)}"
mvn -B -o -q -pl query-api verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
    -Dit.test="${BENCH:-QueryBenchmark,DashboardBenchmark}" -Dfailsafe.failIfNoSpecifiedTests=false "$@" 2>&1 | grep -E '^(BENCH|\|)' || true
