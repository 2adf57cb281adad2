#!/usr/bin/env bash
# The benchmark of issue 10, in ONE run on one PostgreSQL (full durability: synchronous_commit on), at .NET's
# default runtime settings, printing one table with each goal's figure, target and verdict (docs/benchmarks.md):
#
#   scripts/bench.sh            # = scripts/bench.sh goals: every goal, about 20-25 minutes
#   scripts/bench.sh floor      # the earlier benchmark: simulator end to end vs the in-process floor (history)
#   scripts/bench.sh admin      # EXPLAIN (ANALYZE) of every admin route at scale (scripts/admin-explain.sh)
#   scripts/bench.sh ab REV     # this checkout's service vs the one built from git revision REV (e.g. main before a
#                               # refactoring), side by side in one run: goal 1's new-events and duplicate-only phases
#
# Goals mode, with wrk and the reference workload in bench/ (body-chain.json + put_txn_chain.lua for new
# events, body.json + put_txn.lua for duplicate-only), one transaction in flight unless said otherwise; every phase
# warms its targets up until the service's JIT compiles < 20 methods/s (at least BENCH_WARMUP_SECONDS), then
# alternates BENCH_ROUNDS rounds of BENCH_ROUND_SECONDS between its targets and reports medians:
#   first-minute (goal 2)  the service and the bare prototype right after start, BENCH_FIRST_MINUTE_SECONDS each;
#   new (goals 1, 2)       service vs prototype, new events: events/s, p99, CPU ms per transaction of each process
#                          (/proc/<pid>/stat deltas), JIT compilations and GC collections (service /metrics);
#   duplicate (goal 1)     service vs prototype, every event a duplicate;
#   mismatch (goal 5)      the service under the normal chain vs the same body with every replaces_state wrong;
#   pool (goal 4)          4 transactions in flight, each connection its own rooms (scripts/bench/put_txn_rooms.lua),
#                          a service with a pool of 1 connection vs one with 4;
#   big (goal 3)           a service on an empty database vs one on BENCH_BIG_EVENTS processed events and
#                          BENCH_BIG_MEMBERS members (loaded with COPY by `AppService.Benchmarks load-big`), and the
#                          big one again while retention pruning runs in a loop.
# The bare prototype (bench/prototype, the reference the goals are measured against) is built in a temporary copy
# outside the checkout (so the repository's Directory.Build.props and central package versions do not apply to it),
# with its own database and schema.
#
# Environment: BENCH_GOALS="1 2 3 4 5", BENCH_ROUNDS=5, BENCH_ROUND_SECONDS=10, BENCH_WARMUP_SECONDS=20,
# BENCH_WARMUP_MAX_SECONDS=240, BENCH_FIRST_MINUTE_SECONDS=60, BENCH_BIG_EVENTS=10000000, BENCH_BIG_MEMBERS=1000000,
# BENCH_SHARED=<another workload directory laid out like bench/>, BENCH_KEEP_DATABASES=1, BENCH_MAX_SECONDS=3600 (the whole run).
# BENCH_TIERED=0 opts into DOTNET_TieredCompilation=0 for every process (the earlier, non-default measurements).
# BENCH_SERVICE_BUILD_ARGS: extra `dotnet publish` arguments for this checkout's service (A/B of a build-time runtime
# setting, e.g. "-p:AppServiceReadyToRun=false"). BENCH_AB_FIRST_MINUTE=1: the ab mode also measures both services'
# first BENCH_FIRST_MINUTE_SECONDS after start (a start-up change's A/B).
# The service is published (scripts/lib/service.sh publish_service: Release, linux-x64, framework-dependent,
# ReadyToRun), the same command as run.sh and deploy/Dockerfile: the benchmark measures what users run. Its start time
# (launch to /health/ready) and publish size are in summary.md.
# Every steady-state phase counts PostgreSQL's sequential scans of the hot-path tables (pg_stat_user_tables of each
# service's database) over its timed rounds: a scan of a table larger than BENCH_SEQSCAN_MIN_PAGES (512; 0: any) fails
# the run (exit 3), naming the table and the count; scans of smaller tables are listed, not failed.
# Smoke test (seconds, proves the script runs, measures nothing):
#   BENCH_ROUNDS=1 BENCH_ROUND_SECONDS=5 BENCH_WARMUP_SECONDS=5 BENCH_WARMUP_MAX_SECONDS=5 BENCH_FIRST_MINUTE_SECONDS=5 \
#     BENCH_BIG_EVENTS=20000 BENCH_BIG_MEMBERS=2000 scripts/bench.sh
# Ports: BENCH_PORT_BASE (9200): the services listen on BENCH_PORT_BASE+0..6, the prototype on BENCH_PORT_BASE+9.
# Everything listens on 127.0.0.1 only; every step is bounded by timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-goals}"
if [ "$MODE" = admin ]; then exec scripts/admin-explain.sh; fi
if [ "${BENCH_TIERED:-1}" = 0 ]; then export DOTNET_TieredCompilation=0; fi
# Run as `flock /work/bench.lock scripts/bench.sh`, this shell inherits the lock's file descriptor: a PostgreSQL that
# ensure_postgres starts would keep it, and hold the lock for every later benchmark until it stops (seen: a cluster
# started by a benchmark kept /work/bench.lock taken). Only flock's own descriptor holds the lock; ours are closed.
for _fd in /proc/$$/fd/*; do
  _n="${_fd##*/}"
  if [ "$_n" -gt 2 ] && [ "$_n" -ne 255 ]; then case "$(readlink "$_fd" 2>/dev/null)" in *.lock) eval "exec $_n>&-" ;; esac; fi
