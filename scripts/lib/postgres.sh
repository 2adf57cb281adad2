#!/usr/bin/env bash
# Sourced by run.sh, test.sh, bench.sh and faults.sh. Makes sure a PostgreSQL is reachable and exports
# APPSERVICE_PG (a Npgsql connection string to the server, database "postgres" for admin work) and
# APPSERVICE_PG_DB (the application database), and APPSERVICE_PG_REASON (which server that is, and why: one line).
#
# - ConnectionStrings__AppService set: that server is used as it is; nothing is started.
# - Otherwise: a private cluster under .data/pg (or a temp dir if the postgres user cannot reach the
#   checkout) is created with the machine's PostgreSQL binaries (installed with apt-get when missing),
#   listening on 127.0.0.1:${APPSERVICE_PG_PORT:-55432} only, run as the postgres user when we are root.

set -euo pipefail

_pg_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_pg_asked_port="${APPSERVICE_PG_PORT:-}"   # what the caller asked for, if anything (the reason lines name it)
APPSERVICE_PG_PORT="${APPSERVICE_PG_PORT:-55432}"

_pg_log() { echo "[postgres] $*" >&2; }

_pg_find_bin() {
  local name="$1"
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  local candidate
  for candidate in /usr/lib/postgresql/*/bin/"$name"; do
    [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 1
}

_pg_install() {
  if _pg_find_bin initdb >/dev/null && _pg_find_bin pg_ctl >/dev/null; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    _pg_log "PostgreSQL server binaries (initdb, pg_ctl) not found and we are not root: install the 'postgresql' package or set ConnectionStrings__AppService."
    return 1
  fi
  _pg_log "installing PostgreSQL with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
  _pg_find_bin initdb >/dev/null
}

# Run a command as the cluster owner: postgres when we are root, ourselves otherwise. From '/', which the postgres
# user can always read (from a checkout under /root it would warn "could not change directory"); paths are absolute.
_pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# APPSERVICE_PG_DATA_DIR names another cluster directory under .data/ (faults.sh keeps a private cluster there that
# it may restart, on its own port, apart from the one run.sh and test.sh use).
_pg_data_dir() {
  local dir="$_pg_root/.data/${APPSERVICE_PG_DATA_DIR:-pg}"
  if [ "$(id -u)" -eq 0 ]; then
    mkdir -p "$_pg_root/.data"
    # The postgres user must be able to reach the data directory through every parent.
    if ! _pg_as_owner test -x "$_pg_root/.data" 2>/dev/null; then
      chmod o+x "$_pg_root/.data" 2>/dev/null || true
    fi
    if ! _pg_as_owner test -x "$_pg_root/.data" 2>/dev/null; then
      # The postgres user cannot reach the checkout (e.g. one under /root, mode 0700): the cluster goes to the
      # system temp directory instead, named after the checkout. ensure_postgres says so on every start.
      dir="${TMPDIR:-/tmp}/appservice-pg-$(echo "$_pg_root${APPSERVICE_PG_DATA_DIR:+/$APPSERVICE_PG_DATA_DIR}" | md5sum | cut -c1-12)"
    fi
  fi
  echo "$dir"
}

ensure_postgres() {
  if [ -n "${ConnectionStrings__AppService:-}" ]; then
    _pg_log "using ConnectionStrings__AppService from the environment${_pg_asked_port:+ (APPSERVICE_PG_PORT=$_pg_asked_port is not used)}"
    export APPSERVICE_PG_REASON="ConnectionStrings__AppService is set${_pg_asked_port:+ (APPSERVICE_PG_PORT=$_pg_asked_port is not used)}"
    export APPSERVICE_PG_DB="$ConnectionStrings__AppService"
    export APPSERVICE_PG="$ConnectionStrings__AppService"
    return 0
  fi

  _pg_install
  local initdb pg_ctl pg_isready data sock
  initdb="$(_pg_find_bin initdb)"; pg_ctl="$(_pg_find_bin pg_ctl)"
  pg_isready="$(_pg_find_bin pg_isready || true)"
  data="$(_pg_data_dir)"
  sock="$data/run"

  case "$data" in
    "$_pg_root/.data/"*) ;;
    *) _pg_log "the postgres user cannot reach $_pg_root/.data, so the cluster lives in $data (the system temp directory: it may not survive a reboot); scripts/stop.sh stops it" ;;
  esac
  if [ ! -s "$data/PG_VERSION" ]; then
    _pg_log "creating a private cluster in $data"
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    _pg_as_owner "$initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    mkdir -p "$sock"; [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$sock"
    cat >> "$data/postgresql.conf" <<CONF
# appservice private cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
max_connections = 200
shared_buffers = 256MB
CONF
  fi

  if _pg_as_owner "$pg_ctl" -D "$data" status >/dev/null 2>&1; then
    # Already running (a previous run.sh/test.sh): use the port it listens on, and say so when it is not the one asked.
    APPSERVICE_PG_PORT="$(sed -n 4p "$data/postmaster.pid")"
    APPSERVICE_PG_REASON="the private cluster in $data, already running on port $APPSERVICE_PG_PORT"
    if [ -n "$_pg_asked_port" ] && [ "$_pg_asked_port" != "$APPSERVICE_PG_PORT" ]; then
      APPSERVICE_PG_REASON="$APPSERVICE_PG_REASON; APPSERVICE_PG_PORT=$_pg_asked_port is ignored: a running cluster keeps its port until scripts/stop.sh stops it"
    fi
    _pg_log "using $APPSERVICE_PG_REASON"
  else
    # Another server may hold the port (another checkout's cluster, a system PostgreSQL): take the next free one.
    local tries=0
    while (exec 3<>"/dev/tcp/127.0.0.1/$APPSERVICE_PG_PORT") 2>/dev/null; do
      tries=$((tries + 1))
      [ "$tries" -lt 20 ] || { _pg_log "no free port from ${APPSERVICE_PG_PORT}"; return 1; }
      APPSERVICE_PG_PORT=$((APPSERVICE_PG_PORT + 1))
    done
    APPSERVICE_PG_REASON="the private cluster in $data, started on port $APPSERVICE_PG_PORT"
    [ "$tries" -eq 0 ] || APPSERVICE_PG_REASON="$APPSERVICE_PG_REASON (port $((APPSERVICE_PG_PORT - tries)) was taken by another server)"
    _pg_log "$APPSERVICE_PG_REASON"
    mkdir -p "$sock"; [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$sock"
    # The port goes into the cluster's own configuration, so any later restart (faults.sh restarts it) keeps it.
    sed -i '/^port = /d' "$data/postgresql.conf"
    echo "port = $APPSERVICE_PG_PORT" >> "$data/postgresql.conf"
    _pg_as_owner "$pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null
  fi
  if [ -n "$pg_isready" ]; then
    local i
    for i in $(seq 1 60); do
      "$pg_isready" -q -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" && break
      sleep 0.5
    done
  fi
  export APPSERVICE_PG_DATA="$data" APPSERVICE_PG_REASON
  export APPSERVICE_PG="Host=127.0.0.1;Port=$APPSERVICE_PG_PORT;Username=postgres;Database=postgres"
  export APPSERVICE_PG_DB="Host=127.0.0.1;Port=$APPSERVICE_PG_PORT;Username=postgres;Database=appservice;Maximum Pool Size=4"
}

stop_postgres() {
  [ -n "${APPSERVICE_PG_DATA:-}" ] || return 0
  _pg_as_owner "$(_pg_find_bin pg_ctl)" -D "$APPSERVICE_PG_DATA" -m fast stop >/dev/null 2>&1 || true
}
