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
# -am builds the modules it needs from this checkout (nothing has to be installed in ~/.m2 first); the
# other modules' integration tests do not match it.test and are skipped
log="$(mktemp /tmp/vigil-query-bench-XXXXXX.log)"
trap 'rm -f "$log"' EXIT
if ! mvn -B -q -pl query-api -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
    -Dit.test="${BENCH:-QueryBenchmark,DashboardBenchmark}" -Dfailsafe.failIfNoSpecifiedTests=false "$@" >"$log" 2>&1; then
  tail -40 "$log" >&2
  echo "query bench: mvn failed" >&2
  exit 1
fi
grep -E '^(BENCH|\|)' "$log" || { echo "query bench: no results in the output" >&2; exit 1; }
