#!/usr/bin/env bash
# Gateway throughput benchmark with the light client FloodClient (docs/gateway.md, "Performance").
# Same shape as load-test/bench-gateway.sh (broker, Kafka's ProducerPerformance in the same run,
# gateway, then peak / half / double phases), but the load comes from
# dev.vigil.gateway.bench.FloodClient (ingest-gateway/src/test), which needs far less CPU per
# event than LoadTestMain. Loopback only, bounded in time, stops only the processes it started.
#
#   mvn -B -q -pl kafka-broker,ingest-gateway,load-test -am package -DskipTests   # load-test: kafka-tools for ProducerPerformance
#   mvn -B -q -pl ingest-gateway test-compile
#   PHASE_SECONDS=15 ingest-gateway/bench.sh
#   GW_ENV="VIGIL_KAFKA_LINGER_MS=20 VIGIL_KAFKA_COMPRESSION=lz4" ingest-gateway/bench.sh   # gateway settings to try
set -euo pipefail
cd "$(dirname "$0")/.."

JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA="$JAVA_HOME/bin/java"
[[ -x "$JAVA" ]] || { echo "bench: no JDK at $JAVA_HOME" >&2; exit 2; }
PHASE_SECONDS=${PHASE_SECONDS:-15}
WARMUP=${WARMUP:-5}
BATCH=${BATCH:-500}
CONNECTIONS=${CONNECTIONS:-64}
DOUBLE_CONNECTIONS=${DOUBLE_CONNECTIONS:-2048}
PERF_RECORDS=${PERF_RECORDS:-2000000}
KAFKA_PORT=${KAFKA_PORT:-29292}
KAFKA_CTL_PORT=${KAFKA_CTL_PORT:-29293}
GW_PORT=${GW_PORT:-28280}
GW_HEAP=${GW_HEAP:-512m}
GW_ENV=${GW_ENV:-}
OUT=${OUT:-$(mktemp -d /tmp/vigil-gwbench.XXXXXX)}
KEY=bench-key-$$
FLAGS="--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && timeout 20 tail --pid="$p" -f /dev/null 2>/dev/null || true; done
}
trap cleanup EXIT
wait_ready() {
  local i=0
  until grep -q '^READY' "$1" 2>/dev/null; do
    sleep 0.5; i=$((i+1))
    if (( i > $2 * 2 )); then echo "bench: $1 not READY in $2 s" >&2; tail -20 "$1" >&2; exit 1; fi
  done
}
mkdir -p "$OUT/cp"
# Snapshot the class paths: other modules may be rebuilt while the benchmark runs.
for d in kafka-broker ingest-gateway; do
  [[ -d $d/target/classes && -d $d/target/lib ]] || { echo "bench: $d not packaged" >&2; exit 2; }
  mkdir -p "$OUT/cp/$d"; cp -r $d/target/classes $d/target/lib "$OUT/cp/$d/"
done
# ProducerPerformance comes from kafka-tools in load-test's dependency folder.
ls load-test/target/lib/kafka-tools-*.jar > /dev/null || { echo "bench: load-test/target/lib has no kafka-tools (package load-test)" >&2; exit 2; }
mkdir -p "$OUT/cp/load-test"; cp -r load-test/target/lib "$OUT/cp/load-test/"
[[ -d ingest-gateway/target/test-classes/dev/vigil/gateway/bench ]] || { echo "bench: run mvn -pl ingest-gateway test-compile" >&2; exit 2; }
cp -r ingest-gateway/target/test-classes "$OUT/cp/ingest-gateway/"
CP="$OUT/cp"
echo "bench: results in $OUT"
echo "uptime-start $(uptime)" | tee "$OUT/uptime.log"

VIGIL_KAFKA_DATA_DIR="$OUT/kafka" VIGIL_KAFKA_PORT=$KAFKA_PORT VIGIL_KAFKA_CONTROLLER_PORT=$KAFKA_CTL_PORT \
  "$JAVA" $FLAGS -Xmx2g -cp "$CP/kafka-broker/classes:$CP/kafka-broker/lib/*" dev.vigil.kafka.KafkaBrokerMain > "$OUT/kafka.log" 2>&1 &
