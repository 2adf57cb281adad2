-- The statements of every admin route, as EF Core sends them (parameters written as literals), for
-- scripts/admin-explain.sh. One statement per "-- route:" header. Keep in step with src/AppService/Admin/AdminApi.cs,
-- src/AppService/Admin/StatsSql.cs (the stats statement is checked against it by a test) and Maintenance/Pruner.cs.

-- route: GET /rooms (first page)
SELECT r.room_id, r.name, r.topic, r.canonical_alias, r.avatar_url, r.join_rule, r.history_visibility, r.encryption, r.room_version, r.creator, r.room_type, r.predecessor_room_id, r.tombstone_successor,
  (SELECT count(*)::int FROM room_members AS r0 WHERE r0.room_id = r.room_id AND r0.membership = 'join'),
  (SELECT count(*)::int FROM room_members AS r1 WHERE r1.room_id = r.room_id AND r1.membership = 'invite'),
  r.bot_membership, r.updated_at, r.state_source, r.suspect, r.last_synced_at
FROM rooms AS r ORDER BY r.room_id LIMIT 101

-- route: GET /rooms?from= (a later page, limit=1000)
SELECT r.room_id, r.name, r.topic, r.canonical_alias, r.avatar_url, r.join_rule, r.history_visibility, r.encryption, r.room_version, r.creator, r.room_type, r.predecessor_room_id, r.tombstone_successor,
  (SELECT count(*)::int FROM room_members AS r0 WHERE r0.room_id = r.room_id AND r0.membership = 'join'),
  (SELECT count(*)::int FROM room_members AS r1 WHERE r1.room_id = r.room_id AND r1.membership = 'invite'),
  r.bot_membership, r.updated_at, r.state_source, r.suspect, r.last_synced_at
FROM rooms AS r WHERE r.room_id > '!r1000:bench.example' ORDER BY r.room_id LIMIT 1001

-- route: GET /rooms/{roomId}
SELECT r.room_id, r.name, r.topic, r.canonical_alias, r.avatar_url, r.join_rule, r.history_visibility, r.encryption, r.room_version, r.creator, r.room_type, r.predecessor_room_id, r.tombstone_successor,
  (SELECT count(*)::int FROM room_members AS r0 WHERE r0.room_id = r.room_id AND r0.membership = 'join'),
  (SELECT count(*)::int FROM room_members AS r1 WHERE r1.room_id = r.room_id AND r1.membership = 'invite'),
  r.bot_membership, r.updated_at, r.state_source, r.suspect, r.last_synced_at
FROM rooms AS r WHERE r.room_id = '!r5:bench.example' LIMIT 2

-- route: GET /rooms/{roomId}/members (room exists?)
SELECT EXISTS (SELECT 1 FROM rooms AS r WHERE r.room_id = '!r5:bench.example')

-- route: GET /rooms/{roomId}/members (page)
SELECT r.user_id, r.membership, r.displayname, r.avatar_url, r.event_id, r.sender, r.updated_at
FROM room_members AS r WHERE r.room_id = '!r5:bench.example' ORDER BY r.user_id LIMIT 101

-- route: GET /rooms/{roomId}/members?membership=join&from=
SELECT r.user_id, r.membership, r.displayname, r.avatar_url, r.event_id, r.sender, r.updated_at
FROM room_members AS r WHERE r.room_id = '!r5:bench.example' AND r.membership = 'join' AND r.user_id > '@u260:bench.example' ORDER BY r.user_id LIMIT 101

-- route: GET /users/{userId}/rooms (page)
SELECT r.room_id, r.membership FROM room_members AS r WHERE r.user_id = '@u250:bench.example' ORDER BY r.room_id LIMIT 101

-- route: GET /users/{userId}/rooms?membership=join&from=
SELECT r.room_id, r.membership FROM room_members AS r
WHERE r.user_id = '@u250:bench.example' AND r.membership = 'join' AND r.room_id > '!r1:bench.example' ORDER BY r.room_id LIMIT 101

-- route: GET /events/{eventId}
SELECT p.event_id, p.room_id, p.txn_id, p.processed_at FROM processed_events AS p WHERE p.event_id = '$c4ca4238a0b923820dcc509a6f75849b/ev+1' LIMIT 2

-- route: GET /jobs (open)
SELECT j.id, j.kind, j.room_id, j.reason, j.attempts, j.run_after, j.locked_until, j.rerun, j.outcome, j.detail, j.last_error, j.created_at, j.completed_at
FROM jobs AS j WHERE j.completed_at IS NULL ORDER BY j.id DESC LIMIT 100

-- route: GET /jobs?state=failed
SELECT j.id, j.kind, j.room_id, j.reason, j.attempts, j.run_after, j.locked_until, j.rerun, j.outcome, j.detail, j.last_error, j.created_at, j.completed_at
FROM jobs AS j WHERE j.outcome = 'failed' ORDER BY j.id DESC LIMIT 100

-- route: GET /jobs?state=all&room_id=
SELECT j.id, j.kind, j.room_id, j.reason, j.attempts, j.run_after, j.locked_until, j.rerun, j.outcome, j.detail, j.last_error, j.created_at, j.completed_at
FROM jobs AS j WHERE j.room_id = '!r5:bench.example' ORDER BY j.id DESC LIMIT 100

-- route: GET /jobs/{jobId}
SELECT j.id, j.kind, j.room_id, j.reason, j.attempts, j.run_after, j.locked_until, j.rerun, j.outcome, j.detail, j.last_error, j.created_at, j.completed_at
FROM jobs AS j WHERE j.id = 5 LIMIT 2

-- route: POST /rooms/{roomId}/resync (bot membership)
SELECT r.bot_membership FROM rooms AS r WHERE r.room_id = '!r5:bench.example' LIMIT 2

