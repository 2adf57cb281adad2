#!/usr/bin/env bash
# Fault scenarios: the homeserver simulator pushes a seeded workload while something breaks; the simulator's oracle
# then compares its model with the admin API. Each scenario prints what it injected and the oracle's verdict, is
# bounded in time, and talks to 127.0.0.1 only.
#
#   kill9       kill -9 of the service mid-run, twice, restart; the simulator keeps retrying; oracle passes
#   pg-restart  PostgreSQL stopped mid-run (fast mode, then immediate mode) and started again: the service answers
#               503 while it is down and recovers; oracle passes
#   concurrent  8 concurrent copies of every transaction; oracle passes, every event processed once (by the txnId
#               of its first delivery), events_processed = distinct events
#   bugs        what homeservers do wrong: events re-sent in new transactions, txnIds restarting at 1 with new
#               events, poison events; in Synapse mode and in Dendrite mode (re-sent state, a txnId re-sent with
#               more events)
#   homeserver  the simulator is the service's homeserver (AppService:HomeserverUrl): it answers /join, /members,
#               /state, /joined_members, /joined_rooms from its live model while it pushes with outages (backlogs),
#               operator resyncs and drift checks (every 2 s, 2 rooms) run, with soft-failed events, state resets, redactions of
#               state, the bot kicked/banned/re-invited; every room is checked at quiescence and after a final
#               resync. FAULTS_HS_SEEDS seeds (20) from FAULTS_SEED, in Synapse mode and in Dendrite mode (a fresh
#               service and database per mode). Not part of 'all' (it takes a few minutes).
#   ha          scripts/ha.sh test: a three-member Patroni cluster (sync mode unless HA_MODE=async), the workload
#               with 4 copies of each transaction in flight, kill -9 of the primary's postmaster, a switchover;
#               every acknowledged event processed once (see scripts/ha.sh). Not part of 'all'; it uses its own
#               cluster and ports (HA_* variables, SERVICE_PORT 9600), not FAULTS_PG_PORT.
#
# Usage: scripts/faults.sh [all | kill9 | pg-restart | concurrent | bugs | homeserver | ha]...        (default: all)
# Env:   FAULTS_EVENTS (20000)  FAULTS_SEED (1)  FAULTS_SCENARIO_TIMEOUT seconds (300)
#        FAULTS_HS_SEEDS (20)  FAULTS_HS_STEPS (400)  FAULTS_HS_MODES ("synapse dendrite")  HOMESERVER_PORT (SERVICE_PORT + 1)
#        FAULTS_PG_PORT (55433): a PRIVATE cluster in .data/pg-faults that pg-restart may stop; never a shared server
#        SERVICE_PORT (9100)
# Results: sim-results/faults-<time>/<scenario>.{log,json} and the service's log. Exit 1 if any scenario failed.
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS="${FAULTS_EVENTS:-20000}"
SEED="${FAULTS_SEED:-1}"
SCENARIO_TIMEOUT="${FAULTS_SCENARIO_TIMEOUT:-300}"

# PostgreSQL: our own cluster on our own port, because pg-restart stops it. A connection string from the
# environment (an external server) is ignored on purpose.
unset ConnectionStrings__AppService
export APPSERVICE_PG_PORT="${FAULTS_PG_PORT:-55433}"
export APPSERVICE_PG_DATA_DIR="pg-faults"
source scripts/lib/postgres.sh
source scripts/lib/service.sh

scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(all)
if [ "${scenarios[0]}" = all ]; then scenarios=(kill9 pg-restart concurrent bugs); fi
for s in "${scenarios[@]}"; do
  case "$s" in kill9|pg-restart|concurrent|bugs|homeserver|ha) ;; *) echo "unknown scenario '$s' (kill9, pg-restart, concurrent, bugs, homeserver, ha, all)" >&2; exit 2 ;; esac
done

# 'ha' alone needs none of the private cluster below: it brings up its own Patroni cluster.
if [ "${scenarios[*]}" = ha ]; then
  rc=0
  SERVICE_PORT="${HA_SERVICE_PORT:-9600}" scripts/ha.sh test || rc=$?
  echo "=== ha: $([ $rc -eq 0 ] && echo PASS || echo FAIL)"
  exit $rc
fi

out="sim-results/faults-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
pidfile="$out/service.pid"

pg_ctl_bin="$(_pg_find_bin pg_ctl 2>/dev/null || true)"
pg_was_running=false
if [ -n "$pg_ctl_bin" ] && [ -s "$(_pg_data_dir)/PG_VERSION" ] && _pg_as_owner "$pg_ctl_bin" -D "$(_pg_data_dir)" status >/dev/null 2>&1; then
  pg_was_running=true
fi
ensure_postgres
pg_ctl_bin="$(_pg_find_bin pg_ctl)"

sim_pid=""
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  stop_service
  if [ "$pg_was_running" = false ] && [ -n "${APPSERVICE_PG_DATA:-}" ]; then
    _pg_as_owner "$pg_ctl_bin" -D "$APPSERVICE_PG_DATA" -m fast stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# Refuse to stop anything but the private cluster this script asked for.
