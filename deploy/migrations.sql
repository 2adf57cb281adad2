CREATE TABLE IF NOT EXISTS "__EFMigrationsHistory" (
    "MigrationId" character varying(150) NOT NULL,
    "ProductVersion" character varying(32) NOT NULL,
    CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY ("MigrationId")
);

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    CREATE TABLE processed_events (
        event_id text COLLATE "C" NOT NULL,
        room_id text COLLATE "C" NOT NULL,
        event_type text COLLATE "C" NOT NULL,
        txn_id text COLLATE "C" NOT NULL,
        processed_at timestamp with time zone NOT NULL,
        CONSTRAINT "PK_processed_events" PRIMARY KEY (event_id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    CREATE TABLE rejected_events (
        id bigint GENERATED ALWAYS AS IDENTITY,
        event_id text COLLATE "C",
        room_id text COLLATE "C",
        event_type text COLLATE "C",
        txn_id text COLLATE "C" NOT NULL,
        reason text NOT NULL,
        content jsonb NOT NULL,
        rejected_at timestamp with time zone NOT NULL,
        CONSTRAINT "PK_rejected_events" PRIMARY KEY (id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    CREATE TABLE room_members (
        room_id text COLLATE "C" NOT NULL,
        user_id text COLLATE "C" NOT NULL,
        membership text NOT NULL,
        displayname text,
        avatar_url text,
        event_id text COLLATE "C" NOT NULL,
        sender text COLLATE "C" NOT NULL,
        updated_at timestamp with time zone NOT NULL,
        CONSTRAINT "PK_room_members" PRIMARY KEY (room_id, user_id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    CREATE TABLE room_state (
        room_id text COLLATE "C" NOT NULL,
        event_type text COLLATE "C" NOT NULL,
        state_key text COLLATE "C" NOT NULL,
        event_id text COLLATE "C" NOT NULL,
        CONSTRAINT "PK_room_state" PRIMARY KEY (room_id, event_type, state_key)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    CREATE TABLE rooms (
        room_id text COLLATE "C" NOT NULL,
        name text,
        topic text,
        canonical_alias text,
        avatar_url text,
        join_rule text,
        history_visibility text,
        encryption text,
        room_version text,
        creator text,
        room_type text,
        predecessor_room_id text,
        tombstone_successor text,
        bot_membership text,
        updated_at timestamp with time zone NOT NULL,
        CONSTRAINT "PK_rooms" PRIMARY KEY (room_id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    CREATE TABLE txn_ledger (
        txn_id text COLLATE "C" NOT NULL,
        content_hash bytea NOT NULL,
        event_count integer NOT NULL,
        new_event_count integer NOT NULL,
        rejected_count integer NOT NULL,
        first_seen_at timestamp with time zone NOT NULL,
        last_processed_at timestamp with time zone NOT NULL,
        CONSTRAINT "PK_txn_ledger" PRIMARY KEY (txn_id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    CREATE INDEX ix_processed_events_processed_at ON processed_events (processed_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    CREATE INDEX ix_rejected_events_rejected_at ON rejected_events (rejected_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    CREATE UNIQUE INDEX ux_rejected_events_event_id ON rejected_events (event_id) WHERE event_id IS NOT NULL;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    CREATE INDEX ix_room_members_user_membership ON room_members (user_id, membership, room_id);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    CREATE INDEX ix_room_state_event_id ON room_state (event_id);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    CREATE INDEX ix_txn_ledger_last_processed_at ON txn_ledger (last_processed_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123113325_Initial') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261123113325_Initial', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123115759_BotLifecycle') THEN
    ALTER TABLE rooms ADD drift_checked_at timestamp with time zone;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123115759_BotLifecycle') THEN
    ALTER TABLE rooms ADD last_synced_at timestamp with time zone;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123115759_BotLifecycle') THEN
    ALTER TABLE rooms ADD state_source text;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123115759_BotLifecycle') THEN
    ALTER TABLE rooms ADD suspect boolean NOT NULL DEFAULT FALSE;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123115759_BotLifecycle') THEN
    CREATE TABLE jobs (
        id bigint GENERATED ALWAYS AS IDENTITY,
        kind text NOT NULL,
        room_id text COLLATE "C" NOT NULL,
        dedup_key text COLLATE "C" NOT NULL,
        reason text NOT NULL,
        attempts integer NOT NULL,
        run_after timestamp with time zone NOT NULL,
        locked_until timestamp with time zone,
        rerun boolean NOT NULL,
        last_error text,
        outcome text,
        detail text,
        created_at timestamp with time zone NOT NULL,
        completed_at timestamp with time zone,
        CONSTRAINT "PK_jobs" PRIMARY KEY (id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123115759_BotLifecycle') THEN
    CREATE INDEX ix_jobs_completed_at ON jobs (completed_at) WHERE completed_at IS NOT NULL;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123115759_BotLifecycle') THEN
    CREATE INDEX ix_jobs_open_run_after ON jobs (run_after) WHERE completed_at IS NULL;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123115759_BotLifecycle') THEN
    CREATE UNIQUE INDEX ux_jobs_open_dedup_key ON jobs (dedup_key) WHERE completed_at IS NULL;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261123115759_BotLifecycle') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261123115759_BotLifecycle', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203111020_InputSafety') THEN
    ALTER TABLE rejected_events
        ALTER COLUMN content TYPE text USING content::text,
        ALTER COLUMN content DROP NOT NULL,
        ADD COLUMN content_bytes integer NOT NULL DEFAULT 0,
        ADD COLUMN reason_code text NOT NULL DEFAULT 'legacy',
        ADD COLUMN redacted_by text COLLATE "C" NULL;
    UPDATE rejected_events SET content_bytes = octet_length(content) WHERE content IS NOT NULL;
    ALTER TABLE rejected_events ALTER COLUMN content_bytes DROP DEFAULT, ALTER COLUMN reason_code DROP DEFAULT;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203111020_InputSafety') THEN
    CREATE INDEX ix_rejected_events_room_id_id ON rejected_events (room_id, id);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203111020_InputSafety') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261203111020_InputSafety', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203112323_AdminIndexes') THEN
    CREATE INDEX ix_room_members_room_membership ON room_members (room_id, membership);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203112323_AdminIndexes') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261203112323_AdminIndexes', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203115125_StateCorrectness') THEN
    CREATE SEQUENCE processing_order START WITH 1 INCREMENT BY 1 NO CYCLE;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203115125_StateCorrectness') THEN
    ALTER TABLE rooms ADD creators text[] COLLATE "C";
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203115125_StateCorrectness') THEN
    ALTER TABLE rooms ADD power_levels text;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203115125_StateCorrectness') THEN
    ALTER TABLE room_state ADD sender text COLLATE "C";
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203115125_StateCorrectness') THEN
    ALTER TABLE processed_events ADD seq bigint;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203115125_StateCorrectness') THEN
    ALTER TABLE processed_events ALTER COLUMN seq SET DEFAULT nextval('processing_order');
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203115125_StateCorrectness') THEN
    UPDATE room_state s SET sender = m.sender
    FROM room_members m
    WHERE s.event_type = 'm.room.member' AND m.room_id = s.room_id AND m.user_id = s.state_key AND m.event_id = s.event_id;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203115125_StateCorrectness') THEN
    UPDATE rooms SET creators = ARRAY[creator] WHERE creator IS NOT NULL;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261203115125_StateCorrectness') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261203115125_StateCorrectness', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261206215001_PendingRedactions') THEN
    CREATE TABLE pending_redactions (
        target_event_id text COLLATE "C" NOT NULL,
        room_id text COLLATE "C" NOT NULL,
        redaction_event_id text COLLATE "C" NOT NULL,
        sender text COLLATE "C" NOT NULL,
        received_at timestamp with time zone NOT NULL,
        CONSTRAINT "PK_pending_redactions" PRIMARY KEY (target_event_id)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261206215001_PendingRedactions') THEN
    CREATE INDEX ix_pending_redactions_received_at ON pending_redactions (received_at);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261206215001_PendingRedactions') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261206215001_PendingRedactions', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261206215158_ChangeLog') THEN
    CREATE TABLE change_log (
        xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        position bigint GENERATED ALWAYS AS IDENTITY,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        kind text NOT NULL,
        room_id text COLLATE "C" NOT NULL,
        user_id text COLLATE "C",
        membership text,
        displayname text,
        avatar_url text,
        event_id text COLLATE "C",
        sender text COLLATE "C",
        prev_membership text,
        prev_displayname text,
        prev_avatar_url text,
        prev_event_id text COLLATE "C",
        prev_sender text COLLATE "C",
        prev_updated_at timestamptz,
        cause text NOT NULL,
        changed text,
        CONSTRAINT pk_change_log PRIMARY KEY (xid, position)
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261206215158_ChangeLog') THEN
    CREATE INDEX ix_change_log_room_user ON change_log (room_id, user_id, xid, position);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261206215158_ChangeLog') THEN
    CREATE TABLE change_log_horizon (
        id int PRIMARY KEY CHECK (id = 1),
        xid xid8 NOT NULL,
        position bigint NOT NULL,
        at timestamptz NOT NULL
    );
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261206215158_ChangeLog') THEN
    INSERT INTO change_log_horizon (id, xid, position, at) VALUES (1, '0', 0, clock_timestamp());
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261206215158_ChangeLog') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261206215158_ChangeLog', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261207002242_HotPathSchema') THEN
    ALTER TABLE processed_events ADD state_key text COLLATE "C";
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261207002242_HotPathSchema') THEN
    UPDATE processed_events p SET state_key = s.state_key
    FROM room_state s
    WHERE p.event_id = s.event_id;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261207002242_HotPathSchema') THEN
    DROP INDEX ix_room_state_event_id;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261207002242_HotPathSchema') THEN
    ALTER TABLE rooms SET (fillfactor=85);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261207002242_HotPathSchema') THEN
    ALTER TABLE room_state SET (fillfactor=85);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261207002242_HotPathSchema') THEN
    ALTER TABLE room_members SET (fillfactor=85);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261207002242_HotPathSchema') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261207002242_HotPathSchema', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261207045846_MemberStateOnce') THEN
    DELETE FROM room_state WHERE event_type = 'm.room.member';
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261207045846_MemberStateOnce') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261207045846_MemberStateOnce', '10.0.15');
    END IF;
END $EF$;
COMMIT;

START TRANSACTION;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261207081721_ChangeLogRoomIndex') THEN
    CREATE INDEX ix_change_log_room ON change_log (room_id, xid, position);
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261207081721_ChangeLogRoomIndex') THEN
    DROP INDEX ix_change_log_room_user;
    END IF;
END $EF$;

DO $EF$
BEGIN
    IF NOT EXISTS(SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20261207081721_ChangeLogRoomIndex') THEN
    INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
    VALUES ('20261207081721_ChangeLogRoomIndex', '10.0.15');
    END IF;
END $EF$;
COMMIT;

