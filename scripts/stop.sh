#!/usr/bin/env bash
# Stop what scripts/run.sh started: the service (by the pid run.sh recorded in .data/run.pid) and the private
# PostgreSQL cluster (found where run.sh puts it: .data/pg, or the temp-dir fallback). Data is kept; the next
# run.sh starts both again. Touches nothing it did not start: no cluster when ConnectionStrings__AppService is set,
# no process but the recorded pid and its children.
#   APPSERVICE_PG_DATA_DIR   the same value run.sh was given, if any (another cluster directory under .data/)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh

pid_file=.data/run.pid
if [ -s "$pid_file" ]; then
  pid="$(cat "$pid_file")"
  # Only if that pid is still run.sh's 'dotnet run' (a pid may be reused after a reboot).
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'dotnet.*src/AppService'; then
    children="$(pgrep -P "$pid" || true)"
    echo "Stopping the service (pid $pid${children:+, child $children})"
    kill "$pid" $children 2>/dev/null || true
    for _ in $(seq 1 50); do
      alive=""
      for p in $pid $children; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ -z "$alive" ] && break
      sleep 0.2
    done
    for p in $pid $children; do kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null; done
  else
    echo "The service is not running (stale $pid_file)"
  fi
  rm -f "$pid_file"
else
  echo "The service is not running (no $pid_file)"
fi

if [ -n "${ConnectionStrings__AppService:-}" ]; then
  echo "ConnectionStrings__AppService is set: run.sh started no PostgreSQL, nothing else to stop"
  exit 0
fi

data="$(_pg_data_dir)"
pg_ctl="$(_pg_find_bin pg_ctl || true)"
if [ -z "$pg_ctl" ] || [ ! -s "$data/PG_VERSION" ]; then
  echo "No private PostgreSQL cluster in $data"
  exit 0
fi
if _pg_as_owner "$pg_ctl" -D "$data" status >/dev/null 2>&1; then
  echo "Stopping PostgreSQL (data in $data)"
  _pg_as_owner "$pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
else
  echo "PostgreSQL is not running (data in $data)"
fi
echo "Data kept in $data; delete that directory (and .data/admin-token) to start from nothing."