assert_private_cluster() {
  local port
  port="$(sed -n 4p "$APPSERVICE_PG_DATA/postmaster.pid" 2>/dev/null || true)"
  case "$APPSERVICE_PG_DATA" in
    */pg-faults|*/appservice-pg-*) ;;
    *) echo "refusing to restart $APPSERVICE_PG_DATA: not the private faults cluster" >&2; return 1 ;;
  esac
  if [ "$port" != "$APPSERVICE_PG_PORT" ]; then
    echo "refusing to restart $APPSERVICE_PG_DATA: it listens on '$port', not $APPSERVICE_PG_PORT" >&2
    return 1
  fi
}

pg_ctl_as_owner() { _pg_as_owner "$pg_ctl_bin" -D "$APPSERVICE_PG_DATA" "$@"; }

build_service_and_simulator

start() { # start DB: (re)start the service on database DB and record its pid for the simulator's memory sampling
  start_service "$1" "$out/service.log"
  echo "$SERVICE_PID" > "$pidfile"
}

# run_simulator NAME ARGS...: the simulator in the background (SIM_PID), bounded by the scenario timeout.
run_simulator() {
  local name="$1"; shift
  timeout --kill-after=10 "$SCENARIO_TIMEOUT" dotnet "$SIMULATOR_DLL" \
    --url "$SERVICE_URL" --hs-token "$SERVICE_HS_TOKEN" --admin-token "$SERVICE_ADMIN_TOKEN" \
    --events "$EVENTS" --seed "$SEED" --pid-file "$pidfile" --max-seconds "$((SCENARIO_TIMEOUT - 60))" \
    --timeout-seconds 10 --json "$out/$name.json" "$@" >"$out/$name.log" 2>&1 &
  sim_pid=$!
}

# wait_for_events N SECONDS: until the service has processed N events (or the time is up, or the simulator ended).
wait_for_events() {
  local deadline=$((SECONDS + $2)) n
  while [ $SECONDS -lt $deadline ] && kill -0 "$sim_pid" 2>/dev/null; do
    n="$(service_stat events_processed || true)"
    [ -n "$n" ] && [ "$n" -ge "$1" ] && return 0
    sleep 0.5 # stats counts rows: do not poll it hard while the service is being measured
  done
}

results=()
# finish NAME INJECTED: wait for the simulator, print its table and the verdict.
finish() {
  local name="$1" injected="$2" rc=0
  wait "$sim_pid" || rc=$?
  sim_pid=""
  echo "--- $name: simulator output (tail) ---"
  grep -E '^(phase|main|duplicate-only|service peak|oracle:|FAILED|plan:|workload:|  injected:)' "$out/$name.log" | head -n 40 || true
  local summary
  summary="$(tail -n 1 "$out/$name.log")"
  [ $rc -eq 124 ] && summary="timed out after $SCENARIO_TIMEOUT s ($summary)"
  local verdict=PASS
  [ $rc -ne 0 ] && verdict=FAIL
  echo "=== $name: injected: $injected"
  echo "=== $name: oracle: $summary; simulator exit $rc => $verdict"
  results+=("$name: $verdict ($summary)")
}

scenario_kill9() {
  local db="faults_kill9_$$"
  drop_database "$db"; start "$db"
  run_simulator kill9
  local injected=""
  for at in $((EVENTS / 5)) $((EVENTS * 3 / 5)); do
    wait_for_events "$at" 120
    local processed; processed="$(service_stat events_processed || echo '?')"
    echo "injecting: kill -9 of the service (pid $SERVICE_PID) after $processed events processed"
    kill9_service
    injected+="kill -9 after $processed events; "
    sleep 1
    start "$db"
    echo "restarted the service (pid $SERVICE_PID)"
  done
  finish kill9 "$injected"
  stop_service; drop_database "$db"
}

scenario_pg_restart() {
  assert_private_cluster
  local db="faults_pg_$$"
  drop_database "$db"; start "$db"
  run_simulator pg-restart
  local injected="" mode
  for mode in fast immediate; do
    if [ "$mode" = fast ]; then wait_for_events $((EVENTS / 5)) 120; else wait_for_events $((EVENTS * 3 / 5)) 120; fi
    local processed; processed="$(service_stat events_processed || echo '?')"
    echo "injecting: pg_ctl stop -m $mode after $processed events processed; down for 3 s"
    assert_private_cluster
    pg_ctl_as_owner -m "$mode" -w -t 30 stop >/dev/null
    sleep 1
    local status
    status="$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X PUT -H "Authorization: Bearer $SERVICE_HS_TOKEN" \
      -H 'Content-Type: application/json' --data '{"events":[]}' "$SERVICE_URL/_matrix/app/v1/transactions/faults-probe-$mode" || true)"
    echo "  while PostgreSQL is down, an empty transaction gets HTTP $status"
    sleep 2
    pg_ctl_as_owner -l "$APPSERVICE_PG_DATA/server.log" -w -t 60 start >/dev/null
    echo "  PostgreSQL started again"
    injected+="stop -m $mode after $processed events (probe while down: HTTP $status); "
  done
  finish pg-restart "$injected"
  stop_service; drop_database "$db"
}