KAFKA_PID=$!
PIDS+=($KAFKA_PID)
wait_ready "$OUT/kafka.log" 90
ticks() { awk '{print $14+$15}' /proc/$1/stat; }   # user+system CPU of a process, in clock ticks
HZ=$(getconf CLK_TCK)
BOOT=127.0.0.1:$KAFKA_PORT

"$JAVA" $FLAGS -cp "$CP/ingest-gateway/test-classes:$CP/ingest-gateway/lib/*" dev.vigil.gateway.bench.CreateTopic $BOOT bench.perf 4 > /dev/null
K0=$(ticks $KAFKA_PID)
timeout 240 /usr/bin/time -f "PP-CPU %U %S" "$JAVA" $FLAGS -Xmx1g -cp "$CP/load-test/lib/*" org.apache.kafka.tools.ProducerPerformance \
  --topic bench.perf --num-records $PERF_RECORDS --record-size 200 --throughput -1 \
  --producer-props bootstrap.servers=$BOOT acks=all enable.idempotence=true linger.ms=5 batch.size=262144 compression.type=lz4 \
  > "$OUT/producer-perf.log" 2>&1
K1=$(ticks $KAFKA_PID)
PERF_LINE=$(grep 'records sent' "$OUT/producer-perf.log" | tail -1)
PP_CPU_US=$(awk -v n=$PERF_RECORDS '/^PP-CPU/ {printf "%.2f", ($2+$3)*1e6/n}' "$OUT/producer-perf.log")
PP_BROKER_US=$(awk -v a=$K0 -v b=$K1 -v hz=$HZ -v n=$PERF_RECORDS 'BEGIN {printf "%.2f", (b-a)/hz*1e6/n}')
echo "bench: ProducerPerformance CPU ${PP_CPU_US} us/record, broker ${PP_BROKER_US} us/record"
echo "bench: ProducerPerformance $PERF_LINE"
echo "uptime-after-pp $(uptime)" | tee -a "$OUT/uptime.log"

env $GW_ENV VIGIL_GATEWAY_PORT=$GW_PORT VIGIL_KAFKA_BOOTSTRAP_SERVERS=$BOOT VIGIL_KAFKA_TOPIC_PREFIX=bench. VIGIL_KAFKA_PARTITIONS=4 \
  VIGIL_API_KEYS="bench:$KEY" VIGIL_LOG_LEVEL=WARN \
  "$JAVA" $FLAGS -Xmx$GW_HEAP -Xms$GW_HEAP ${GW_JFR:+-XX:StartFlightRecording=filename=$OUT/gateway.jfr,settings=profile} \
  -cp "$CP/ingest-gateway/classes:$CP/ingest-gateway/lib/*" dev.vigil.gateway.GatewayMain > "$OUT/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=($GW_PID)
wait_ready "$OUT/gateway.log" 60

flood() { # name rate connections
  timeout $((PHASE_SECONDS + WARMUP + 90)) "$JAVA" $FLAGS -Xmx512m -cp "$CP/ingest-gateway/test-classes:$CP/ingest-gateway/classes:$CP/ingest-gateway/lib/*" \
    dev.vigil.gateway.bench.FloodClient --port $GW_PORT --api-key "$KEY" --rate "$2" --batch $BATCH --connections "$3" \
    --duration $PHASE_SECONDS --warmup $WARMUP > "$OUT/$1.log" 2>&1
  grep '^FLOOD-JSON' "$OUT/$1.log" | sed 's/^FLOOD-JSON //' > "$OUT/$1.json"
}
jnum() { python3 -c "import json; d=json.load(open('$1')); v=d; [v:=v[k] for k in '$2'.split('.')]; print(v)"; }

