#!/usr/bin/env bash
# Experiment reports benchmark (docs/experiments-api.md "Performance"): generates UNITS units over
# EXPERIMENTS experiments (5 metrics each) in a fresh embedded ClickHouse, then times one report and
# all reports of the tenant, merged and with 10 % of the units in an unmerged part.
#   query-api/bench-experiments.sh [units=10000000] [experiments=1000]
# VIGIL_BENCH_DIR keeps the generated data for the next run (default: a fresh directory, removed after).
set -euo pipefail
cd "$(dirname "$0")/.."
UNITS="${1:-10000000}" EXPERIMENTS="${2:-1000}"
export VIGIL_CHDB_LIB="${VIGIL_CHDB_LIB:-$(scripts/fetch-chdb.sh)}"
mvn -B -q -pl query-api -am test-compile dependency:build-classpath -Dmdep.outputFile=target/test-cp.txt \
    -Dmdep.includeScope=test >/dev/null
dir="${VIGIL_BENCH_DIR:-}"
if [[ -z "$dir" ]]; then dir="$(mktemp -d /tmp/vigil-exp-bench-XXXXXX)"; trap 'rm -rf "$dir"' EXIT; fi
VIGIL_BENCH_DIR="$dir" "${JAVA_HOME:+$JAVA_HOME/bin/}java" --enable-native-access=ALL-UNNAMED \
    --sun-misc-unsafe-memory-access=allow -Xmx2g -Dbench.unmerged=true \
    -Dlogback.configurationFile=vigil-embedded-clickhouse-logback.xml -DVIGIL_LOG_LEVEL=WARN \
    -cp "query-api/target/test-classes:query-api/target/classes:$(cat query-api/target/test-cp.txt)" \
    dev.vigil.query.experiments.ExperimentsBenchmark "$UNITS" "$EXPERIMENTS" 100 2 | grep -v ' INFO '
