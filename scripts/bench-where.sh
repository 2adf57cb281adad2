#!/usr/bin/env bash
# Where the time of one transaction goes, for the service and the shared prototype side by side on one PostgreSQL
# (issue 10's profile): events/s, the process's own CPU, PostgreSQL's CPU (every postgres process, from
# /proc/<pid>/stat), wall time and PostgreSQL's WAL (pg_stat_wal: bytes and full-page images, cluster-wide), per 100-event transaction of bench/'s chain workload, one in flight.
# Both are warmed up (BENCH_WHERE_WARMUP seconds each), then BENCH_WHERE_ROUNDS alternating rounds of
# BENCH_WHERE_SECONDS. Run it on a quiet machine; it prints one line per round.
# BENCH_WHERE_WAL_DETAIL=1 adds one more round per side and breaks its WAL down by relation (pg_walinspect: PostgreSQL 15+,
# the contrib package; WAL is what the checkpoints behind the p99 write), per transaction.
#   scripts/bench-where.sh            # 40 s warm-up, 3 rounds of 15 s each, about 3 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
# Ports: BENCH_PORT_BASE+10 (the service) and +11 (the prototype), 9310 and 9311 by default.
WHERE_PORT=$(( ${BENCH_PORT_BASE:-9300} + 10 )); PROTO_PORT=$(( ${BENCH_PORT_BASE:-9300} + 11 ))
WARM="${BENCH_WHERE_WARMUP:-40}"; SECS="${BENCH_WHERE_SECONDS:-15}"; ROUNDS="${BENCH_WHERE_ROUNDS:-3}"
# Run as `flock /work/bench.lock scripts/bench.sh`, this shell inherits the lock's file descriptor: a PostgreSQL that
# ensure_postgres starts would keep it, and hold the lock for every later benchmark until it stops (seen: a cluster
# started by a benchmark kept /work/bench.lock taken). Only flock's own descriptor holds the lock; ours are closed.
for _fd in /proc/$$/fd/*; do
  _n="${_fd##*/}"
  if [ "$_n" -gt 2 ] && [ "$_n" -ne 255 ]; then case "$(readlink "$_fd" 2>/dev/null)" in *.lock) eval "exec $_n>&-" ;; esac; fi