done
source scripts/lib/postgres.sh
ensure_postgres
stamp="$(date +%Y%m%d-%H%M%S)"
out="bench-results/$stamp"
mkdir -p "$out"
MAX_SECONDS="${BENCH_MAX_SECONDS:-3600}"
PORT_BASE="${BENCH_PORT_BASE:-9200}"
BENCH_DLL=tools/AppService.Benchmarks/bin/Release/net10.0/AppService.Benchmarks.dll
psql_admin() { psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -d postgres -qAt "$@"; }
say() { echo "[bench] $*" >&2; }

# Measured as production runs it: published as run.sh and deploy/Dockerfile publish it (publish_service), Production
# environment (no Development-only DI scope validation), a registration generated like an operator would, not the
# shipped placeholders. BENCH_SERVICE_BUILD_ARGS (e.g. "-p:AppServiceWorkstationGc=true" to A/B a candidate in
# AppService.csproj) go to that publish.
dotnet build tools/AppService.Benchmarks -c Release -nologo -v q 2>&1 | grep -E ' error ' || true
export SERVICE_REGISTRATION="$PWD/$out/registration.yaml"
export ASPNETCORE_ENVIRONMENT=Production
source scripts/lib/service.sh
# shellcheck disable=SC2086 # build arguments, split on purpose
publish_service "" "" ${BENCH_SERVICE_BUILD_ARGS:-}
dotnet "$SERVICE_DLL" generate-registration --id bench --url "http://127.0.0.1:${SERVICE_PORT:-$PORT_BASE}" \
  --sender-localpart bot --namespace-regex '^@_bot_.*:localhost$' --out "$out/registration.yaml" >/dev/null
SERVICE_HS_TOKEN="$(sed -n 's/^hs_token:[[:space:]]*//p' "$SERVICE_REGISTRATION" | tr -d "\"'" | head -n1)"
[ -f "$BENCH_DLL" ] || { say "the benchmark tool did not build"; exit 1; }
# What is measured: the publish's size and whether its code is ReadyToRun (precompiled), for summary.md.
publish_facts() { # publish_facts DIR: "NN MiB, ReadyToRun yes|no"
  local r2r=no # a ReadyToRun image carries the READYTORUN_HEADER signature "RTR\0"
  if LC_ALL=C grep -q -a -P 'RTR\x00' "$1/AppService.dll"; then r2r=yes; fi
  echo "$(du -sm "$1" | cut -f1) MiB, ReadyToRun $r2r"
}

