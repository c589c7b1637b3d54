#!/usr/bin/env bash
# Gateway benchmark (docs/load-test.md, "Gateway benchmark"). Loopback only, bounded in time,
# stops only the processes it started. Needs `mvn -B -q -pl kafka-broker,ingest-gateway,load-test -am package -DskipTests` first.
#
#   load-test/bench-gateway.sh            # defaults: 200-byte events, batches of 500, goal 1,000,000 ev/s
#   PHASE_SECONDS=20 CONNECTIONS=16 GOAL_RATE=1000000 BENCH_JFR=1 load-test/bench-gateway.sh
set -euo pipefail
cd "$(dirname "$0")/.."

JAVA_HOME=${JAVA_HOME:-}
if [[ -z "$JAVA_HOME" || ! -x "$JAVA_HOME/bin/java" ]]; then
  for d in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*25*; do
    if [[ -x "$d/bin/java" ]]; then JAVA_HOME=$d; break; fi
  done
fi
JAVA="$JAVA_HOME/bin/java"
[[ -x "$JAVA" ]] || { echo "bench: no JDK 25 found under /usr/lib/jvm" >&2; exit 2; }
for d in kafka-broker ingest-gateway load-test; do
  [[ -d $d/target/classes && -d $d/target/lib ]] || { echo "bench: $d not packaged; run: mvn -B -q -pl kafka-broker,ingest-gateway,load-test -am package -DskipTests" >&2; exit 2; }
done

GOAL_RATE=${GOAL_RATE:-1000000}
BATCH=${BATCH:-500}
PHASE_SECONDS=${PHASE_SECONDS:-20}
CONNECTIONS=${CONNECTIONS:-16}
PERF_RECORDS=${PERF_RECORDS:-3000000}
KAFKA_PORT=${KAFKA_PORT:-29092}
KAFKA_CTL_PORT=${KAFKA_CTL_PORT:-29093}
GW_PORT=${GW_PORT:-28080}
# the heap `./vigil up` gives the gateway (VIGIL_GATEWAY_HEAP); with 1g, G1 lets used heap grow
# lazily to ~600 MiB before collecting, which says nothing about what the gateway needs
GW_HEAP=${GW_HEAP:-512m}
# generator seconds left out of the peak rate and of the latency percentiles (a fresh JVM sends late)
WARMUP_SECONDS=${WARMUP_SECONDS:-5}
OUT=${OUT:-$(mktemp -d /tmp/vigil-bench.XXXXXX)}
KEY=bench-key-$$
FLAGS="--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"
PIDS=()

cleanup() {
  for p in "${PIDS[@]:-}"; do
    [[ -n "$p" ]] && kill "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]:-}"; do
    [[ -n "$p" ]] && timeout 20 tail --pid="$p" -f /dev/null 2>/dev/null || true
  done
}
trap cleanup EXIT

wait_ready() { # file, seconds
  local i=0
  until grep -q '^READY' "$1" 2>/dev/null; do
    sleep 0.5; i=$((i+1))
    if (( i > $2 * 2 )); then echo "bench: $1 not READY in $2 s" >&2; tail -20 "$1" >&2; exit 1; fi
  done
}

mkdir -p "$OUT"
for p in $KAFKA_PORT $KAFKA_CTL_PORT $GW_PORT; do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "bench: port $p already in use; set KAFKA_PORT/KAFKA_CTL_PORT/GW_PORT" >&2; exit 2; fi
done
echo "bench: results in $OUT"
# 1. Broker.
VIGIL_KAFKA_DATA_DIR="$OUT/kafka" VIGIL_KAFKA_PORT=$KAFKA_PORT VIGIL_KAFKA_CONTROLLER_PORT=$KAFKA_CTL_PORT \
  "$JAVA" $FLAGS -Xmx2g -cp "kafka-broker/target/classes:kafka-broker/target/lib/*" dev.vigil.kafka.KafkaBrokerMain > "$OUT/kafka.log" 2>&1 &
PIDS+=($!)
wait_ready "$OUT/kafka.log" 90
BOOT=127.0.0.1:$KAFKA_PORT

# 2. Kafka's own ProducerPerformance, same record size and producer settings as the gateway.
"$JAVA" $FLAGS -cp "load-test/target/classes:load-test/target/lib/*" dev.vigil.loadtest.CreateTopic $BOOT bench.perf 4 > /dev/null
timeout 180 "$JAVA" $FLAGS -Xmx1g -cp "load-test/target/lib/*" org.apache.kafka.tools.ProducerPerformance \
  --topic bench.perf --num-records $PERF_RECORDS --record-size 200 --throughput -1 \
  --producer-props bootstrap.servers=$BOOT acks=all enable.idempotence=true linger.ms=5 batch.size=262144 compression.type=lz4 \
  > "$OUT/producer-perf.log" 2>&1
PERF_LINE=$(grep 'records sent' "$OUT/producer-perf.log" | tail -1)
PERF_MBS=$(echo "$PERF_LINE" | sed -E 's/.*\(([0-9.]+) MB\/sec\).*/\1/')
PERF_RPS=$(echo "$PERF_LINE" | sed -E 's/.* records sent, ([0-9.]+) records\/sec.*/\1/')
echo "bench: ProducerPerformance $PERF_LINE"