-- route: POST /maintenance/prune: one batch of 5000 processed_events [work per row deleted, no target]
DELETE FROM processed_events WHERE event_id = ANY(ARRAY(
  SELECT event_id FROM processed_events WHERE processed_at < now() - interval '29 days' ORDER BY processed_at LIMIT 5000))

-- route: POST /maintenance/prune: one batch of txn_ledger [work per row deleted, no target]
DELETE FROM txn_ledger WHERE txn_id = ANY(ARRAY(
  SELECT txn_id FROM txn_ledger WHERE last_processed_at < now() - interval '29 days' ORDER BY last_processed_at LIMIT 5000))

-- route: GET /stats
SELECT
  CASE WHEN pe.big THEN pe.n ELSE (SELECT count(*) FROM processed_events) END AS "EventsProcessed",
  pe.big AS "EventsProcessedEstimated",
  CASE WHEN re.big THEN re.n ELSE (SELECT count(*) FROM rejected_events) END AS "EventsRejected",
  re.big AS "EventsRejectedEstimated",
  CASE WHEN tl.big THEN tl.n ELSE (SELECT count(*) FROM txn_ledger) END AS "Transactions",
  tl.big AS "TransactionsEstimated",
  CASE WHEN ro.big THEN ro.n ELSE (SELECT count(*) FROM rooms) END AS "Rooms",
  ro.big AS "RoomsEstimated",
  CASE WHEN rm.big THEN rm.n ELSE (SELECT count(*) FROM room_members) END AS "Members",
  rm.big AS "MembersEstimated",
  CASE WHEN rm.big AND jf.freq IS NOT NULL THEN (rm.n * jf.freq)::bigint
       ELSE (SELECT count(*) FROM room_members WHERE membership = 'join') END AS "JoinedMembers",
  rm.big AND jf.freq IS NOT NULL AS "JoinedMembersEstimated",
  jo.pending AS "JobsPending",
  jo.failed AS "JobsFailed",
  jo.drift AS "DriftDetected"
FROM
  (SELECT count(*) FILTER (WHERE completed_at IS NULL) AS pending, count(*) FILTER (WHERE outcome = 'failed') AS failed,
          count(*) FILTER (WHERE outcome = 'drift') AS drift FROM jobs) jo,
  (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT false AND reltuples >= 100000 AS big FROM pg_class WHERE oid = 'processed_events'::regclass) pe,
  (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT false AND reltuples >= 100000 AS big FROM pg_class WHERE oid = 'rejected_events'::regclass) re,
  (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT false AND reltuples >= 100000 AS big FROM pg_class WHERE oid = 'txn_ledger'::regclass) tl,
  (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT false AND reltuples >= 100000 AS big FROM pg_class WHERE oid = 'rooms'::regclass) ro,
  (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT false AND reltuples >= 100000 AS big FROM pg_class WHERE oid = 'room_members'::regclass) rm
  LEFT JOIN LATERAL (
    SELECT f.freq FROM pg_stats s, unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS f(val, freq)
    WHERE s.schemaname = current_schema() AND s.tablename = 'room_members' AND s.attname = 'membership' AND f.val = 'join'
  ) jf ON true


-- route: GET /stats?exact=true [counts every row on request, no target]
SELECT
  CASE WHEN pe.big THEN pe.n ELSE (SELECT count(*) FROM processed_events) END AS "EventsProcessed",
  pe.big AS "EventsProcessedEstimated",
  CASE WHEN re.big THEN re.n ELSE (SELECT count(*) FROM rejected_events) END AS "EventsRejected",
  re.big AS "EventsRejectedEstimated",
  CASE WHEN tl.big THEN tl.n ELSE (SELECT count(*) FROM txn_ledger) END AS "Transactions",
  tl.big AS "TransactionsEstimated",
  CASE WHEN ro.big THEN ro.n ELSE (SELECT count(*) FROM rooms) END AS "Rooms",
  ro.big AS "RoomsEstimated",
  CASE WHEN rm.big THEN rm.n ELSE (SELECT count(*) FROM room_members) END AS "Members",
  rm.big AS "MembersEstimated",
  CASE WHEN rm.big AND jf.freq IS NOT NULL THEN (rm.n * jf.freq)::bigint
       ELSE (SELECT count(*) FROM room_members WHERE membership = 'join') END AS "JoinedMembers",
  rm.big AND jf.freq IS NOT NULL AS "JoinedMembersEstimated",
  jo.pending AS "JobsPending",
  jo.failed AS "JobsFailed",
  jo.drift AS "DriftDetected"
FROM
  (SELECT count(*) FILTER (WHERE completed_at IS NULL) AS pending, count(*) FILTER (WHERE outcome = 'failed') AS failed,
          count(*) FILTER (WHERE outcome = 'drift') AS drift FROM jobs) jo,
  (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT true AND reltuples >= 100000 AS big FROM pg_class WHERE oid = 'processed_events'::regclass) pe,
  (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT true AND reltuples >= 100000 AS big FROM pg_class WHERE oid = 'rejected_events'::regclass) re,
  (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT true AND reltuples >= 100000 AS big FROM pg_class WHERE oid = 'txn_ledger'::regclass) tl,
  (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT true AND reltuples >= 100000 AS big FROM pg_class WHERE oid = 'rooms'::regclass) ro,
  (SELECT GREATEST(reltuples, 0)::bigint AS n, NOT true AND reltuples >= 100000 AS big FROM pg_class WHERE oid = 'room_members'::regclass) rm
  LEFT JOIN LATERAL (
    SELECT f.freq FROM pg_stats s, unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS f(val, freq)
    WHERE s.schemaname = current_schema() AND s.tablename = 'room_members' AND s.attname = 'membership' AND f.val = 'join'
  ) jf ON true

