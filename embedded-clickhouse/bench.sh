#!/usr/bin/env bash
# Runs the embedded ClickHouse benchmark: bench.sh [rows=2000000] [selects=3000]
# Extra JVM options in BENCH_JAVA_OPTS, e.g. -Dbench.only=insert|select, -Dbench.writers=N, -XX:StartFlightRecording=...
set -euo pipefail
cd "$(dirname "$0")/.."
export VIGIL_CHDB_LIB="${VIGIL_CHDB_LIB:-$(scripts/fetch-chdb.sh)}"
mvn -B -q -pl embedded-clickhouse test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test >/dev/null
M=embedded-clickhouse/target
exec "${JAVA_HOME:+$JAVA_HOME/bin/}java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx2g ${BENCH_JAVA_OPTS:-} \
  -Dlogback.configurationFile=vigil-embedded-clickhouse-logback.xml -DVIGIL_LOG_LEVEL=WARN \
  -cp "$M/classes:$M/test-classes:$(cat $M/bench.classpath)" dev.vigil.clickhouse.bench.ClickHouseBenchmark "$@"
