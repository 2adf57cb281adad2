#!/usr/bin/env bash
# What the change log's insert costs PostgreSQL, by the shape of its storage (docs/benchmarks.md, "Issue 19, sixth
# round"): pgbench on a scratch database of the private cluster (scripts/lib/postgres.sh), one client, each shape in
# turn for BENCH_SHAPES_SECONDS (8) per round, BENCH_SHAPES_ROUNDS (3) rounds, synchronous_commit off for these sessions
# (the commit's flush is the same for every shape and would only add noise). One transaction = one ingest's change
# rows: 45 member changes over 8 rooms, values the size of the chain workload's (bench/body-chain.json).
#   per_row    change_log as it is: a row per change, primary key (xid, position) and the room index
#   packed     a row per (transaction, room), every column an array (what "pack the change log" would store)
#   hashed_room per_row with the room index on hashtext(room_id) instead of the room id (4 bytes instead of ~32)
#   heap_only  per_row without any index;  pk_only  per_row with the primary key only
#   narrow     per_row without sender and the prev_ columns other than prev_membership
#   generate   the same rows generated and counted, nothing written (subtracted from the others)
# Prints each shape's median latency per transaction and the median minus generate's. Takes about 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${BENCH_SHAPES_SECONDS:-8}"; ROUNDS="${BENCH_SHAPES_ROUNDS:-3}"; DB=change_log_shapes
command -v pgbench >/dev/null || { echo "pgbench is missing (Debian: postgresql-client)" >&2; exit 1; }
source scripts/lib/postgres.sh
ensure_postgres >/dev/null
P() { psql -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -qAt -v ON_ERROR_STOP=1 "$@"; }
tmp="$(mktemp -d "${TMPDIR:-/tmp}/change-log-shapes.XXXXXX")"
cleanup() { rm -rf "$tmp"; P -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true; }
trap cleanup EXIT
P -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null

columns='kind text NOT NULL, room_id text COLLATE "C" NOT NULL, user_id text COLLATE "C", membership text,
  displayname text, avatar_url text, event_id text COLLATE "C", sender text COLLATE "C", prev_membership text,
  prev_displayname text, prev_avatar_url text, prev_event_id text COLLATE "C", prev_sender text COLLATE "C",
  prev_updated_at timestamptz, cause text NOT NULL, changed text'
head='xid xid8 NOT NULL DEFAULT pg_current_xact_id(), position bigint GENERATED ALWAYS AS IDENTITY,
  at timestamptz NOT NULL DEFAULT clock_timestamp()'
P -d "$DB" <<SQL
CREATE TABLE per_row ($head, $columns, PRIMARY KEY (xid, position));
CREATE INDEX ON per_row (room_id, xid, position);
CREATE TABLE hashed_room ($head, $columns, PRIMARY KEY (xid, position));
CREATE INDEX ON hashed_room (hashtext(room_id), xid, position);
CREATE TABLE heap_only ($head, $columns);
CREATE TABLE pk_only ($head, $columns, PRIMARY KEY (xid, position));
CREATE TABLE narrow ($head, kind text NOT NULL, room_id text COLLATE "C" NOT NULL, user_id text COLLATE "C",
  membership text, displayname text, avatar_url text, event_id text COLLATE "C", prev_membership text, cause text NOT NULL,
  changed text, PRIMARY KEY (xid, position));
CREATE INDEX ON narrow (room_id, xid, position);
CREATE TABLE packed ($head, room_id text COLLATE "C" NOT NULL, n int NOT NULL, kind text[], user_id text[],
  membership text[], displayname text[], avatar_url text[], event_id text[], sender text[], prev_membership text[],
  prev_displayname text[], prev_avatar_url text[], prev_event_id text[], prev_sender text[], prev_updated_at timestamptz[],
  cause text[], changed text[], PRIMARY KEY (xid, position));
CREATE INDEX ON packed (room_id, xid, position);
SQL

# One ingest's 45 member changes: ids and values of the workload's sizes, fresh on every transaction.
rows="SELECT 'member' AS kind, '!' || left(md5((g % 8)::text), 18) || ':example.org' AS room_id,
    '@user' || g || '_' || left(md5(random()::text), 8) || ':example.org' AS user_id, 'join' AS membership,
    'User ' || g AS displayname, 'mxc://example.org/' || left(md5(random()::text), 24) AS avatar_url,
    '\$' || md5(random()::text) || left(md5(random()::text), 11) AS event_id, '@user' || g || ':example.org' AS sender,
    'invite' AS prev_membership, 'User ' || g AS prev_displayname, NULL::text AS prev_avatar_url,
    '\$' || md5(random()::text) || left(md5(random()::text), 11) AS prev_event_id, '@inviter:example.org' AS prev_sender,
    now() AS prev_updated_at, 'event' AS cause, NULL::text AS changed
  FROM generate_series(1, 45) g"
all='kind, room_id, user_id, membership, displayname, avatar_url, event_id, sender, prev_membership, prev_displayname,
  prev_avatar_url, prev_event_id, prev_sender, prev_updated_at, cause, changed'
echo "SELECT count(*) FROM ($rows) r;" >"$tmp/generate.sql"
for t in per_row hashed_room heap_only pk_only; do echo "INSERT INTO $t ($all) SELECT * FROM ($rows) r;" >"$tmp/$t.sql"; done
echo "INSERT INTO narrow (kind, room_id, user_id, membership, displayname, avatar_url, event_id, prev_membership, cause, changed)
  SELECT kind, room_id, user_id, membership, displayname, avatar_url, event_id, prev_membership, cause, changed FROM ($rows) r;" >"$tmp/narrow.sql"
echo "INSERT INTO packed (room_id, n, kind, user_id, membership, displayname, avatar_url, event_id, sender, prev_membership,
    prev_displayname, prev_avatar_url, prev_event_id, prev_sender, prev_updated_at, cause, changed)
  SELECT room_id, count(*), array_agg(kind), array_agg(user_id), array_agg(membership), array_agg(displayname),
    array_agg(avatar_url), array_agg(event_id), array_agg(sender), array_agg(prev_membership), array_agg(prev_displayname),
    array_agg(prev_avatar_url), array_agg(prev_event_id), array_agg(prev_sender), array_agg(prev_updated_at),
    array_agg(cause), array_agg(changed)
  FROM ($rows) r GROUP BY room_id;" >"$tmp/packed.sql"

shapes="generate per_row packed hashed_room heap_only pk_only narrow"
for round in $(seq 1 "$ROUNDS"); do
  for s in $shapes; do
    ms=$(PGOPTIONS="-c synchronous_commit=off" pgbench -h 127.0.0.1 -p "$APPSERVICE_PG_PORT" -U postgres -n -c1 \
      -T"$SECS" -f "$tmp/$s.sql" "$DB" 2>&1 | awk '/latency average/{print $4}')
    echo "$s $ms" >>"$tmp/results"
    echo "  round $round $s: $ms ms per transaction"
  done
done
median() { awk -v s="$1" '$1 == s {print $2}' "$tmp/results" | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
base=$(median generate)
echo "median ms per transaction (45 changes), and minus generate's $base ms:"
for s in $shapes; do
  m=$(median "$s"); printf '  %-11s %6.3f  %6.3f\n' "$s" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN {print a - b}')"
done
P -d "$DB" -F ' ' -c "SELECT 'size after the run: ' || relname || ' ' || pg_size_pretty(pg_total_relation_size(oid))
  FROM pg_class WHERE relname IN ('per_row', 'packed', 'hashed_room', 'heap_only', 'pk_only', 'narrow') ORDER BY relname"