# Warm-up (not measured): JIT compilation would otherwise dominate the CPU-per-event figure.
flood warm 0 $CONNECTIONS
G0=$(ticks $GW_PID); K0=$(ticks $KAFKA_PID)
flood peak 0 $CONNECTIONS
G1=$(ticks $GW_PID); K1=$(ticks $KAFKA_PID)
PEAK=$(jnum "$OUT/peak.json" accepted_events_per_sec | cut -d. -f1)
# The gateway's and the broker's CPU over the whole peak phase per event accepted in it (the
# client's own warm-up seconds are counted at the measured rate: an approximation).
PEAK_EVENTS=$(python3 -c "import json; d=json.load(open('$OUT/peak.json')); print(d['accepted_events_per_sec']*(d['duration_s']+$WARMUP))")
GW_CPU_US=$(awk -v a=$G0 -v b=$G1 -v hz=$HZ -v n=$PEAK_EVENTS 'BEGIN {printf "%.2f", (b-a)/hz*1e6/n}')
GW_BROKER_US=$(awk -v a=$K0 -v b=$K1 -v hz=$HZ -v n=$PEAK_EVENTS 'BEGIN {printf "%.2f", (b-a)/hz*1e6/n}')
echo "bench: peak accepted $PEAK events/s (closed loop, $CONNECTIONS connections); gateway CPU ~${GW_CPU_US} us/event, broker ${GW_BROKER_US} us/event"
echo "uptime-after-peak $(uptime)" | tee -a "$OUT/uptime.log"
flood half $((PEAK / 2)) $CONNECTIONS
echo "bench: at $((PEAK / 2)) events/s: p50=$(jnum "$OUT/half.json" latency_ms.p50) p99=$(jnum "$OUT/half.json" latency_ms.p99) ms statuses=$(jnum "$OUT/half.json" statuses)"
( for i in $(seq 1 $((PHASE_SECONDS + WARMUP + 5))); do "$JAVA_HOME/bin/jstat" -gc $GW_PID 2>/dev/null | tail -1; sleep 1; done ) > "$OUT/jstat.log" &
JSTAT_PID=$!
PIDS+=($JSTAT_PID)
# Overload: DOUBLE_CONNECTIONS connections in closed loop (each sends again as soon as it is
# answered; 50 ms pause after a 429/503): far more than the gateway can take at once, so the
# in-flight byte budget must shed. Set DOUBLE_RATE to offer a fixed rate instead.
flood double ${DOUBLE_RATE:-0} $DOUBLE_CONNECTIONS
wait $JSTAT_PID 2>/dev/null || true
HEAP=$(awk '{u=$3+$4+$6+$8; if (u>m) m=u} END {printf "%.0f", m/1024}' "$OUT/jstat.log")
OFFERED=$(python3 -c "import json; d=json.load(open('$OUT/double.json')); print(int(d['requests_sent']*d['batch']/d['duration_s']))")
echo "bench: overload, $OFFERED events/s offered over $DOUBLE_CONNECTIONS connections: statuses=$(jnum "$OUT/double.json" statuses) accepted=$(jnum "$OUT/double.json" accepted_events_per_sec) ev/s, max heap used ${HEAP} MiB (-Xmx$GW_HEAP)"
echo "uptime-end $(uptime)" | tee -a "$OUT/uptime.log"
python3 - "$OUT" "$PERF_LINE" "$HEAP" "$PP_CPU_US" "$PP_BROKER_US" "$GW_CPU_US" "$GW_BROKER_US" <<'EOF'
import json, re, sys
out, perf, heap = sys.argv[1], sys.argv[2], int(sys.argv[3])
cpu = dict(zip(("pp_cpu_us_per_record", "broker_cpu_us_per_record_pp", "gateway_cpu_us_per_event", "broker_cpu_us_per_event_gateway"), map(float, sys.argv[4:8])))
rps = float(re.search(r'records sent, ([0-9.]+) records/sec', perf).group(1))
mbs = float(re.search(r'\(([0-9.]+) MB/sec\)', perf).group(1))
peak, half, dbl = (json.load(open(f"{out}/{n}.json")) for n in ("peak", "half", "double"))
s = {"producer_performance_records_per_sec": rps, "producer_performance_mb_per_sec": mbs,
     "gateway_peak_events_per_sec": peak["accepted_events_per_sec"],
     "ratio_events_vs_pp_records": round(peak["accepted_events_per_sec"] / rps, 3),
     "half_peak_rate": half["offered_events_per_sec"], "half_peak_latency_ms": half["latency_ms"], "half_peak_statuses": half["statuses"],
     "double_peak_offered_events_per_sec": round(dbl["requests_sent"] * dbl["batch"] / dbl["duration_s"]), "double_connections": dbl["connections"], "double_peak_statuses": dbl["statuses"],
     "double_peak_accepted_events_per_sec": dbl["accepted_events_per_sec"], "double_peak_max_heap_used_mib": heap, **cpu}
json.dump(s, open(f"{out}/summary.json", "w"), indent=2)
print("GW-BENCH-SUMMARY " + json.dumps(s))
EOF