# 3. Gateway.
JFR=""
if [[ "${BENCH_JFR:-0}" == 1 ]]; then JFR="-XX:StartFlightRecording=filename=$OUT/gateway.jfr,settings=profile"; fi
VIGIL_GATEWAY_PORT=$GW_PORT VIGIL_KAFKA_BOOTSTRAP_SERVERS=$BOOT VIGIL_KAFKA_TOPIC_PREFIX=bench. VIGIL_KAFKA_PARTITIONS=4 \
VIGIL_API_KEYS="bench:$KEY" VIGIL_LOG_LEVEL=WARN \
  "$JAVA" $FLAGS -Xmx$GW_HEAP -Xms$GW_HEAP $JFR ${GW_JAVA_OPTS:-} -cp "ingest-gateway/target/classes:ingest-gateway/target/lib/*" dev.vigil.gateway.GatewayMain \
  > "$OUT/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=($GW_PID)
wait_ready "$OUT/gateway.log" 60

loadgen() { # name rate [extra LoadTestMain args]
  local name=$1 rate=$2; shift 2
  timeout $((PHASE_SECONDS + 90)) "$JAVA" $FLAGS -Xmx1g -cp "load-test/target/classes:load-test/target/lib/*" dev.vigil.loadtest.LoadTestMain \
    --url http://127.0.0.1:$GW_PORT --api-key "$KEY" --rate "$rate" --batch $BATCH --duration ${PHASE_SECONDS}s \
    --connections $CONNECTIONS --mix inference --report-json "$OUT/$name.json" "$@" > "$OUT/$name.log" 2>&1
}
jnum() { # file key
  python3 -c "import json,sys; d=json.load(open('$1')); v=d; [v:=v[k] for k in '$2'.split('.')]; print(v)"
}

# 4. Peak: offer the goal rate, measure what is accepted.
# The peak is the accepted rate over the seconds after the warm-up: a fresh generator JVM sends
# almost nothing in its first two seconds, which used to count against the gateway.
loadgen peak "$GOAL_RATE" --warmup ${WARMUP_SECONDS}s
PEAK=$(jnum "$OUT/peak.json" accepted_events_per_sec_after_warmup)
echo "bench: peak accepted $PEAK events/s after the warm-up (offered $GOAL_RATE)"

# 5. Half the peak: latency.
# The first WARMUP_SECONDS of the phase are sent but left out of the percentiles: a fresh
# generator JVM sends its first second late (its own JIT), which read as ~500 ms p99 before.
# The pause lets the broker and the gateway finish the peak phase's backlog first.
HALF=$(( PEAK / 2 ))
sleep 5
loadgen half "$HALF" --warmup ${WARMUP_SECONDS}s
echo "bench: at $HALF events/s p50=$(jnum "$OUT/half.json" latency_ms.p50) ms p99=$(jnum "$OUT/half.json" latency_ms.p99) ms"

# 6. Twice the peak: heap stays bounded (16 connections queue the excess in the generator, so the
#    answers stay 200; shedding with 429 is ingest-gateway/bench.sh's 2,048-connection phase).
DOUBLE=$(( PEAK * 2 ))
( for i in $(seq 1 $((PHASE_SECONDS + 5))); do
    "$JAVA_HOME/bin/jstat" -gc $GW_PID 2>/dev/null | tail -1
    sleep 1
  done ) > "$OUT/jstat.log" &
JSTAT_PID=$!
PIDS+=($JSTAT_PID)
loadgen double "$DOUBLE"
wait $JSTAT_PID 2>/dev/null || true
HEAP_MAX_MB=$(awk '{u=$3+$4+$6+$8; if (u>m) m=u} END {printf "%.0f", m/1024}' "$OUT/jstat.log")
echo "bench: at $DOUBLE events/s statuses=$(jnum "$OUT/double.json" statuses) max heap used ${HEAP_MAX_MB} MiB (-Xmx$GW_HEAP)"

python3 - "$OUT" "$PERF_MBS" "$PERF_RPS" "$HEAP_MAX_MB" <<'EOF'
import json, sys
out, perf_mbs, perf_rps, heap = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
peak, half, dbl = (json.load(open(f"{out}/{n}.json")) for n in ("peak", "half", "double"))
peak_eps = peak["accepted_events_per_sec_after_warmup"]
gw_bps = peak_eps * 200
summary = {
  "producer_performance_records_per_sec": perf_rps,
  "producer_performance_mb_per_sec": perf_mbs,
  "gateway_peak_events_per_sec": peak_eps,
  "gateway_peak_events_per_sec_whole_phase_incl_warmup": peak["accepted_events_per_sec"],
  "gateway_peak_body_bytes_per_sec": round(peak_eps * peak["avg_event_bytes"]),
  "gateway_peak_event_bytes_per_sec_at_200B": gw_bps,
  "ratio_gateway_vs_producer_performance": round(gw_bps / (perf_mbs * 1024 * 1024), 3),
  "half_peak_rate": half["offered_events_per_sec"],
  "half_peak_latency_ms": half["latency_ms"],
  "double_peak_rate": dbl["offered_events_per_sec"],
  "double_peak_statuses": dbl["statuses"],
  "double_peak_accepted_events_per_sec": dbl["accepted_events_per_sec"],
  "double_peak_max_heap_used_mib": int(heap),
}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
print("BENCH-SUMMARY " + json.dumps(summary))
EOF