databases=()
new_database() { # new_database NAME: a fresh database of this run on our PostgreSQL
  local db="bench_${stamp//-/_}_$1"
  psql_admin -c "CREATE DATABASE \"$db\"" >/dev/null
  databases+=("$db")
  echo "$db"
}

# ---------------------------------------------------------------------------------------------------------- floor
if [ "$MODE" = floor ]; then
  # (a) the service end to end: the simulator sends a seeded Synapse-like workload, then its oracle checks every
  # room and user; (b) the floor: the service's own ingest code replaying it without HTTP; (c) duplicate-only.
  export SERVICE_PORT="${SERVICE_PORT:-$PORT_BASE}"
  SERVICE_URL="http://127.0.0.1:$SERVICE_PORT"
  export SERVICE_POOL_SIZE="${BENCH_POOL_SIZE:-4}"
  EVENTS="${BENCH_EVENTS:-50000}"; SEED="${BENCH_SEED:-1}"
  WARMUP="${BENCH_WARMUP:-3000}"      # transactions: 300 left the tiered JIT mid-way (docs/benchmarks.md)
  PAUSE="${BENCH_WARMUP_PAUSE:-15}"
  trap 'stop_service; [ "${BENCH_KEEP_DATABASES:-0}" = 1 ] || for d in "${databases[@]}"; do drop_database "$d"; done' EXIT
  build_service_and_simulator
  service_db="$(new_database service)"; floor_db="$(new_database floor)"
  echo "runtime: tiered compilation ${DOTNET_TieredCompilation:-default}; pool size $SERVICE_POOL_SIZE"
  echo "== (a) service end to end, (c) duplicate-only through the service"
  start_service "$service_db" "$out/service.log"
  timeout "$MAX_SECONDS" dotnet "$SIMULATOR_DLL" --url "$SERVICE_URL" --hs-token "$SERVICE_HS_TOKEN" --admin-token "$SERVICE_ADMIN_TOKEN" \
    --events "$EVENTS" --seed "$SEED" --warmup "$WARMUP" --warmup-pause "$PAUSE" --duplicate-only --pid "$SERVICE_PID" \
    --max-seconds "$MAX_SECONDS" --json "$out/service.json" | tee "$out/simulator.txt" | tail -n 25
  stop_service
  echo "== (b) floor, (c) duplicate-only through the floor"
  timeout "$MAX_SECONDS" dotnet "$BENCH_DLL" floor --connection "$(service_connection_string "$floor_db")" --events "$EVENTS" \
    --seed "$SEED" --warmup "$WARMUP" --warmup-pause "$PAUSE" --json "$out/floor.json" | tee "$out/floor.txt"
  echo "== service / floor"
  dotnet "$BENCH_DLL" compare --service "$out/service.json" --floor "$out/floor.json" --markdown "$out/summary.md" --json "$out/summary.json"
  echo "(results in $out; machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg))"
  exit 0
fi
case "$MODE" in goals|ab) ;; *) echo "usage: scripts/bench.sh [goals|floor|admin|ab REV]" >&2; exit 2 ;; esac