done
source scripts/lib/postgres.sh
ensure_postgres
shared="$(cd "${BENCH_SHARED:-bench}" && pwd)"
[ -f "$shared/body-chain.json" ] && [ -d "$shared/prototype" ] || { echo "the workload and prototype were not found in $shared" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/appservice-where.XXXXXX")"
P() { psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -qAt "$@"; }
stamp="$(date +%Y%m%d_%H%M%S)"; svc_db="where_${stamp}_service"; proto_db="where_${stamp}_proto"
P -c "CREATE DATABASE $svc_db" -c "CREATE DATABASE $proto_db" >/dev/null
P -d "$proto_db" -f "$shared/prototype/schema.sql" >/dev/null 2>&1
export SERVICE_REGISTRATION="$tmp/registration.yaml" ASPNETCORE_ENVIRONMENT=Production SERVICE_PORT="$WHERE_PORT" SERVICE_POOL_SIZE=4
source scripts/lib/service.sh
publish_service   # the service as run.sh, the Dockerfile and bench.sh build it
dotnet "$SERVICE_DLL" generate-registration --id where --url "http://127.0.0.1:$WHERE_PORT" \
  --sender-localpart bot --namespace-regex '^@_bot_.*:localhost$' --out "$tmp/registration.yaml" >/dev/null
SERVICE_HS_TOKEN="$(sed -n 's/^hs_token:[[:space:]]*//p' "$SERVICE_REGISTRATION" | tr -d "\"'" | head -n1)"
cleanup() {
  [ -z "$PROTOTYPE_PID" ] || kill "$PROTOTYPE_PID" 2>/dev/null || true
  stop_service 2>/dev/null || true
  P -c "DROP DATABASE IF EXISTS $svc_db" -c "DROP DATABASE IF EXISTS $proto_db" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
start_service "$svc_db" "$tmp/service.log"
build_prototype "$shared/prototype" "$tmp/proto"
launch_prototype "$tmp/proto" "$proto_db" "http://127.0.0.1:$PROTO_PORT" "$tmp/proto.log"
proto=$PROTOTYPE_PID
run() { # run NAME URL TOKEN PID SECONDS RUNID
  local pg0 c0 pg1 c1 req w0 w1
  w0=$(P -c "SELECT wal_bytes || ' ' || wal_fpi FROM pg_stat_wal")
  pg0=$(postgres_cpu_ticks); c0=$(process_cpu_ticks "$4")
  ( cd "$shared"; HS_TOKEN="$3" BODY=body-chain.json timeout $(( $5 + 30 )) wrk -t1 -c1 -d"${5}s" -s put_txn_chain.lua "$2" -- "$6" ) >"$tmp/wrk-$6.txt" 2>&1
  pg1=$(postgres_cpu_ticks); c1=$(process_cpu_ticks "$4")
  w1=$(P -c "SELECT wal_bytes || ' ' || wal_fpi FROM pg_stat_wal")
  req=$(awk '/requests in/{print $1}' "$tmp/wrk-$6.txt")
  echo "$1 $req $(( c1 - c0 )) $(( pg1 - pg0 )) $5 $w0 $w1" | awk -v tck="$(getconf CLK_TCK)" '{printf "%-10s %6d txn %7.0f events/s   own CPU %5.2f ms/txn   PostgreSQL CPU %5.2f ms/txn   wall %5.2f ms/txn   WAL %5.1f KiB/txn (%4.1f full pages)\n", $1, $2, $2*100/$5, $3*1000/tck/$2, $4*1000/tck/$2, $5*1000/$2, ($8-$6)/1024/$2, ($9-$7)/$2}'
}
run warm-up "$SERVICE_URL" "$SERVICE_HS_TOKEN" "$SERVICE_PID" "$WARM" wa01 >/dev/null
run warm-up http://127.0.0.1:$PROTO_PORT hs_token_secret "$proto" "$WARM" wa02 >/dev/null
for i in $(seq 1 "$ROUNDS"); do
  run service "$SERVICE_URL" "$SERVICE_HS_TOKEN" "$SERVICE_PID" "$SECS" "s$(printf %03d "$i")"
  run prototype http://127.0.0.1:$PROTO_PORT hs_token_secret "$proto" "$SECS" "p$(printf %03d "$i")"
done
# WAL by relation (BENCH_WHERE_WAL_DETAIL=1): one more round per side between two LSNs, every record's first block
# attributed to its relation (a B-tree split is counted to its index), KiB and records per transaction. Rounds do not
# overlap, so a window holds one side's records and the cluster's background ones (shown by relfilenode or "(none)").
wal_detail() { # wal_detail NAME URL TOKEN DB RUNID
  local l0 l1 req
  P -d "$4" -c "CREATE EXTENSION IF NOT EXISTS pg_walinspect" >/dev/null 2>&1 || { echo "pg_walinspect is not available: no WAL detail" >&2; return 0; }
  l0=$(P -c "SELECT pg_current_wal_flush_lsn()")
  ( cd "$shared"; HS_TOKEN="$3" BODY=body-chain.json timeout $(( SECS + 30 )) wrk -t1 -c1 -d"${SECS}s" -s put_txn_chain.lua "$2" -- "$5" ) >"$tmp/wrk-$5.txt" 2>&1
  l1=$(P -c "SELECT pg_current_wal_flush_lsn()")
  req=$(awk '/requests in/{print $1}' "$tmp/wrk-$5.txt")
  [ -n "$req" ] && [ "$req" -gt 0 ] || { echo "$1: no transaction in the WAL round" >&2; return 0; }
  echo "$1: WAL by relation, per transaction ($req transactions)"
  # block_ref names "rel tablespace/database/relfilenode": only this database's relations get their names.
  P -d "$4" -F' ' -c "WITH r AS (SELECT record_length, m[1]::oid AS db, m[2]::oid AS fn
                                FROM (SELECT record_length, regexp_match(block_ref, 'rel \d+/(\d+)/(\d+)') AS m
                                      FROM pg_get_wal_records_info('$l0', '$l1')) w)
                     SELECT coalesce(c.relname, r.fn::text, '(none)'), round(sum(record_length) / 1024.0 / $req, 2), round(count(*)::numeric / $req, 1)
                     FROM r LEFT JOIN pg_class c ON c.relfilenode = r.fn
                                                 AND r.db = (SELECT oid FROM pg_database WHERE datname = current_database())
                     GROUP BY 1 HAVING sum(record_length) / 1024.0 / $req >= 0.05 ORDER BY 2 DESC" |
    awk '{printf "  %-40s %7.2f KiB %6.1f records\n", $1, $2, $3}'
}
if [ "${BENCH_WHERE_WAL_DETAIL:-0}" = 1 ]; then
  wal_detail service "$SERVICE_URL" "$SERVICE_HS_TOKEN" "$svc_db" swal
  wal_detail prototype http://127.0.0.1:$PROTO_PORT hs_token_secret "$proto_db" pwal
fi
