#!/usr/bin/env bash
# The benchmark, in ONE run on the same PostgreSQL (full durability: synchronous_commit on):
#  (a) the service end to end: the simulator sends a seeded Synapse-like workload, 100 events per transaction,
#      one transaction in flight, then the oracle checks every room and user;
#  (b) the floor: the service's own ingest code (same SQL, same connection settings) replaying the same workload
#      with one client, without HTTP, JSON parsing or ASP.NET;
#  (c) duplicate-only: every transaction again under new txnIds, through both.
# Prints the table with the ratios service/floor (docs/benchmarks.md explains it) and keeps the JSON in
# bench-results/. 127.0.0.1 only; bounded by BENCH_MAX_SECONDS.
#
# Steady-state code is measured: tiered compilation is off in the service, the floor and the simulator
# (DOTNET_TieredCompilation=0), because on 2 cores the background tiered compiler was still busy after a long
# warm-up and took CPU from the measured phase (docs/benchmarks.md). BENCH_TIERED=1 measures with the default.
#
#   BENCH_EVENTS=50000 BENCH_SEED=1 BENCH_POOL_SIZE=4 [BENCH_TIERED=1] scripts/bench.sh
#   scripts/bench.sh admin    # instead: EXPLAIN (ANALYZE) of every admin route at scale (scripts/admin-explain.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = admin ]; then exec scripts/admin-explain.sh; fi
if [ "${BENCH_TIERED:-0}" = 1 ]; then unset DOTNET_TieredCompilation; else export DOTNET_TieredCompilation=0; fi
source scripts/lib/postgres.sh
ensure_postgres
export SERVICE_PORT="${SERVICE_PORT:-9200}"
export SERVICE_POOL_SIZE="${BENCH_POOL_SIZE:-4}"
stamp="$(date +%Y%m%d-%H%M%S)"
out="bench-results/$stamp"
mkdir -p "$out"

# Measured as production runs it: Production environment (no Development-only DI scope validation), with a
# registration generated like an operator would, not the shipped placeholders.
dotnet build src/AppService -c Release -nologo -v q 2>&1 | grep -E ' error ' || true
dotnet src/AppService/bin/Release/net10.0/AppService.dll generate-registration --id bench --url "http://127.0.0.1:$SERVICE_PORT" \
  --sender-localpart bot --namespace-regex '^@_bot_.*:localhost$' --out "$out/registration.yaml" >/dev/null
export SERVICE_REGISTRATION="$PWD/$out/registration.yaml"
export ASPNETCORE_ENVIRONMENT=Production
source scripts/lib/service.sh

EVENTS="${BENCH_EVENTS:-50000}"
SEED="${BENCH_SEED:-1}"
# Steady state: the warm-up lets tiered JIT finish recompiling the hot paths before the clock starts.
WARMUP="${BENCH_WARMUP:-300}"
# ...and the pause after it lets the background tiered compiler drain its queue: on 2 busy cores it was still
# compiling during the timed phase without one (a perf profile showed 59% of the service's CPU on that thread).
PAUSE="${BENCH_WARMUP_PAUSE:-15}"
MAX_SECONDS="${BENCH_MAX_SECONDS:-900}"
service_db="bench_service_${stamp//-/_}"
floor_db="bench_floor_${stamp//-/_}"

cleanup() { stop_service; drop_database "$service_db"; drop_database "$floor_db"; }
trap cleanup EXIT

build_service_and_simulator
dotnet build tools/AppService.Benchmarks -c Release -nologo -v q 2>&1 | grep -E ' error ' || true
psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -d postgres -qAtc "CREATE DATABASE \"$service_db\"" >/dev/null
psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -d postgres -qAtc "CREATE DATABASE \"$floor_db\"" >/dev/null
echo "tiered compilation: ${DOTNET_TieredCompilation:-default}"
echo "PostgreSQL $(psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -d postgres -qAtc 'show server_version'), synchronous_commit=$(psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -d postgres -qAtc 'show synchronous_commit'), pool size $SERVICE_POOL_SIZE"

echo "== (a) service end to end, (c) duplicate-only through the service"
start_service "$service_db" "$out/service.log"
timeout "$MAX_SECONDS" dotnet "$SIMULATOR_DLL" --url "$SERVICE_URL" --hs-token "$SERVICE_HS_TOKEN" --admin-token "$SERVICE_ADMIN_TOKEN" \
  --events "$EVENTS" --seed "$SEED" --warmup "$WARMUP" --warmup-pause "$PAUSE" --duplicate-only --pid "$SERVICE_PID" \
  --max-seconds "$MAX_SECONDS" --json "$out/service.json" | tee "$out/simulator.txt" | tail -n 25
stop_service

echo "== (b) floor, (c) duplicate-only through the floor"
timeout "$MAX_SECONDS" dotnet tools/AppService.Benchmarks/bin/Release/net10.0/AppService.Benchmarks.dll floor \
  --connection "$(service_connection_string "$floor_db")" --events "$EVENTS" --seed "$SEED" --warmup "$WARMUP" \
  --warmup-pause "$PAUSE" --json "$out/floor.json" | tee "$out/floor.txt"

echo "== service / floor"
dotnet tools/AppService.Benchmarks/bin/Release/net10.0/AppService.Benchmarks.dll compare \
  --service "$out/service.json" --floor "$out/floor.json" --markdown "$out/summary.md" --json "$out/summary.json"
echo "(results in $out; machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg))"
