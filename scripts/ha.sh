#!/usr/bin/env bash
# A local PostgreSQL 15 high-availability cluster managed by Patroni, and a failover test of the service on it
# (issue 20; docs/operations.md "High availability").
#
#   scripts/ha.sh up          three PostgreSQL 15 instances under Patroni (one primary, two streaming replicas) and
#                             their DCS; waits until a primary and two streaming replicas exist
#   scripts/ha.sh down        stops everything up started, by the pids it recorded (Patroni first: it stops its
#                             PostgreSQL; then the DCS); never anything else
#   scripts/ha.sh status      the members (patronictl list) and the replication seen from the primary
#   scripts/ha.sh failover    kill -9 of the primary's postmaster; waits until Patroni promoted a replica
#   scripts/ha.sh switchover  planned: patronictl switchover to a streaming replica
#   scripts/ha.sh test        up, the service on the cluster, the simulator's seeded workload (4 copies of each
#                             transaction in flight); HA_KILLS kill -9 of the primary in the run's first half, a
#                             switchover at its middle; then the same workload on a second database with nothing
#                             injected (the baseline, HA_BASELINE=0 skips it); then the
#                             oracle and the database checks (every acknowledged event processed, none twice) and
#                             a report; down at the end (HA_KEEP=1 leaves the cluster up)
#
# Env: HA_MODE=sync|async (sync): synchronous_mode: true with synchronous_commit = on (a commit is acknowledged
#      only once a replica has flushed it), or asynchronous streaming replication.
#      HA_PG_PORT_BASE (25601: PostgreSQL 25601-25603)  HA_API_PORT_BASE (25611: Patroni REST 25611-25613)
#      HA_DCS_PORT (25621: etcd client; peer on +1)  HA_DIR (.data/ha)
#      test only: HA_EVENTS (20000)  HA_SEED (1)  HA_KILLS (1: kill -9 count)  HA_SWITCHOVER (1: 0 skips it)
#      HA_KILL (postmaster | instance: the postmaster and all its processes at once)
#      HA_COPIES (4: copies of each transaction in flight)  SERVICE_PORT (9600)  HA_TIMEOUT (420 s for the simulator)
#
# The DCS is etcd (Debian's etcd-server, one member on 127.0.0.1, v3 API), not Patroni's built-in Raft (pysyncobj):
# Patroni 3.0 deprecated its Raft support (unmaintained, "no guarantee") and production Patroni runs on etcd, so the
# test exercises the stack operators run. One etcd member is a single point of failure of the *DCS*; the test kills
# PostgreSQL, not the DCS. In production: three etcd members on three hosts.
#
# Everything listens on 127.0.0.1; PostgreSQL and Patroni run as the postgres user (we are root); every process is
# started by this script and recorded in $HA_DIR/*.pid; down stops only those pids. Results of 'test' go to
# sim-results/ha-<mode>-<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

HA_MODE="${HA_MODE:-sync}"
case "$HA_MODE" in sync|async) ;; *) echo "HA_MODE must be sync or async" >&2; exit 2 ;; esac
# Below Linux's ephemeral range (32768-60999): with the old 556xx ports a client connection's local port, taken by
# chance, once kept node2 from binding its port ("could not create any TCP/IP sockets"), and a CI run failed.
PG_BASE="${HA_PG_PORT_BASE:-25601}"
API_BASE="${HA_API_PORT_BASE:-25611}"
DCS_PORT="${HA_DCS_PORT:-25621}"
HA_DIR="${HA_DIR:-$root/.data/ha}"
NODES=(1 2 3)
PG_BIN="$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)"

log() { echo "[ha] $*" >&2; }
now() { date +%s.%N | cut -c1-14; }

