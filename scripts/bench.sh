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
#   BENCH_EVENTS=20000 BENCH_SEED=1 BENCH_POOL_SIZE=4 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh
ensure_postgres
export SERVICE_PORT="${SERVICE_PORT:-9200}"
export SERVICE_POOL_SIZE="${BENCH_POOL_SIZE:-4}"
source scripts/lib/service.sh

EVENTS="${BENCH_EVENTS:-20000}"
SEED="${BENCH_SEED:-1}"
WARMUP="${BENCH_WARMUP:-20}"
MAX_SECONDS="${BENCH_MAX_SECONDS:-900}"
stamp="$(date +%Y%m%d-%H%M%S)"
out="bench-results/$stamp"
mkdir -p "$out"
service_db="bench_service_${stamp//-/_}"
floor_db="bench_floor_${stamp//-/_}"

cleanup() { stop_service; drop_database "$service_db"; drop_database "$floor_db"; }
trap cleanup EXIT

build_service_and_simulator
dotnet build tools/AppService.Benchmarks -c Release -nologo -v q 2>&1 | grep -E ' error ' || true
psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -d postgres -qAtc "CREATE DATABASE \"$service_db\"" >/dev/null
psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -d postgres -qAtc "CREATE DATABASE \"$floor_db\"" >/dev/null
echo "PostgreSQL $(psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -d postgres -qAtc 'show server_version'), synchronous_commit=$(psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -d postgres -qAtc 'show synchronous_commit'), pool size $SERVICE_POOL_SIZE"

echo "== (a) service end to end, (c) duplicate-only through the service"
start_service "$service_db" "$out/service.log"
timeout "$MAX_SECONDS" dotnet "$SIMULATOR_DLL" --url "$SERVICE_URL" --hs-token "$SERVICE_HS_TOKEN" --admin-token "$SERVICE_ADMIN_TOKEN" \
  --events "$EVENTS" --seed "$SEED" --warmup "$WARMUP" --duplicate-only --pid "$SERVICE_PID" \
  --max-seconds "$MAX_SECONDS" --json "$out/service.json" | tee "$out/simulator.txt" | tail -n 25
stop_service

echo "== (b) floor, (c) duplicate-only through the floor"
timeout "$MAX_SECONDS" dotnet tools/AppService.Benchmarks/bin/Release/net10.0/AppService.Benchmarks.dll floor \
  --connection "$(service_connection_string "$floor_db")" --events "$EVENTS" --seed "$SEED" --warmup "$WARMUP" \
  --json "$out/floor.json" | tee "$out/floor.txt"

echo "== service / floor"
dotnet tools/AppService.Benchmarks/bin/Release/net10.0/AppService.Benchmarks.dll compare \
  --service "$out/service.json" --floor "$out/floor.json" --markdown "$out/summary.md" --json "$out/summary.json"
echo "(results in $out; machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg))"
