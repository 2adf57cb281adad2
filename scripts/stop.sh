#!/usr/bin/env bash
# Stop what scripts/run.sh started: the service (whatever holds .data/run.lock, see run.sh) and the private
# PostgreSQL cluster (found where run.sh puts it: .data/pg, or the temp-dir fallback). Data is kept; the next
# run.sh starts both again. Touches nothing it did not start: no cluster when ConnectionStrings__AppService is set,
# no process but the ones holding this checkout's lock.
#   APPSERVICE_PG_DATA_DIR   the same value run.sh was given, if any (another cluster directory under .data/)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh

# The service is every process holding .data/run.lock open (run.sh's exec hands the lock to the service), found
# through /proc whatever .data/run.pid says; a pid file alone (a service of an older run.sh) is checked as before.
lock="$(pwd -P)/.data/run.lock"
pid_file=.data/run.pid
holders() {
  find /proc/[0-9]*/fd -maxdepth 1 -lname "$lock" 2>/dev/null | cut -d/ -f3 | sort -u || true
}
pids="$(holders | tr '\n' ' ')"
if [ -z "${pids// /}" ] && [ -s "$pid_file" ]; then
  pid="$(cat "$pid_file")"
  # Only if that pid is still a service of this checkout (a pid may be reused after a reboot).
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'dotnet.*src/AppService'; then
    pids="$pid $(pgrep -P "$pid" | tr '\n' ' ' || true)"
  fi
fi
if [ -n "${pids// /}" ]; then
  echo "Stopping the service (pid ${pids% })"
  # shellcheck disable=SC2086 # a list of pids
  kill $pids 2>/dev/null || true
  for _ in $(seq 1 50); do
    alive=""
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.2
  done
  for p in $pids; do kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null; done
else
  echo "The service is not running"
fi
rm -f "$pid_file"

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
