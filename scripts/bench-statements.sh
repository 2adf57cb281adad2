#!/usr/bin/env bash
# Where PostgreSQL's time per transaction goes, statement by statement: the published service on a fresh database of a
# private cluster with pg_stat_statements (track_planning on), bench/'s chain workload (wrk -t1 -c1; BENCH_STATEMENTS_BODY
# and _SCRIPT for another, e.g. body.json and put_txn.lua for duplicates), a warm-up, then pg_stat_statements reset and
# BENCH_STATEMENTS_SECONDS (20) measured. Prints the service's own CPU and PostgreSQL's CPU per transaction (every
# postgres process of the machine: run it on a quiet machine) and each statement's execution and planning time in
# microseconds per transaction. The cluster (port BENCH_STATEMENTS_PG_PORT, 55460; data in $TMPDIR) is started and stopped here.
# BENCH_STATEMENTS_PROTOTYPE=1 then measures bench/prototype the same way, on a database of the same cluster (its own
# port: the service's + 1), and prints its table after the service's: which statements make PostgreSQL's side of the gap.
#   scripts/bench-statements.sh            # this checkout
#   scripts/bench-statements.sh REV        # the service at git revision REV, built the same way
#   BENCH_STATEMENTS_PROTOTYPE=1 scripts/bench-statements.sh   # and the prototype after it, about 4 minutes in all
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${BENCH_STATEMENTS_PG_PORT:-55460}"; SVC_PORT="${BENCH_STATEMENTS_PORT:-9470}"; SECS="${BENCH_STATEMENTS_SECONDS:-20}"
BODY_FILE="${BENCH_STATEMENTS_BODY:-body-chain.json}"; SCRIPT="${BENCH_STATEMENTS_SCRIPT:-put_txn_chain.lua}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
BIN="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | tail -n1)")"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/appservice-statements.XXXXXX")"; chmod 755 "$tmp"
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
mkdir -p "$tmp/pg"; [ "$(id -u)" -ne 0 ] || chown postgres "$tmp/pg"
as_pg "$BIN/initdb" -D "$tmp/pg" -A trust -U postgres >/dev/null
cat >>"$tmp/pg/postgresql.conf" <<CONF
port=$PORT
listen_addresses='127.0.0.1'
unix_socket_directories='$tmp/pg'
shared_preload_libraries='pg_stat_statements'
pg_stat_statements.track_planning=on
CONF
cleanup() {
  stop_service 2>/dev/null || true
  [ -z "${PROTOTYPE_PID:-}" ] || kill "$PROTOTYPE_PID" 2>/dev/null || true
  as_pg "$BIN/pg_ctl" -D "$tmp/pg" stop -m fast >/dev/null 2>&1 || true
  [ -n "${rev_tree:-}" ] && git worktree remove --force "$rev_tree" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
as_pg "$BIN/pg_ctl" -D "$tmp/pg" -l "$tmp/pg/log" start -w >/dev/null
P() { psql -h 127.0.0.1 -p "$PORT" -U postgres -qAt "$@"; }
P -c "CREATE DATABASE statements" >/dev/null && P -d statements -c "CREATE EXTENSION pg_stat_statements" >/dev/null
src="$PWD/src/AppService"
if [ -n "${1:-}" ]; then rev_tree="$tmp/rev"; git worktree add --detach -q "$rev_tree" "$1"; src="$rev_tree/src/AppService"; fi
# The service as bench.sh and bench-where.sh run it (scripts/lib/service.sh), on this script's own cluster.
export APPSERVICE_PG_PORT="$PORT" SERVICE_PORT="$SVC_PORT" SERVICE_POOL_SIZE=4 SERVICE_REGISTRATION="$tmp/registration.yaml" \
  ASPNETCORE_ENVIRONMENT=Production
source scripts/lib/service.sh
publish_service "$src" "$tmp/publish"
SERVICE_DLL="$tmp/publish/AppService.dll"
dotnet "$SERVICE_DLL" generate-registration --id statements --url "$SERVICE_URL" \
  --sender-localpart bot --namespace-regex '^@_bot_.*:localhost$' --out "$SERVICE_REGISTRATION" >/dev/null
token="$(sed -n 's/^hs_token:[[:space:]]*//p' "$SERVICE_REGISTRATION" | tr -d "\"'" | head -n1)"
start_service statements "$tmp/service.log"
load() { ( cd bench && HS_TOKEN="$token" BODY="$BODY_FILE" timeout $(( $3 + 30 )) wrk -t1 -c1 -d"$3s" -s "$SCRIPT" "$1" -- "$2" ); }
# measure NAME URL PID DB: a warm-up, then pg_stat_statements of DB over SECS seconds, per transaction.
measure() {
  local name=$1 url=$2 pid=$3 db=$4 pg0 pg1 c0 c1 txns
  load "$url" "${name:0:1}w01" 20 >/dev/null
  P -d "$db" -c "SELECT pg_stat_statements_reset()" >/dev/null
  pg0=$(postgres_cpu_ticks); c0=$(process_cpu_ticks "$pid")
  load "$url" "${name:0:1}m01" "$SECS" >"$tmp/wrk.txt"
  pg1=$(postgres_cpu_ticks); c1=$(process_cpu_ticks "$pid")
  txns=$(awk '/requests in/{print $1}' "$tmp/wrk.txt")
  if grep -q 'Non-2xx' "$tmp/wrk.txt"; then echo "$name answered errors:" >&2; cat "$tmp/wrk.txt" >&2; exit 1; fi
  echo "$name: $txns $((c1 - c0)) $((pg1 - pg0)) $SECS $(getconf CLK_TCK)" | awk '{printf "%s %d transactions, %.0f events/s; its own CPU %.2f ms/txn, PostgreSQL CPU %.2f ms/txn\n", $1, $2, $2*100/$5, $3*1000/$6/$2, $4*1000/$6/$2}'
  echo "exec_us_per_txn  plan_us_per_txn  calls  rows  statement"
  P -d "$db" -F $'\t' -c "
    SELECT round((total_exec_time * 1000 / $txns)::numeric), round((total_plan_time * 1000 / $txns)::numeric), calls, rows,
           left(regexp_replace(query, '\s+', ' ', 'g'), 100)
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$db') AND calls >= $txns / 2
    ORDER BY total_exec_time DESC LIMIT 20"
  P -d "$db" -c "SELECT 'sum of exec + plan: ' || round(sum(total_exec_time + total_plan_time)::numeric * 1000 / $txns) || ' us/txn'
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$db')"
}
measure service "$SERVICE_URL" "$SERVICE_PID" statements
if [ "${BENCH_STATEMENTS_PROTOTYPE:-0}" = 1 ]; then
  stop_service
  # The prototype as bench.sh and bench-where.sh run it: a copy built outside the checkout, its own schema and database.
  P -c "CREATE DATABASE proto" >/dev/null && P -d proto -c "CREATE EXTENSION pg_stat_statements" >/dev/null
  PGOPTIONS="-c client_min_messages=warning" P -d proto -v ON_ERROR_STOP=1 -f bench/prototype/schema.sql >/dev/null
  build_prototype bench/prototype "$tmp/proto"
  launch_prototype "$tmp/proto" proto "http://127.0.0.1:$((SVC_PORT + 1))" "$tmp/proto.log"
  echo
  token=hs_token_secret measure prototype "http://127.0.0.1:$((SVC_PORT + 1))" "$PROTOTYPE_PID" proto
fi
