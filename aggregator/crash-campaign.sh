#!/usr/bin/env bash
# The aggregator's crash campaign: ITAggregatorCrash with more SIGKILLs than the test command's 4. Under load (client
# retries of acknowledged batches mixed in) the aggregator, a child JVM, is SIGKILLed at random moments N times
# (default 24), Kafka and ClickHouse are each restarted once (after the second kill); afterwards every acknowledged
# event must be counted exactly once (10 s, 1 h and per-unit tables; sums too). ~10 s a kill on this 2-core machine.
#   aggregator/crash-campaign.sh [kills]
# Its log (the kills, the recoveries, the totals) is in aggregator/target/failsafe-reports/dev.vigil.aggregator.ITAggregatorCrash-output.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-24}"
[[ "$kills" =~ ^[0-9]+$ && "$kills" -ge 2 ]] || { echo "kills must be a whole number of at least 2 (the restarts follow the second), got '$kills'" >&2; exit 2; }
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
export VIGIL_CHDB_LIB="${VIGIL_CHDB_LIB:-$(scripts/fetch-chdb.sh)}"
exec mvn -B -pl aggregator -am verify -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=ITAggregatorCrash \
  -Dfailsafe.failIfNoSpecifiedTests=false -Dcrash.kills="$kills"
