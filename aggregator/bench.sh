#!/usr/bin/env bash
# Aggregator benchmark: events consumed and rolled up per second beside Kafka's ConsumerPerformance
# on the same topic, and rows stored per event. Usage: aggregator/bench.sh [events] [partitions] [series] [id-fraction] [consumers (default 2)] [spread-ms (default 10000 with -Dbench.times=ordered, the default; 60000 with shuffled)]
# Set JFR=1 to record a flight recording (aggregator/target/bench.jfr), ASPROF=1 for async-profiler CPU samples (see below).
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
export VIGIL_CHDB_LIB="${VIGIL_CHDB_LIB:-$(scripts/fetch-chdb.sh)}"
mvn -B -q -pl common,aggregator -am test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench.cp >/dev/null
CP="aggregator/target/test-classes:aggregator/target/classes:$(cat aggregator/target/bench.cp)"
JFR_OPTS=()
if [[ "${JFR:-0}" == 1 ]]; then JFR_OPTS=(-XX:StartFlightRecording=filename=aggregator/target/bench.jfr,settings=profile); fi
# ASPROF=1: async-profiler (from Maven Central) samples CPU while the job consumes (from its start to its last
# record) into aggregator/target/bench-consuming.collapsed (one line per stack, thread first). JFR's method
# samples put a third of the consumer thread in ByteHash.eq, which async-profiler's CPU samples put at 3 %:
# use this one to decide what to optimise.
if [[ "${ASPROF:-0}" == 1 ]]; then
  mvn -B -q dependency:copy -Dartifact=tools.profiler:async-profiler:4.1 -DoutputDirectory=aggregator/target/asprof >/dev/null
  (cd aggregator/target/asprof && unzip -o -q async-profiler-4.1.jar 'linux-x64/*')
  CP="$CP:aggregator/target/asprof/async-profiler-4.1.jar"
  # DebugNonSafepoints: without it a sample in compiled code is charged to the nearest safepoint's inlined frame, and
  # the profile moved whole percentages between methods from one run to the next (ByteHash.eq 9 % in one, 26 % in another)
  JFR_OPTS+=(-Dbench.asprof.lib="$PWD/aggregator/target/asprof/linux-x64/libasyncProfiler.so" -XX:+UnlockDiagnosticVMOptions -XX:+DebugNonSafepoints)
fi
# BENCH_JAVA_OPTS: extra JVM options, e.g. -Xlog:gc+cpu=info:file=/tmp/gc.log; -Dbench.warm=N (warm-up topic events,
# default min(events / 2, 15,000,000)); -Dbench.warm-events=N (the warm-up job reads that topic again until it has read N, default
# 30,000,000; -Dbench.warm-passes=P overrides the count of passes); -Dbench.flush-interval=2s and -Dbench.max-records-per-flush=5000000 (the jobs' flush settings: a job's defaults; partitions that are behind flush at aggregator.catch-up.flush-interval, 10 s); -Dbench.asprof.event=wall (with ASPROF=1: wall-clock samples, to see waits);
# -Dbench.repeats=N (the job and ConsumerPerformance alternate N times; prints each ratio and their median);
# -Dbench.recovery=true (after the last run, the job again on the same data: prints how long its partitions took to
# recover, retry stores rebuilt from the marked records re-read from Kafka included)
# BENCH_SQL="stmt; stmt": statements run before the measured job (a diagnostic, e.g. a table setting to try:
# "ALTER TABLE vigil_rollup_10s MODIFY SETTING merge_selector_base = 20"); the bench prints the rollup tables' active
# parts after each job's merges settle
# BENCH_NO_VIEWS=1: drops the 1 m and 1 h materialized views before the measured job (a diagnostic of what they
# cost ClickHouse; those tables then stay empty, so never compare such a run with a normal one as a result)
# The broker's and the engine's files (2-3 GB a run with client ids) go in one directory under /tmp (where the JVMs'
# 24-hour sweep finds one left by a SIGKILL), deleted once the JVM has exited: the embedded engine writes into it
# until then, so a TERM or INT to this script is passed to the JVM first. BENCH_KEEP=1 keeps it for a post-mortem.
# -XX:+UseCompactObjectHeaders: as ./vigil runs the aggregator (ConsumerPerformance, in the same JVM, runs with it too;
# docs/aggregator-performance.md, "JVM options move both sides"); BENCH_JAVA_OPTS=-XX:-UseCompactObjectHeaders turns it off.
# -Xms2g: ./vigil gives the aggregator its whole 2 GiB heap from the start; without it G1 kept this JVM's heap near 1.1 GB
# and, with client ids, started a concurrent mark cycle every ~1.5 s (docs/aggregator-performance.md, "ninth session")
BENCH_DIR="$(mktemp -d /tmp/vigil-agg-bench-XXXXXXXX)"
# shellcheck disable=SC2086
"$JAVA_HOME/bin/java" -Xmx4g -Xms2g -XX:+UseCompactObjectHeaders ${BENCH_JAVA_OPTS:-} --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow "${JFR_OPTS[@]}" \
  -Dbench.dir="$BENCH_DIR" -cp "$CP" dev.vigil.aggregator.bench.AggregatorBenchmark "$@" &
JAVA_PID=$!
trap 'kill -TERM "$JAVA_PID" 2>/dev/null || true' TERM INT
rc=0
wait "$JAVA_PID" || rc=$?
while kill -0 "$JAVA_PID" 2>/dev/null; do # the wait was cut short by a signal: wait for the JVM's exit
  rc=0
  wait "$JAVA_PID" || rc=$?
done
if [[ "${BENCH_KEEP:-0}" != 1 ]]; then rm -rf "$BENCH_DIR"; else echo "kept $BENCH_DIR" >&2; fi
exit "$rc"
