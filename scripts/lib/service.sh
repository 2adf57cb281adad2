#!/usr/bin/env bash
# Sourced by faults.sh (and bench.sh): build the service and the simulator once in Release, start the service in
# the background on 127.0.0.1 with its own database, stop or kill it by the pid we started. Nothing here touches a
# process this shell did not start.
#
# Needs APPSERVICE_PG_PORT (from postgres.sh). Sets SERVICE_PID, SERVICE_URL, SERVICE_ADMIN_TOKEN, SERVICE_HS_TOKEN.

set -euo pipefail

_svc_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SERVICE_PORT="${SERVICE_PORT:-9100}"
SERVICE_URL="http://127.0.0.1:$SERVICE_PORT"
SERVICE_ADMIN_TOKEN="${SERVICE_ADMIN_TOKEN:-sim-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
SERVICE_REGISTRATION="${SERVICE_REGISTRATION:-$_svc_root/registration.yaml}"
# (empty while the registration does not exist yet: bench.sh generates it with the published service, then reads it again)
SERVICE_HS_TOKEN="$(sed -n 's/^hs_token:[[:space:]]*//p' "$SERVICE_REGISTRATION" 2>/dev/null | tr -d "\"'" | head -n1 || true)"
# The service as users run it: published like run.sh and deploy/Dockerfile do (publish_service), not the build output.
SERVICE_PUBLISH_DIR="$_svc_root/src/AppService/bin/Release/publish"
SERVICE_DLL="$SERVICE_PUBLISH_DIR/AppService.dll"
SIMULATOR_DLL="$_svc_root/tools/AppService.Simulator/bin/Release/net10.0/AppService.Simulator.dll"
SERVICE_PID=""
SERVICE_DB=""
SERVICE_LOG=""

_svc_log() { echo "[service] $*" >&2; }