scenario_concurrent() {
  local db="faults_concurrent_$$"
  drop_database "$db"; start "$db"
  echo "injecting: 8 concurrent copies of every transaction"
  run_simulator concurrent --faults concurrent --concurrent-copies 8
  finish concurrent "8 concurrent copies of every transaction"
  stop_service; drop_database "$db"
}

scenario_bugs() {
  local mode db
  for mode in synapse dendrite; do
    db="faults_bugs_${mode}_$$"
    drop_database "$db"; start "$db"
    echo "injecting ($mode mode): duplicates in new transactions, txnIds restarting at 1, poison events"
    run_simulator "bugs-$mode" --mode "$mode" --faults duplicates,txn-restart,poison
    finish "bugs-$mode" "$mode mode: duplicates, txn-restart, poison (see 'injected:' lines)"
    stop_service; drop_database "$db"
  done
}

scenario_homeserver() {
  local mode db rc hs_port="${HOMESERVER_PORT:-$((SERVICE_PORT + 1))}" seeds="${FAULTS_HS_SEEDS:-20}"
  local as_token; as_token="$(sed -n 's/^as_token:[[:space:]]*//p' "$SERVICE_REGISTRATION" | tr -d "\"'" | head -n1)"
  for mode in ${FAULTS_HS_MODES:-synapse dendrite}; do
    db="faults_hs_${mode}_$$"
    drop_database "$db"
    # The simulator is the homeserver; jobs and drift checks on a short clock so they interleave with the pushes.
    export AppService__HomeserverUrl="http://127.0.0.1:$hs_port" AppService__Jobs__PollInterval=00:00:00.200 \
      AppService__Jobs__RetryBaseDelay=00:00:00.100 AppService__Jobs__MaxRetryDelay=00:00:01 \
      AppService__DriftCheck__Interval=00:00:02 AppService__DriftCheck__SampleSize=2
    start "$db"
    unset AppService__HomeserverUrl AppService__Jobs__PollInterval AppService__Jobs__RetryBaseDelay \
      AppService__Jobs__MaxRetryDelay AppService__DriftCheck__Interval AppService__DriftCheck__SampleSize
    echo "injecting ($mode mode, seeds $SEED..$((SEED + seeds - 1))): outages (backlogs), operator resyncs, drift checks, soft-failed events, state resets, redactions of state, the bot kicked/banned/re-invited"
    rc=0
    timeout --kill-after=10 "$((SCENARIO_TIMEOUT * 3))" dotnet "$SIMULATOR_DLL" \
      --url "$SERVICE_URL" --hs-token "$SERVICE_HS_TOKEN" --admin-token "$SERVICE_ADMIN_TOKEN" --as-token "$as_token" \
      --homeserver-port "$hs_port" --mode "$mode" --seed "$SEED" --runs "$seeds" --steps "${FAULTS_HS_STEPS:-400}" \
      --max-seconds "$((SCENARIO_TIMEOUT * 3 - 20))" >"$out/homeserver-$mode.log" 2>&1 || rc=$?
    grep -E '^seed |FAILED' "$out/homeserver-$mode.log" | head -n 200 || true
    local summary verdict=PASS
    summary="$(tail -n 1 "$out/homeserver-$mode.log")"
    [ $rc -eq 124 ] && summary="timed out ($summary)"
    [ $rc -ne 0 ] && verdict=FAIL
    echo "=== homeserver-$mode: $(grep -E '^seeds ' "$out/homeserver-$mode.log" || echo 'no verdicts')"
    echo "=== homeserver-$mode: oracle: $summary; simulator exit $rc => $verdict"
    results+=("homeserver-$mode: $verdict ($summary)")
    stop_service; drop_database "$db"
  done
}

scenario_ha() {
  local rc=0
  SERVICE_PORT="${HA_SERVICE_PORT:-9600}" scripts/ha.sh test >"$out/ha.log" 2>&1 || rc=$?
  grep -A20 '^=== ha test' "$out/ha.log" || tail -n 20 "$out/ha.log"
  results+=("ha: $([ $rc -eq 0 ] && echo PASS || echo FAIL) ($(grep -E '^acknowledged events' "$out/ha.log" || echo 'no report'))")
}

for s in "${scenarios[@]}"; do
  echo
  echo "##### scenario $s (events $EVENTS, seed $SEED, timeout ${SCENARIO_TIMEOUT}s)"
  "scenario_${s//-/_}" || results+=("$s: FAIL (scenario script error)")
done

echo
echo "##### fault scenarios ($out)"
failed=0
for r in "${results[@]}"; do
  echo "$r"
  case "$r" in *": FAIL"*) failed=$((failed + 1)) ;; esac
done
echo "$(( ${#results[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
