#!/usr/bin/env bash
# EXPLAIN (ANALYZE) of every admin route's SQL on a database of realistic size: 1,000,000 processed events,
# 100,000 member rows (2,000 rooms of 50), 10,000 ledger rows, 10,000 jobs, 1,000 rejected events, loaded with
# generate_series into a scratch database on the running PostgreSQL, dropped at the end. Prints each statement's
# execution time and fails when one takes 50 ms or more; two are shown but not held to that target: a prune batch
# (its cost is per row it deletes) and /stats?exact=true (asked for, it counts every row). IO more than CPU: about
# a minute on 2 cores.
#
#   scripts/admin-explain.sh              # on the private cluster of run.sh/test.sh (started if needed)
#   APPSERVICE_PG_PORT=55432 scripts/admin-explain.sh   # any server on 127.0.0.1 that user postgres may use
#   ADMIN_EXPLAIN_KEEP=1 ...              # keep the scratch database (its name is printed)
#
# The statements are the ones the service sends (copied from its EF Core command log: run the service with
# Logging__Console__LogLevel__Microsoft.EntityFrameworkCore.Database.Command=Information and call each route).
# Keep them in step with src/AppService/Admin/AdminApi.cs and StatsSql.cs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh
LIMIT_MS="${ADMIN_EXPLAIN_LIMIT_MS:-50}"
PORT="${APPSERVICE_PG_PORT:-55432}"
if ! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  ensure_postgres
  PORT="$APPSERVICE_PG_PORT"
fi
DB="appservice_explain_$(date +%s)_$$"
PSQL=(psql -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qAtX)

cleanup() {
  if [ -z "${ADMIN_EXPLAIN_KEEP:-}" ]; then
    "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

echo "Scratch database $DB on 127.0.0.1:$PORT"
"${PSQL[@]}" -d postgres -c "CREATE DATABASE \"$DB\""
"${PSQL[@]}" -d "$DB" -f deploy/migrations.sql >/dev/null

start=$SECONDS
"${PSQL[@]}" -d "$DB" <<'SQL'
INSERT INTO rooms (room_id, name, topic, join_rule, history_visibility, room_version, creator, bot_membership, updated_at, state_source)
SELECT format('!r%s:bench.example', r), format('Room %s', r), 'A topic', 'invite', 'shared', '10', '@owner:bench.example', 'join',
       now() - r * interval '1 minute', 'homeserver'
FROM generate_series(1, 2000) r;

-- 50 members per room; each user is in 5 rooms. 80% join, 10% invite, 5% leave, 5% ban.
INSERT INTO room_members (room_id, user_id, membership, displayname, event_id, sender, updated_at)
SELECT format('!r%s:bench.example', r), format('@u%s:bench.example', (r * 50 + j) % 20000),
       CASE WHEN j < 40 THEN 'join' WHEN j < 45 THEN 'invite' WHEN j < 48 THEN 'leave' ELSE 'ban' END,
       format('User %s', (r * 50 + j) % 20000), format('$m%s_%s', r, j), format('@u%s:bench.example', (r * 50 + j) % 20000),
       now() - j * interval '1 second'
FROM generate_series(1, 2000) r, generate_series(0, 49) j;

-- 1,000,000 events over 30 days, 100 per transaction; room-v4-like ids with / and +.
INSERT INTO processed_events (event_id, room_id, event_type, txn_id, processed_at)
SELECT format('$%s/ev+%s', md5(i::text), i), format('!r%s:bench.example', 1 + i % 2000), 'm.room.message',
       format('txn%s', i / 100), now() - (i * interval '2.592 seconds')
FROM generate_series(1, 1000000) i;

INSERT INTO txn_ledger (txn_id, content_hash, event_count, new_event_count, rejected_count, first_seen_at, last_processed_at)
SELECT format('txn%s', t), decode(md5(t::text), 'hex'), 100, 100, 0, now() - t * interval '4 minutes', now() - t * interval '4 minutes'
FROM generate_series(0, 9999) t;

INSERT INTO rejected_events (event_id, room_id, event_type, txn_id, reason, content, rejected_at)
SELECT format('$bad%s', i), '!r1:bench.example', 'm.room.member', format('txn%s', i), 'wrong_type', '{"membership":5}', now() - i * interval '1 hour'
FROM generate_series(1, 1000) i;

-- Jobs: a week of drift checks and resyncs, completed, some failed or drift; 50 open.
INSERT INTO jobs (kind, room_id, dedup_key, reason, attempts, run_after, rerun, outcome, created_at, completed_at)
SELECT CASE WHEN i % 3 = 0 THEN 'resync' ELSE 'drift_check' END, format('!r%s:bench.example', 1 + i % 2000), format('k%s', i),
       'drift', 1, now() - i * interval '1 minute', false,
       CASE WHEN i % 50 = 0 THEN 'failed' WHEN i % 7 = 0 THEN 'drift' ELSE 'done' END,
       now() - i * interval '1 minute', now() - i * interval '1 minute' + interval '2 seconds'
FROM generate_series(51, 10000) i;
INSERT INTO jobs (kind, room_id, dedup_key, reason, attempts, run_after, rerun, created_at)
SELECT 'resync', format('!r%s:bench.example', i), format('resync:!r%s:bench.example', i), 'admin', 0, now(), false, now()
FROM generate_series(1, 50) i;

VACUUM ANALYZE;
SQL
echo "Loaded in $((SECONDS - start)) s: $("${PSQL[@]}" -d "$DB" -c "SELECT format('%s processed events, %s members, %s rooms', (SELECT count(*) FROM processed_events), (SELECT count(*) FROM room_members), (SELECT count(*) FROM rooms))")"

failures=0
# explain NAME SQL: run the statement twice (the first warms the cache, as a service that runs does), report the second.
explain() {
  local name="$1" sql="$2" ms
  "${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE) $sql" >/dev/null
  ms="$("${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE, FORMAT JSON) $sql" | sed -n 's/.*"Execution Time": \([0-9.]*\).*/\1/p' | head -n1)"
  if [[ "$name" == *"no target]" ]]; then
    printf '%-58s %9.2f ms  (not held to the target)\n' "$name" "$ms"
  elif awk -v t="$ms" -v l="$LIMIT_MS" 'BEGIN { exit !(t >= l) }'; then
    failures=$((failures + 1)); printf '%-58s %9.2f ms  SLOW\n' "$name" "$ms"
    "${PSQL[@]}" -d "$DB" -c "EXPLAIN (ANALYZE, BUFFERS) $sql" | sed 's/^/    /'
  else
    printf '%-58s %9.2f ms\n' "$name" "$ms"
  fi
}

STATEMENTS_FILE="scripts/admin-explain.sql"
name=""; sql=""
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    "-- route: "*)
      [ -n "$name" ] && explain "$name" "$sql"
      name="${line#-- route: }"; sql="" ;;
    "--"*|"") ;;
    *) sql="$sql $line" ;;
  esac
done < "$STATEMENTS_FILE"
[ -n "$name" ] && explain "$name" "$sql"

if [ "$failures" -gt 0 ]; then
  echo "$failures statement(s) took ${LIMIT_MS} ms or more"
  exit 1
fi
echo "Every admin statement under ${LIMIT_MS} ms"