# publish_service [SRC_DIR [OUT_DIR [extra dotnet arguments...]]]: the one way the service is built to be run, shared
# by run.sh, bench.sh, bench-where.sh and faults.sh, and the same command deploy/Dockerfile runs: Release,
# framework-dependent for linux-x64 without an apphost, so the project's PublishReadyToRun applies (AppService.csproj).
# Prints nothing unless the build fails.
publish_service() {
  local src="${1:-$_svc_root/src/AppService}" dest="${2:-$SERVICE_PUBLISH_DIR}"
  shift $(( $# < 2 ? $# : 2 ))
  local log
  # An empty output directory: publish copies a package's DLL only when it is newer than the one there, so a
  # ReadyToRun copy left by the previous publish would survive a -p:AppServiceReadyToRun=false one.
  rm -rf "$dest"
  log="$(dotnet publish "$src" -c Release -r linux-x64 --self-contained false -p:UseAppHost=false -o "$dest" -nologo -v q -clp:ErrorsOnly "$@" 2>&1)" \
    || { echo "$log" >&2; _svc_log "the publish of $src failed"; return 1; }
}

# Build both once; every run and restart then starts in about a second (no 'dotnet run' rebuild check).
build_service_and_simulator() {
  _svc_log "publishing the service and building the simulator (Release)"
  publish_service
  dotnet build "$_svc_root/tools/AppService.Simulator" -c Release -nologo -v q 2>&1 | grep -E 'error|Warn|warn' || true
  [ -f "$SERVICE_DLL" ] && [ -f "$SIMULATOR_DLL" ] || { _svc_log "build failed"; return 1; }
}

# service_connection_string DB: the service's connection string for database DB on our PostgreSQL, or on the hosts
# SERVICE_PG_HOSTS names (scripts/ha.sh: "Host=a:p,b:p,c:p;Target Session Attributes=primary;...").
service_connection_string() {
  echo "${SERVICE_PG_HOSTS:-Host=127.0.0.1;Port=$APPSERVICE_PG_PORT};Username=postgres;Database=$1;Maximum Pool Size=${SERVICE_POOL_SIZE:-8};Timeout=5;Command Timeout=20"
}

# start_service DB LOG: start (or restart) the service on database DB, appending to LOG; waits until it answers.
# Sets SERVICE_START_MS: milliseconds from the launch to the first 200 of /health/ready (migrations applied, the
# database answering), polled every 20 ms (bench.sh reports it as the start time).
start_service() {
  SERVICE_DB="$1"; SERVICE_LOG="$2"
  local t0; t0=$(date +%s%N)
  # The subshell execs dotnet, so $! is the service's own pid (kill -9 hits the service, /proc/$!/status is its memory).
  (
    cd "$_svc_root/src/AppService"
    export ConnectionStrings__AppService; ConnectionStrings__AppService="$(service_connection_string "$SERVICE_DB")"
    export AppService__AdminToken="$SERVICE_ADMIN_TOKEN"
    export AppService__RegistrationFile="$SERVICE_REGISTRATION"
    export AppService__ServerName="${SERVICE_SERVER_NAME:-localhost}"   # the simulator's bot is @bot:localhost
    export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
    # Per-transaction Information logs would be measured too; the name has dots, hence env.
    exec env "Logging__LogLevel__AppService.Transactions.AppServiceApi=Warning" \
      "Logging__LogLevel__AppService.Transactions.TransactionProcessor=Warning" \
      dotnet "$SERVICE_DLL" --urls "$SERVICE_URL"
  ) >>"$SERVICE_LOG" 2>&1 &
  SERVICE_PID=$!
  SERVICE_START_MS=""
  local deadline=$((SECONDS + 60))
  while [ $SECONDS -lt $deadline ] && kill -0 "$SERVICE_PID" 2>/dev/null; do
    if curl -fsS -m 1 -o /dev/null "$SERVICE_URL/health/ready" 2>/dev/null; then
      SERVICE_START_MS=$(( ($(date +%s%N) - t0) / 1000000 )); break
    fi
    sleep 0.02
  done
  wait_service_ready 60
}

# wait_service_ready SECONDS: until GET /admin/v1/stats answers 200.
wait_service_ready() {
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
      _svc_log "the service (pid $SERVICE_PID) exited; last lines of $SERVICE_LOG:"; tail -n 20 "$SERVICE_LOG" >&2
      return 1
    fi
    if curl -fsS -m 2 -H "Authorization: Bearer $SERVICE_ADMIN_TOKEN" "$SERVICE_URL/admin/v1/stats" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  _svc_log "the service did not answer within $1 s"
  return 1
}

# service_stat NAME: one exact counter of GET /admin/v1/stats (empty when the service does not answer).
service_stat() {
  curl -fsS -m 2 -H "Authorization: Bearer $SERVICE_ADMIN_TOKEN" "$SERVICE_URL/admin/v1/stats?exact=true" 2>/dev/null \
    | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

# stop_service: SIGTERM to the pid we started, SIGKILL after 10 s.
stop_service() {
  [ -n "$SERVICE_PID" ] || return 0
  if kill -0 "$SERVICE_PID" 2>/dev/null; then
    kill "$SERVICE_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do kill -0 "$SERVICE_PID" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$SERVICE_PID" 2>/dev/null && kill -9 "$SERVICE_PID" 2>/dev/null || true
  fi
  wait "$SERVICE_PID" 2>/dev/null || true
  SERVICE_PID=""
}

# The shared prototype (bench/prototype), the reference bench.sh, bench-where.sh and bench-statements.sh measure against.
# build_prototype SRC DEST: a copy built outside the checkout (the repository's Directory.Build.props must not apply to
# it), Release; fails if it did not build.
PROTOTYPE_PID=""
build_prototype() {
  cp -r "$1" "$2"
  timeout 600 dotnet build "$2" -c Release -nologo -v q 2>&1 | grep -E ' error ' >&2 || true
  [ -f "$2/bin/Release/net10.0/Prototype.dll" ] || { _svc_log "the prototype did not build"; return 1; }
}

# launch_prototype DIR DB URL LOG: runs the prototype built in DIR on database DB of our PostgreSQL (its schema loaded),
# listening on URL, appending to LOG; sets PROTOTYPE_PID at once (for the caller's cleanup) and waits until its /stats
# answers.
launch_prototype() {
  ( cd "$1"
    export PGCS="Host=127.0.0.1;Port=$APPSERVICE_PG_PORT;Username=postgres;Database=$2;Maximum Pool Size=4" SYNC_COMMIT=on URL="$3"
    exec dotnet bin/Release/net10.0/Prototype.dll ) >>"$4" 2>&1 &
  PROTOTYPE_PID=$!
  local i; for i in $(seq 1 100); do curl -fsS -m 1 "$3/stats" >/dev/null 2>&1 && return 0; sleep 0.2; done
  _svc_log "the prototype did not answer; last lines of $4:"; tail -n 20 "$4" >&2; return 1
}

# CPU time (user + system, in clock ticks: getconf CLK_TCK per second) of one process, and of every postgres process
# of the machine together (bench-where.sh and bench-statements.sh divide their differences by the transactions run).
process_cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
postgres_cpu_ticks() { local t=0 p; for p in $(pgrep -x postgres); do t=$((t + $(process_cpu_ticks "$p"))); done; echo "$t"; }

# kill9_service: what a crash looks like; the pid is gone without any shutdown.
kill9_service() {
  kill -9 "$SERVICE_PID"
  wait "$SERVICE_PID" 2>/dev/null || true
}

# drop_database DB: remove a run's database (our PostgreSQL only).
drop_database() {
  psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -d postgres -qAtc "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null 2>&1 || true
}