install_packages() {
  local missing=()
  command -v patroni >/dev/null 2>&1 || missing+=(patroni)
  command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
  /usr/bin/python3 -c 'import etcd' 2>/dev/null || missing+=(python3-etcd)   # Patroni's etcd3 module imports it
  [ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
  command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || { log "missing ${missing[*]} and not root: install them"; return 1; }
  log "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
  PG_BIN=/usr/lib/postgresql/15/bin
}

as_postgres() { (cd / && setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"); }

pg_port() { echo $((PG_BASE + $1 - 1)); }
api_port() { echo $((API_BASE + $1 - 1)); }
node_dir() { echo "$HA_DIR/node$1"; }

# alive PIDFILE: the pid recorded there, if that process still runs.
alive() { local p; p="$(cat "$1" 2>/dev/null || true)"; [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"; }

psql_at() { local port="$1"; shift; psql -h 127.0.0.1 -p "$port" -U postgres -X -qAt "$@"; }

# The postmaster pid of node N, only when it is the postmaster of our data directory.
postmaster_pid() {
  local data pid
  data="$(node_dir "$1")/data"
  pid="$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$data" && echo "$pid"
}

write_config() {
  local n="$1" dir sync_mode
  dir="$(node_dir "$n")"
  sync_mode=false; [ "$HA_MODE" = sync ] && sync_mode=true
  cat >"$dir/patroni.yml" <<YAML
scope: appservice-ha
name: node$n
restapi:
  listen: 127.0.0.1:$(api_port "$n")
  connect_address: 127.0.0.1:$(api_port "$n")
etcd3:
  hosts: 127.0.0.1:$DCS_PORT
bootstrap:
  dcs:
    # Failure detection: the leader key lives 10 s; the HA loop runs every second.
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    # A crashed primary is failed over at once instead of being restarted in place for up to 300 s (the default):
    # the kill -9 of the test is the loss of the primary, not a crash to recover from locally.
    primary_start_timeout: 0
    maximum_lag_on_failover: 1048576
    synchronous_mode: $sync_mode
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        synchronous_commit: "on"
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_connections: 120
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
        shared_buffers: 128MB
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - data-checksums
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:$(pg_port "$n")
  connect_address: 127.0.0.1:$(pg_port "$n")
  data_dir: $dir/data
  bin_dir: $PG_BIN
  pgpass: $dir/pgpass
  authentication:
    superuser:
      username: postgres
      password: postgres
    replication:
      username: replicator
      password: replicator
    rewind:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: '$dir'
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
YAML
  chown postgres:postgres "$dir/patroni.yml"
}

start_etcd() {
  if alive "$HA_DIR/etcd.pid" >/dev/null; then return 0; fi
  mkdir -p "$HA_DIR/etcd"
  etcd --name ha-etcd --data-dir "$HA_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$DCS_PORT" --advertise-client-urls "http://127.0.0.1:$DCS_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((DCS_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((DCS_PORT + 1))" \
    --initial-cluster "ha-etcd=http://127.0.0.1:$((DCS_PORT + 1))" --initial-cluster-state new \
    >>"$HA_DIR/etcd.log" 2>&1 &
  echo $! >"$HA_DIR/etcd.pid"
  local i
  for i in $(seq 1 50); do
    curl -fsS -m 1 "http://127.0.0.1:$DCS_PORT/health" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  log "etcd did not become healthy; see $HA_DIR/etcd.log"; return 1
}

start_patroni() {
  local n="$1" dir
  dir="$(node_dir "$n")"
  if alive "$dir/patroni.pid" >/dev/null; then return 0; fi
  # setpriv execs patroni itself, so $! is Patroni's own pid.
  (cd "$dir" && exec setpriv --reuid=postgres --regid=postgres --init-groups -- env HOME="$dir" patroni "$dir/patroni.yml") \
    >>"$dir/patroni.log" 2>&1 &
  echo $! >"$dir/patroni.pid"
}

patronictl_() { patronictl -c "$(node_dir 1)/patroni.yml" "$@"; }

# leader: the node number Patroni names as leader and whose PostgreSQL answers as a primary, else empty.
leader() {
  local n
  for n in "${NODES[@]}"; do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' -m 1 "http://127.0.0.1:$(api_port "$n")/primary" 2>/dev/null)" = 200 ] \
      && [ "$(psql_at "$(pg_port "$n")" -d postgres -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; then
      echo "$n"; return 0
    fi
  done
}

streaming_replicas() { # on node N's primary
  psql_at "$(pg_port "$1")" -d postgres -c "select count(*) from pg_stat_replication where state = 'streaming'" 2>/dev/null || echo 0
}

# wait_healthy SECONDS: a primary and two streaming replicas (in sync mode: one of them synchronous).
wait_healthy() {
  local deadline=$((SECONDS + $1)) l
  while [ $SECONDS -lt $deadline ]; do
    l="$(leader)"
    if [ -n "$l" ] && [ "$(streaming_replicas "$l")" -ge 2 ]; then
      if [ "$HA_MODE" = async ] || [ "$(psql_at "$(pg_port "$l")" -d postgres -c "select count(*) from pg_stat_replication where sync_state = 'sync'" 2>/dev/null)" -ge 1 ]; then
        echo "$l"; return 0
      fi
    fi
    sleep 0.5
  done
  log "no primary with two streaming replicas within $1 s"; return 1
}

cmd_up() {
  install_packages
  [ -n "$PG_BIN" ] || PG_BIN=/usr/lib/postgresql/15/bin
  mkdir -p "$HA_DIR"
  # The postgres user must reach its data directories through every parent.
  chmod o+x "$root/.data" "$HA_DIR" 2>/dev/null || true
  if ! as_postgres test -x "$HA_DIR"; then log "the postgres user cannot reach $HA_DIR: set HA_DIR to a directory it can reach"; return 1; fi
  if [ -f "$HA_DIR/mode" ] && [ "$(cat "$HA_DIR/mode")" != "$HA_MODE" ]; then
    if alive "$HA_DIR/etcd.pid" >/dev/null; then log "the cluster runs in $(cat "$HA_DIR/mode") mode: 'down' first"; return 1; fi
  fi
  if ! alive "$HA_DIR/etcd.pid" >/dev/null; then
    # A fresh cluster every time: the DCS and the data directories go together.
    local n; for n in "${NODES[@]}"; do ! alive "$(node_dir "$n")/patroni.pid" >/dev/null || { log "node$n's Patroni runs without the DCS: 'down' first"; return 1; }; done
    rm -rf "$HA_DIR/etcd" "$HA_DIR"/node*
  fi
  echo "$HA_MODE" >"$HA_DIR/mode"
  local n
  for n in "${NODES[@]}"; do
    mkdir -p "$(node_dir "$n")"; chown postgres:postgres "$(node_dir "$n")"; chmod 700 "$(node_dir "$n")"
    write_config "$n"
  done
  start_etcd
  start_patroni 1
  # Node 1 bootstraps (initdb); the others then clone it with pg_basebackup.
  local deadline=$((SECONDS + 90))
  until [ -n "$(leader)" ]; do
    [ $SECONDS -lt $deadline ] || { log "node1 did not bootstrap; see $(node_dir 1)/patroni.log"; return 1; }
    sleep 0.5
  done
  start_patroni 2; start_patroni 3
  local l; l="$(wait_healthy 120)"
  log "up ($HA_MODE): primary node$l on 127.0.0.1:$(pg_port "$l"), two streaming replicas"
}

stop_pidfile() { # stop_pidfile FILE SECONDS: SIGTERM, SIGKILL after SECONDS
  local p i; p="$(alive "$1" || true)"
  if [ -n "$p" ]; then
    kill "$p" 2>/dev/null || true
    for i in $(seq 1 $(($2 * 5))); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null || true
  fi
  rm -f "$1"
}

cmd_down() {
  local n p stoppers=()
  for n in "${NODES[@]}"; do
    [ -d "$(node_dir "$n")" ] || continue
    # Patroni stops its PostgreSQL on SIGTERM. (Waited for by pid: a bare 'wait' would wait for etcd too when
    # this shell started it.)
    stop_pidfile "$(node_dir "$n")/patroni.pid" 30 &
    stoppers+=($!)
  done
  [ ${#stoppers[@]} -eq 0 ] || wait "${stoppers[@]}" || true
  for n in "${NODES[@]}"; do
    p="$(postmaster_pid "$n" || true)"
    if [ -n "$p" ]; then
      log "node$n's postmaster $p outlived Patroni: immediate stop"
      as_postgres "$PG_BIN/pg_ctl" -D "$(node_dir "$n")/data" -m immediate stop >/dev/null 2>&1 || kill -9 "$p" 2>/dev/null || true
    fi
  done
  stop_pidfile "$HA_DIR/etcd.pid" 10
  log "down"
}

cmd_status() {
  patronictl_ list 2>/dev/null || log "patronictl: no cluster"
  local l; l="$(leader)"
  if [ -n "$l" ]; then
    psql_at "$(pg_port "$l")" -d postgres -F ' ' -c "select application_name, state, sync_state, replay_lag from pg_stat_replication order by 1"
  fi
}

# failover: kill -9 of the primary's postmaster; waits for a new primary. Prints "OLD NEW KILL_TIME PROMOTED_TIME".
cmd_failover() {
  local old pid t_kill t_new new deadline
  old="$(leader)"; [ -n "$old" ] || { log "no primary to kill"; return 1; }
  pid="$(postmaster_pid "$old")"; [ -n "$pid" ] || { log "node$old's postmaster pid not found"; return 1; }
  # HA_KILL=instance: the postmaster and all its children (backends, walsenders) at once, as when the host dies;
  # after a kill of the postmaster alone its walsenders live on for a moment and still ship the WAL already flushed.
  local children=""; [ "${HA_KILL:-postmaster}" = instance ] && children="$(pgrep -P "$pid" | tr '\n' ' ')"
  t_kill="$(now)"
  # shellcheck disable=SC2086
  kill -9 "$pid" $children
  log "kill -9 of node$old's postmaster (pid $pid)${children:+ and its children ($children)}"
  deadline=$((SECONDS + 90)); new=""
  while [ $SECONDS -lt $deadline ]; do
    new="$(leader)"
    [ -n "$new" ] && [ "$new" != "$old" ] && break
    new=""; sleep 0.2
  done
  [ -n "$new" ] || { log "no new primary within 90 s"; return 1; }
  t_new="$(now)"
  log "node$new promoted $(echo "$t_new - $t_kill" | bc) s after the kill"
  echo "$old $new $t_kill $t_new"
}

cmd_switchover() {
  local old cand="" t0 t1 deadline new=""
  old="$(leader)"; [ -n "$old" ] || { log "no primary"; return 1; }
  # A streaming replica; in sync mode Patroni switches over only to the synchronous standby (its REST /sync is 200).
  local want=replica; [ "$HA_MODE" = sync ] && want=sync
  deadline=$((SECONDS + 60))
  while [ -z "$cand" ] && [ $SECONDS -lt $deadline ]; do
    for n in "${NODES[@]}"; do
      [ "$n" != "$old" ] || continue
      if [ "$(curl -s -o /dev/null -w '%{http_code}' -m 1 "http://127.0.0.1:$(api_port "$n")/$want" 2>/dev/null)" = 200 ]; then cand="$n"; break; fi
    done
    [ -n "$cand" ] || sleep 0.5
  done
  [ -n "$cand" ] || { log "no $want standby to switch over to"; return 1; }
  t0="$(now)"
  patronictl_ switchover --leader "node$old" --candidate "node$cand" --force >&2
  deadline=$((SECONDS + 90))
  while [ $SECONDS -lt $deadline ]; do
    new="$(leader)"; [ -n "$new" ] && [ "$new" != "$old" ] && break
    new=""; sleep 0.2
  done
  [ -n "$new" ] || { log "switchover did not complete within 90 s"; return 1; }
  t1="$(now)"
  log "switchover node$old -> node$new in $(echo "$t1 - $t0" | bc) s"
  echo "$old $new $t0 $t1"
}

cmd_test() {
  local started=$SECONDS
  cmd_up
  local out; out="$root/sim-results/ha-$HA_MODE-$(date +%Y%m%d-%H%M%S)"; mkdir -p "$out"
  export SERVICE_PORT="${SERVICE_PORT:-9600}"
  # The service's connection string: every member, the primary chosen at connection open (see service.sh).
  local hosts="" n
  for n in "${NODES[@]}"; do hosts+="${hosts:+,}127.0.0.1:$(pg_port "$n")"; done
  export SERVICE_PG_HOSTS="Host=$hosts;Target Session Attributes=primary;Host Recheck Seconds=2"
  export APPSERVICE_PG_PORT="$PG_BASE"
  source scripts/lib/service.sh
  build_service_and_simulator
  local db="ha_test"
  local l; l="$(leader)"
  psql_at "$(pg_port "$l")" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  sim_pid="" ready_pid=""
  trap '[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; [ -n "$ready_pid" ] && kill "$ready_pid" 2>/dev/null; stop_service; [ "${HA_KEEP:-0}" = 1 ] || cmd_down' EXIT
  start_service "$db" "$out/service.log"
  echo "$SERVICE_PID" >"$out/service.pid"
  # /health/ready every 0.5 s through the run: unix ms and the status (503 while there is no primary).
  ( while :; do printf '%s\t%s\n' "$(date +%s%3N)" "$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$SERVICE_URL/health/ready")"; sleep 0.5; done ) \
    >"$out/ready.tsv" 2>/dev/null &
  ready_pid=$!
  local events="${HA_EVENTS:-20000}" seed="${HA_SEED:-1}" copies="${HA_COPIES:-4}" timeout="${HA_TIMEOUT:-420}"
  log "simulator: $events events, seed $seed, $copies copies of each transaction in flight; results in $out"
  timeout --kill-after=10 "$timeout" dotnet "$SIMULATOR_DLL" \
    --url "$SERVICE_URL" --hs-token "$SERVICE_HS_TOKEN" --admin-token "$SERVICE_ADMIN_TOKEN" \
    --events "$events" --seed "$seed" --pid-file "$out/service.pid" --max-seconds $((timeout - 60)) \
    --timeout-seconds 10 --faults concurrent --concurrent-copies "$copies" --check-events 1000000 \
    --ack-log "$out/acks.tsv" --json "$out/sim.json" >"$out/sim.log" 2>&1 &
  sim_pid=$!

  # wait_acked N: until the simulator has N acknowledged transactions (its ack log), or it ended.
  wait_acked() {
    while kill -0 "$sim_pid" 2>/dev/null; do
      [ "$(awk -F'\t' '$2 == 200 { a[$3] = 1 } END { print length(a) }' "$out/acks.tsv" 2>/dev/null || echo 0)" -ge "$1" ] && return 0
      sleep 0.3
    done
  }
  local txns; txns="$(dotnet "$SIMULATOR_DLL" --events "$events" --seed "$seed" --faults concurrent --concurrent-copies "$copies" --dry-run \
    | sed -n 's/^plan: .*, \([0-9]*\) transactions,.*/\1/p')"
  log "the plan has $txns transactions ($copies requests each)"
  local kills="${HA_KILLS:-1}" k failovers=()
  for k in $(seq 1 "$kills"); do
    wait_acked $((txns * k / (2 * kills + 2)))
    kill -0 "$sim_pid" 2>/dev/null || break
    failovers+=("$(cmd_failover)")
    echo "failover $k: ${failovers[-1]}" >>"$out/injected.txt"
    # The old primary rejoins as a replica (pg_rewind) before the next injection.
    wait_healthy 120 >/dev/null || true
  done
  local switch=""
  if [ "${HA_SWITCHOVER:-1}" = 1 ]; then
    wait_acked $((txns / 2))
    if kill -0 "$sim_pid" 2>/dev/null; then
      switch="$(cmd_switchover)"; echo "switchover: $switch" >>"$out/injected.txt"
    fi
  fi
  local rc=0
  wait "$sim_pid" || rc=$?
  sim_pid=""
  kill "$ready_pid" 2>/dev/null || true; wait "$ready_pid" 2>/dev/null || true; ready_pid=""
  # The database checks run on the primary of now, which has everything the service committed after the last
  # change of primary, and what the replica it was had received before.
  wait_healthy 60 >/dev/null || true
  # The same workload again on a database of its own, with nothing injected: the tables after the failover must
  # be the ones a run without failover leaves (the oracle alone cannot tell: on main it disagrees with the service on
  # a few rooms of some seeds with or without faults, the same rooms every time).
  if [ "${HA_BASELINE:-1}" = 1 ]; then
    l="$(leader)"
    psql_at "$(pg_port "$l")" -d postgres -c "DROP DATABASE IF EXISTS ha_baseline WITH (FORCE)" -c "CREATE DATABASE ha_baseline" >/dev/null 2>&1
    stop_service; start_service ha_baseline "$out/service-baseline.log"
    log "baseline: the same workload on database ha_baseline, nothing injected"
    timeout --kill-after=10 "$timeout" dotnet "$SIMULATOR_DLL" \
      --url "$SERVICE_URL" --hs-token "$SERVICE_HS_TOKEN" --admin-token "$SERVICE_ADMIN_TOKEN" \
      --events "$events" --seed "$seed" --max-seconds $((timeout - 60)) \
      --timeout-seconds 10 --faults concurrent --concurrent-copies "$copies" --check-events 1000000 \
      --json "$out/baseline.json" >"$out/baseline.log" 2>&1 || true
  fi
  l="$(leader)"
  report "$out" "$db" "$l" "$rc" "$started" "$switch" "${failovers[@]}"
}

# dump_tables PORT DB: every projected and recorded row, timestamps and positions left out, sorted (comparable
# between two runs of the same workload).
dump_tables() {
  local t
  for t in rooms room_members room_state processed_events rejected_events txn_ledger change_log pending_redactions; do
    psql_at "$1" -d "$2" -c "select '$t ' || (select coalesce(jsonb_object_agg(k, v), '{}') from jsonb_each(to_jsonb(x)) e(k, v)
      where k not like '%\\_at' escape '\\' and k not in ('at', 'xid', 'position', 'content_hash', 'id', 'seq'))::text from $t x" 2>/dev/null
  done | LC_ALL=C sort
}

# report OUT DB LEADER SIM_RC STARTED SWITCH FAILOVER...
report() {
  local out="$1" db="$2" l="$3" rc="$4" started="$5" switch="$6"; shift 6
  local port; port="$(pg_port "$l")"
  # Acknowledged events (from the simulator's ack log), loaded next to processed_events.
  awk -F'\t' '$2 == 200 && $4 != "" { n = split($4, ids, ","); for (i = 1; i <= n; i++) print ids[i] "\t" $3 }' "$out/acks.tsv" \
    | sort -u -k1,1 >"$out/acked-events.tsv"
  psql_at "$port" -d "$db" -c "CREATE TABLE IF NOT EXISTS ha_acked (event_id text COLLATE \"C\", txn_id text COLLATE \"C\")" -c "TRUNCATE ha_acked" >/dev/null
  psql_at "$port" -d "$db" -c "\\copy ha_acked FROM '$out/acked-events.tsv'" >/dev/null
  local acked lost twice_ledger twice_change wrong_txn
  acked="$(psql_at "$port" -d "$db" -c "select count(*) from ha_acked")"
  lost="$(psql_at "$port" -d "$db" -c "select count(*) from ha_acked a where not exists (select 1 from processed_events p where p.event_id = a.event_id)")"
  psql_at "$port" -d "$db" -c "select a.event_id, a.txn_id from ha_acked a where not exists (select 1 from processed_events p where p.event_id = a.event_id)" >"$out/lost-events.tsv"
  # Applied twice: (1) the ledger counts every new event in the one transaction that applied it, so its sum equals
  # the processed events exactly once each; (2) every table (projections, processed_events, rejected_events, ledger,
  # change_log, pending redactions; timestamps aside) equals the baseline run's row for row: an event applied twice
  # would leave a second change_log row or another ledger count, a lost one a missing row; (3) the oracle (sim.log).
  twice_ledger="$(psql_at "$port" -d "$db" -c "select (select coalesce(sum(new_event_count), 0) from txn_ledger) - (select count(*) from processed_events)")"
  twice_change=0
  if [ "${HA_BASELINE:-1}" = 1 ]; then
    dump_tables "$port" "$db" >"$out/tables-failover.txt"
    dump_tables "$port" ha_baseline >"$out/tables-baseline.txt"
    twice_change="$(diff "$out/tables-baseline.txt" "$out/tables-failover.txt" | grep -c '^[<>]' || true)"
    diff "$out/tables-baseline.txt" "$out/tables-failover.txt" >"$out/tables.diff" || true
  fi
  # An acknowledged event recorded under another transaction than the one that first delivered it was applied again.
  wrong_txn="$(psql_at "$port" -d "$db" -c "select count(*) from ha_acked a join processed_events p using (event_id) where p.txn_id <> a.txn_id")"
  local s503 sother; s503="$(awk -F'\t' '$2 == 503' "$out/acks.tsv" | wc -l)"
  sother="$(awk -F'\t' '$2 != 200 && $2 != 503' "$out/acks.tsv" | cut -f2 | sort | uniq -c | tr '\n' ' ')"
  local s500; s500="$(awk -F'\t' '$2 == 500' "$out/acks.tsv" | wc -l)"
  {
    echo "=== ha test ($HA_MODE mode), results in $out"
    local f old new tk tn first
    for f in "$@"; do
      read -r old new tk tn <<<"$f"
      # Recovered: the first 200 after the first failed answer that followed the kill (an answer to a request that
      # committed before the kill can still arrive after it); without any failed answer, the first 200 after the promotion.
      first="$(awk -F'\t' -v t="$tk" -v p="$tn" '$1 / 1000 >= t && $2 != 200 && !e { e = $1 / 1000 }
        $2 == 200 && ((e && $1 / 1000 > e) || (!e && $1 / 1000 >= p)) { printf "%.3f\n", $1 / 1000; exit }' "$out/acks.tsv")"
      echo "failover: kill -9 of node$old's postmaster; node$new promoted after $(echo "$tn - $tk" | bc) s;" \
        "first acknowledged transaction $(if [ -n "$first" ]; then echo "$first - $tk" | bc; else echo '?'; fi) s after the kill;" \
        "503 answers from the kill to then: $(awk -F'\t' -v a="$tk" -v b="${first:-9e12}" '$2 == 503 && $1 / 1000 >= a && $1 / 1000 <= b' "$out/acks.tsv" | wc -l);" \
        "/health/ready from the kill: $(awk -F'\t' -v a="$tk" '$1 / 1000 >= a' "$out/ready.tsv" | head -n 40 | cut -f2 | uniq -c | tr -s ' ' | tr '\n' ',' | cut -c1-120)"
    done
    if [ -n "$switch" ]; then
      read -r old new tk tn <<<"$switch"
      echo "switchover: node$old -> node$new in $(echo "$tn - $tk" | bc) s (patronictl to the new primary answering);" \
        "503 answers from its start: $(awk -F'\t' -v a="$tk" '$2 == 503 && $1 / 1000 >= a' "$out/acks.tsv" | wc -l);" \
        "longest time without an acknowledgement from its start: $(awk -F'\t' -v a="$tk" '$2 == 200 && $1 / 1000 >= a { t = $1 / 1000; if (!l) l = a; if (t - l > m) m = t - l; l = t } END { printf "%.3f", m }' "$out/acks.tsv") s"
    fi
    echo "answers: $(awk -F'\t' '$2 == 200' "$out/acks.tsv" | wc -l) x 200, $s503 x 503 in all${sother:+; other: $sother}"
    echo "acknowledged events: $acked; lost (acknowledged, not in processed_events): $lost (list: $out/lost-events.tsv)"
    echo "applied twice: ledger sum - processed = $twice_ledger; acknowledged events recorded under another txnId = $wrong_txn"
    echo "tables vs the baseline run without failover: $twice_change rows differ ($out/tables.diff; $(wc -l <"$out/tables-failover.txt" 2>/dev/null || echo 0) rows compared)"
    echo "oracle, baseline run: $(tail -n1 "$out/baseline.log" 2>/dev/null); failed checks only in the failover run: $(comm -13 <(grep '^FAILED' "$out/baseline.log" 2>/dev/null | sort) <(grep '^FAILED' "$out/sim.log" | sort) | wc -l)"
    echo "simulator: exit $rc; $(grep -E '^oracle:' "$out/sim.log" | head -n1); $(tail -n1 "$out/sim.log")"
    echo "service: $(kill -0 "$SERVICE_PID" 2>/dev/null && echo "still running (pid $SERVICE_PID)" || echo 'NOT running'); /health/ready at the end: $(curl -s -o /dev/null -w '%{http_code}' -m 5 "$SERVICE_URL/health/ready")"
    echo "elapsed: $((SECONDS - started)) s (cluster up, build, run, checks)"
  } | tee "$out/report.txt"
  # Verdict: nothing twice and no 500 in both modes; in sync mode nothing lost, the tables equal the baseline's, and
  # the oracle failed no check that it did not fail on the baseline run. In async
  # mode lost events are the measurement (the oracle then fails on exactly those events).
  local verdict=PASS
  [ "$twice_ledger" = 0 ] && [ "$wrong_txn" = 0 ] && [ "$s500" = 0 ] || verdict=FAIL
  [ "$HA_MODE" = async ] || [ "$twice_change" = 0 ] || verdict=FAIL
  local new_failures; new_failures="$(comm -13 <(grep '^FAILED' "$out/baseline.log" 2>/dev/null | sort) <(grep '^FAILED' "$out/sim.log" | sort) | wc -l)"
  if [ "$HA_MODE" = sync ]; then { [ "$lost" = 0 ] && [ "$new_failures" = 0 ] && grep -qE '^main: ([0-9]+)/\1 acknowledged' "$out/sim.log"; } || verdict=FAIL; fi
  [ "$acked" -gt 0 ] || verdict=FAIL
  echo "=== ha ($HA_MODE): $verdict" | tee -a "$out/report.txt"
  [ "$verdict" = PASS ]
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  failover) cmd_failover >/dev/null ;;
  switchover) cmd_switchover >/dev/null ;;
  test) cmd_test ;;
  *) echo "usage: scripts/ha.sh up|down|status|failover|switchover|test   (HA_MODE=sync|async)" >&2; exit 2 ;;
esac