# ---------------------------------------------------------------------------------------------------------- goals
GOALS=" ${BENCH_GOALS:-1 2 3 4 5} "
wants() { case "$GOALS" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
ROUNDS="${BENCH_ROUNDS:-5}"   # issue 19: medians of >= 5 rounds
ROUND_SECONDS="${BENCH_ROUND_SECONDS:-10}"
WARMUP_SECONDS="${BENCH_WARMUP_SECONDS:-20}"
WARMUP_MAX="${BENCH_WARMUP_MAX_SECONDS:-240}"
FIRST_MINUTE="${BENCH_FIRST_MINUTE_SECONDS:-60}"

# The reference workload and the bare prototype, kept in the repository (bench/README.md).
shared="$(cd "${BENCH_SHARED:-bench}" && pwd)"
[ -f "$shared/body-chain.json" ] || { say "the workload (body-chain.json) was not found in $shared"; exit 1; }

if ! command -v wrk >/dev/null; then
  say "installing wrk (apt-get)"
  [ "$(id -u)" -eq 0 ] || { say "wrk is missing and we are not root: apt-get install wrk"; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get install -y -qq wrk >/dev/null 2>&1 || { timeout 300 apt-get update -qq >/dev/null; timeout 300 apt-get install -y -qq wrk >/dev/null; }
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/appservice-bench.XXXXXX")"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do SERVICE_PID="$pid"; stop_service; done
  if [ "${BENCH_KEEP_DATABASES:-0}" != 1 ]; then
    # By name: new_database runs inside $(...), a subshell, so the databases array never saw its additions.
    local d; for d in $(psql_admin -c "SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_${stamp//-/_}\\_%'"); do drop_database "$d"; done
  fi
  rm -rf "$tmp"
  git worktree prune 2>/dev/null || true # the ab mode's checkout of REV
}
trap cleanup EXIT
# The whole run is bounded: past BENCH_MAX_SECONDS this shell is told to stop (and cleans up).
( sleep "$MAX_SECONDS"; say "BENCH_MAX_SECONDS ($MAX_SECONDS s) reached: stopping"; kill -TERM $$ ) 2>/dev/null &
watchdog=$!
trap 'kill $(pgrep -P $watchdog) $watchdog 2>/dev/null || true; cleanup' EXIT
trap 'exit 143' TERM INT # through the EXIT trap: the services and databases of this run are removed

# Goal 5's workload: the chain body with every replaces_state naming an event we never held (53 per transaction).
sed -e 's/"\$PPPPPPPPPPPP/"$XXXXXXXXXXXX/g' -e 's/"\$CCCCCCCCCCCC/"$XXXXXXXXXXXX/g' "$shared/body-chain.json" >"$tmp/body-mismatch.json"

# launch NAME PORT POOL DB: one service instance (its own database and log); sets LAUNCHED_PID, LAUNCHED_URL and
# LAUNCHED_DB, and notes its start time (launch to /health/ready) in start-times.txt.
launch() {
  SERVICE_PORT="$2"; SERVICE_URL="http://127.0.0.1:$2"; SERVICE_POOL_SIZE="$3"
  start_service "$4" "$out/$1.log"
  pids+=("$SERVICE_PID"); LAUNCHED_PID="$SERVICE_PID"; LAUNCHED_URL="$SERVICE_URL"; LAUNCHED_DB="$4"
  echo "$1 ${SERVICE_START_MS:-?} ms ($(publish_facts "$(dirname "$SERVICE_DLL")"))" >>"$out/start-times.txt"
}
stop_pid() { SERVICE_PID="$1"; stop_service; }
svc_target() { # svc_target NAME PID URL [extra]: a --target for a service instance
  echo "name=$1;url=$3;token=$SERVICE_HS_TOKEN;pid=$2;metrics=$3/metrics${4:+;$4}"
}
# The database of a service instance, for the sequential-scan check of a steady-state phase's timed rounds.
db_of() { echo "db=$1"; }
# The chain workload must run the normal path: a state event that does not follow what the service holds is not
# applied (the stale-event rule) and logs "Room ... is suspect:" (Transactions/Log.cs), and a run on that path writes no
# member, state or change-log rows. Each run of bench/put_txn_chain.lua has rooms of its own for that reason; until
# issue 19 scripts/bench/put_txn_rooms.lua did not, and every pool round took the mismatch path unnoticed. normal_path PHASE COUNT_BEFORE: fails the run (exit 3, at the end) when a
# phase that measures the normal path logged any.
suspect_lines() { cat "$out"/*.log 2>/dev/null | grep -cE 'is (still )?suspect:' || true; }
normal_path() {
  local n=$(( $(suspect_lines) - $2 ))
  if [ "$n" -gt 0 ]; then
    echo "  $1: $n mismatch log lines in the service's log: the chain workload took the mismatch path, FAILED" | tee -a "$out/rounds.txt"
    echo "$1" >>"$out/mismatch-path-failures.txt"
  else
    echo "  $1: no state mismatch in the service's log (the normal path)" | tee -a "$out/rounds.txt"
  fi
}
normal_path_verdict() {
  if [ -s "$out/mismatch-path-failures.txt" ]; then
    say "FAILED: the chain workload took the mismatch path in: $(paste -sd ' ' "$out/mismatch-path-failures.txt")"
    exit 3
  fi
}

rounds() { # rounds PHASE PREFIX [args...]: one phase of the tool, bounded, its JSON in $out/PHASE.json
  local phase="$1" prefix="$2"; shift 2
  timeout "$MAX_SECONDS" dotnet "$BENCH_DLL" rounds --phase "$phase" --run-prefix "$prefix" --rounds "$ROUNDS" \
    --round-seconds "$ROUND_SECONDS" --warmup-seconds "$WARMUP_SECONDS" --warmup-max-seconds "$WARMUP_MAX" --jit-rate 20 \
    --pg "Host=127.0.0.1;Port=$APPSERVICE_PG_PORT;Username=postgres;Database=postgres" --seqscan-min-pages "${BENCH_SEQSCAN_MIN_PAGES:-512}" --json "$out/$phase.json" "$@" | tee -a "$out/rounds.txt"
}

# The bare prototype, built in a temporary copy, on a database of its own with its own schema.
proto_pid=""; proto_url="http://127.0.0.1:$((PORT_BASE + 9))"
start_prototype() {
  [ -d "$shared/prototype" ] || { say "no prototype in $shared: goal 1 measures the service alone"; return 0; }
  build_prototype "$shared/prototype" "$tmp/proto" || { say "the prototype did not build: goal 1 measures the service alone"; return 0; }
  local db; db="$(new_database proto)"
  psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -d "$db" -qAt -v ON_ERROR_STOP=1 -f "$shared/prototype/schema.sql" >/dev/null 2>&1
  local up=0; launch_prototype "$tmp/proto" "$db" "$proto_url" "$out/prototype.log" || up=$?
  proto_pid=$PROTOTYPE_PID; pids+=("$proto_pid")
  return "$up"
}
proto_target() { [ -z "$proto_pid" ] || echo "--target name=prototype;url=$proto_url;token=hs_token_secret;pid=$proto_pid"; }

chain=(--body "$shared/body-chain.json" --script "$shared/put_txn_chain.lua")
echo "runtime: ${DOTNET_TieredCompilation:+DOTNET_TieredCompilation=$DOTNET_TieredCompilation}${DOTNET_TieredCompilation:-.NET defaults}; PostgreSQL $(psql_admin -c 'show server_version'), synchronous_commit=$(psql_admin -c 'show synchronous_commit'); workload: $shared"

# ------------------------------------------------------------------------------------------------------------- ab
if [ "$MODE" = ab ]; then
  rev="${2:?usage: scripts/bench.sh ab REV}"
  git worktree add --detach -q "$tmp/base" "$rev"
  # Built the way this checkout builds the service (publish_service), so only the code and the project differ.
  timeout 600 bash -c "source scripts/lib/service.sh && publish_service '$tmp/base/src/AppService' '$tmp/base-publish'" || true
  base_dll="$tmp/base-publish/AppService.dll"
  [ -f "$base_dll" ] || { say "the service at $rev did not build"; exit 1; }
  this_dll="$SERVICE_DLL"
  SERVICE_DLL="$base_dll"; launch base $((PORT_BASE + 5)) 4 "$(new_database base)"; base_pid=$LAUNCHED_PID; base_url=$LAUNCHED_URL; base_db=$LAUNCHED_DB
  SERVICE_DLL="$this_dll"; launch this $((PORT_BASE + 6)) 4 "$(new_database this)"; this_pid=$LAUNCHED_PID; this_url=$LAUNCHED_URL; this_db=$LAUNCHED_DB
  base_name="base-$(git rev-parse --short "$rev")"; this_name="this-$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo +changes)${BENCH_SERVICE_BUILD_ARGS:++buildargs}"
  if [ "${BENCH_AB_FIRST_MINUTE:-0}" = 1 ]; then
    rounds ab-first-minute f "${chain[@]}" --warmup-seconds 0 --rounds 1 --round-seconds "$FIRST_MINUTE" \
      --description "the first ${FIRST_MINUTE} s of load after start, $this_name vs $base_name" \
      --target "$(svc_target "$this_name" "$this_pid" "$this_url")" --target "$(svc_target "$base_name" "$base_pid" "$base_url")"
  fi
  before=$(suspect_lines)
  rounds ab-new n "${chain[@]}" --description "new events: body-chain.json, wrk -t1 -c1, $this_name vs $base_name" \
    --target "$(svc_target "$this_name" "$this_pid" "$this_url" "$(db_of "$this_db")")" --target "$(svc_target "$base_name" "$base_pid" "$base_url" "$(db_of "$base_db")")"
  normal_path ab-new "$before"
  rounds ab-duplicate d --body "$shared/body.json" --script "$shared/put_txn.lua" --warmup-seconds 5 \
    --description "duplicate-only: body.json under new txnIds, wrk -t1 -c1, $this_name vs $base_name" \
    --target "$(svc_target "$this_name" "$this_pid" "$this_url" "$(db_of "$this_db")")" --target "$(svc_target "$base_name" "$base_pid" "$base_url" "$(db_of "$base_db")")"
  stop_pid "$base_pid"; stop_pid "$this_pid"
  git worktree remove --force "$tmp/base"
  echo "start (launch to /health/ready): $(sed -e "s/^this /$this_name /" -e "s/^base /$base_name /" "$out/start-times.txt" | paste -sd ';' | sed 's/;/; /g')"
  echo "(results in $out/rounds.txt; machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(dotnet --version) SDK)"
  if grep -q 'sequential scans in the timed rounds.*FAILED' "$out/rounds.txt"; then
    say "FAILED: PostgreSQL read a hot-path table by sequential scan during the timed rounds:"; grep 'sequential scans in the timed rounds.*FAILED' "$out/rounds.txt" >&2
    exit 3
  fi
  normal_path_verdict
  exit 0
fi

if wants 1 || wants 2 || wants 5; then
  launch service $((PORT_BASE + 0)) 4 "$(new_database service)"; svc_pid=$LAUNCHED_PID; svc_url=$LAUNCHED_URL; svc_db=$(db_of "$LAUNCHED_DB")
  wants 1 || wants 2 && start_prototype
  # shellcheck disable=SC2046 # proto_target is empty or one --target pair
  before=$(suspect_lines)
  if wants 2; then
    rounds first-minute f "${chain[@]}" --warmup-seconds 0 --rounds 1 --round-seconds "$FIRST_MINUTE" \
      --description "the first ${FIRST_MINUTE} s of load after start" --target "$(svc_target service "$svc_pid" "$svc_url")" $(proto_target)
  fi
  if wants 1 || wants 2; then
    rounds new n "${chain[@]}" --description "new events: body-chain.json, wrk -t1 -c1" \
      --target "$(svc_target service "$svc_pid" "$svc_url" "$svc_db")" $(proto_target)
  fi
  if wants 1 || wants 2; then normal_path "first-minute and new" "$before"; fi
  if wants 1; then
    rounds duplicate d --body "$shared/body.json" --script "$shared/put_txn.lua" --warmup-seconds 5 \
      --description "duplicate-only: body.json under new txnIds, wrk -t1 -c1" --target "$(svc_target service "$svc_pid" "$svc_url" "$svc_db")" $(proto_target)
  fi
  [ -z "$proto_pid" ] || { stop_pid "$proto_pid"; proto_pid=""; }
  if wants 5; then
    before=$(grep -cE 'is (still )?suspect:' "$out/service.log" || true)
    rounds mismatch m "${chain[@]}" --warmup-seconds 5 --description "the same service: consistent replaces_state vs 53 mismatching per transaction" \
      --target "$(svc_target normal "$svc_pid" "$svc_url" "$svc_db")" --target "$(svc_target mismatch "$svc_pid" "$svc_url" "body=$tmp/body-mismatch.json;$svc_db")"
    echo $(( $(grep -cE 'is (still )?suspect:' "$out/service.log" || true) - before )) >"$out/mismatch-log-lines.txt"
  fi
  stop_pid "$svc_pid"
fi

if wants 4; then
  launch pool-1 $((PORT_BASE + 1)) 1 "$(new_database pool1)"; p1_pid=$LAUNCHED_PID; p1_url=$LAUNCHED_URL; p1_db=$(db_of "$LAUNCHED_DB")
  launch pool-4 $((PORT_BASE + 2)) 4 "$(new_database pool4)"; p4_pid=$LAUNCHED_PID; p4_url=$LAUNCHED_URL; p4_db=$(db_of "$LAUNCHED_DB")
  before=$(suspect_lines)
  rounds pool p --body "$shared/body-chain.json" --script "$PWD/scripts/bench/put_txn_rooms.lua" --threads 4 --connections 4 \
    --description "4 transactions in flight, each connection its own 8 rooms (wrk -t4 -c4)" \
    --target "$(svc_target pool-1 "$p1_pid" "$p1_url" "$p1_db")" --target "$(svc_target pool-4 "$p4_pid" "$p4_url" "$p4_db")"
  normal_path pool "$before"
  stop_pid "$p1_pid"; stop_pid "$p4_pid"
fi

if wants 3; then
  big_db="$(new_database big)"
  say "loading the big database (COPY): ${BENCH_BIG_EVENTS:-10000000} processed events, ${BENCH_BIG_MEMBERS:-1000000} members"
  timeout "$MAX_SECONDS" dotnet "$BENCH_DLL" load-big --connection "Host=127.0.0.1;Port=$APPSERVICE_PG_PORT;Username=postgres;Database=$big_db;Command Timeout=0" \
    --processed-events "${BENCH_BIG_EVENTS:-10000000}" --members "${BENCH_BIG_MEMBERS:-1000000}" | tee "$out/load-big.txt"
  # Retention runs only when the benchmark asks (the big-pruning target), not on its own schedule at start.
  export AppService__Retention__Enabled=false
  launch empty $((PORT_BASE + 3)) 4 "$(new_database empty)"; e_pid=$LAUNCHED_PID; e_url=$LAUNCHED_URL; e_db=$(db_of "$LAUNCHED_DB")
  launch big $((PORT_BASE + 4)) 4 "$big_db"; b_pid=$LAUNCHED_PID; b_url=$LAUNCHED_URL
  unset AppService__Retention__Enabled
  before=$(suspect_lines)
  rounds big b "${chain[@]}" --description "new events on an empty database vs a big one, and the big one while retention prunes" \
    --target "$(svc_target empty "$e_pid" "$e_url" "$e_db")" --target "$(svc_target big "$b_pid" "$b_url" "db=$big_db")" \
    --target "$(svc_target big-pruning "$b_pid" "$b_url" "prune=$b_url;admin_token=$SERVICE_ADMIN_TOKEN;db=$big_db")"
  normal_path big "$before"
  stop_pid "$e_pid"; stop_pid "$b_pid"
fi

echo
echo "== issue 10: goals (run $stamp)"
verdict=0
dotnet "$BENCH_DLL" report --dir "$out" --markdown "$out/summary.md" --json "$out/summary.json" || verdict=$?
{ echo; echo "Start, launch to /health/ready (a fresh database: migrations included), per service instance of this run:"
  sed 's/^/- /' "$out/start-times.txt"; } | tee -a "$out/summary.md"
echo "(results in $out; machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg); $(dotnet --version) SDK)"
normal_path_verdict
exit "$verdict"
