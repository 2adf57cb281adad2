using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppService.Data;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Data;

/// <summary>
/// A database made by the previous release (every migration up to <see cref="PreviousRelease"/>), with rows in every
/// table as that release wrote them; the service then starts on it and applies the newer migrations itself, as an
/// upgrade does. The rows of the projection tables are read just before the upgrade.
/// </summary>
public sealed class PreviousReleaseApplication : AppServiceApplication
{
    /// <summary>The last migration of the release before the hot-path schema (main c2dd7df).</summary>
    public const string PreviousRelease = "20261206215158_ChangeLog";

    public const string Room = "!upgrade:test";
    public const string PendingRoom = "!upgrade-pending:test";

    /// <summary>rooms, room_members and room_state as JSON rows, read before the newer migrations ran.</summary>
    public string ProjectionBefore { get; private set; } = "";

    /// <summary>The same rows read right after the service started (and so migrated), before any test pushed anything.</summary>
    public string ProjectionAfterUpgrade { get; private set; } = "";

    /// <summary>
    /// The projection tables as JSON rows, ordered by key: what an upgrade must leave as it is, but for the member keys
    /// of room_state, which MemberStateOnce deletes (room_members holds the same ids).
    /// </summary>
    public const string ProjectionRows = """
        SELECT concat_ws(E'\n',
            (SELECT string_agg(to_jsonb(r)::text, E'\n' ORDER BY r.room_id) FROM rooms r),
            (SELECT string_agg(to_jsonb(m)::text, E'\n' ORDER BY m.room_id, m.user_id) FROM room_members m),
            (SELECT string_agg(to_jsonb(s)::text, E'\n' ORDER BY s.room_id, s.event_type, s.state_key) FROM room_state s))
        """;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("AppService:Retention:Enabled", "false"),
    ];

    protected override void Start()
    {
        base.Start(); // the service applies the newer migrations before it serves
        using var connection = new NpgsqlConnection(ConnectionString);
        connection.Open();
        using var read = new NpgsqlCommand(ProjectionRows, connection);
        ProjectionAfterUpgrade = (string)read.ExecuteScalar()!;
    }

    protected override async Task<string> CreateDatabaseAsync(PostgresServer postgres)
    {
        string connectionString = await postgres.CreateDatabaseAsync(DatabaseName);
        await using (var db = new AppDbContext(new DbContextOptionsBuilder<AppDbContext>().UseNpgsql(connectionString).Options))
        {
            await db.GetService<IMigrator>().MigrateAsync(PreviousRelease);
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var seed = new NpgsqlCommand(Seed, connection))
        {
            await seed.ExecuteNonQueryAsync();
        }

        await using (var read = new NpgsqlCommand(ProjectionRows, connection))
        {
            ProjectionBefore = (string)(await read.ExecuteScalarAsync())!;
        }

        return connectionString;
    }

    /// <summary>
    /// What the previous release wrote for two rooms: the state of <see cref="Room"/> (create, power levels, name,
    /// topic, join rule, two joined members and an invited one, each member also in room_state as that release kept
    /// them; an older name replaced since; an avatar and Carol's invite set by a resync that never recorded them as
    /// processed), a message, the ledger, a rejected event, a finished job, a redaction waiting for its target in
    /// <see cref="PendingRoom"/> and the change log of the members.
    /// </summary>
    private const string Seed = """
        INSERT INTO rooms (room_id, name, topic, avatar_url, join_rule, room_version, creator, bot_membership, updated_at, state_source,
                           suspect, creators, power_levels)
        VALUES ('!upgrade:test', 'Before', 'Old topic', 'mxc://test/room', 'invite', '11', '@alice:test', 'join', '2026-12-01T10:00:00Z',
                'push', false, ARRAY['@alice:test'], '{"users":{"@alice:test":100}}'),
               ('!upgrade-pending:test', NULL, NULL, NULL, NULL, '11', '@alice:test', NULL, '2026-12-01T10:00:00Z', 'push', false,
                ARRAY['@alice:test'], NULL);
        INSERT INTO room_state (room_id, event_type, state_key, event_id, sender) VALUES
            ('!upgrade:test', 'm.room.create', '', '$up-create', '@alice:test'),
            ('!upgrade:test', 'm.room.power_levels', '', '$up-power', '@alice:test'),
            ('!upgrade:test', 'm.room.name', '', '$up-name-2', '@alice:test'),
            ('!upgrade:test', 'm.room.topic', '', '$up-topic', '@alice:test'),
            ('!upgrade:test', 'm.room.join_rules', '', '$up-join-rules', '@alice:test'),
            ('!upgrade:test', 'm.room.avatar', '', '$up-avatar', '@alice:test'),
            ('!upgrade:test', 'm.room.member', '@alice:test', '$up-alice', '@alice:test'),
            ('!upgrade:test', 'm.room.member', '@bob:test', '$up-bob', '@bob:test'),
            ('!upgrade:test', 'm.room.member', '@carol:test', '$up-carol', '@alice:test'),
            ('!upgrade-pending:test', 'm.room.create', '', '$up-pending-create', '@alice:test');
        INSERT INTO room_members (room_id, user_id, membership, displayname, avatar_url, event_id, sender, updated_at) VALUES
            ('!upgrade:test', '@alice:test', 'join', 'Alice', NULL, '$up-alice', '@alice:test', '2026-12-01T10:00:00Z'),
            ('!upgrade:test', '@bob:test', 'join', 'Bob', 'mxc://test/bob', '$up-bob', '@bob:test', '2026-12-01T10:00:01Z'),
            ('!upgrade:test', '@carol:test', 'invite', 'Carol', NULL, '$up-carol', '@alice:test', '2026-12-01T10:00:02Z');
        INSERT INTO processed_events (event_id, room_id, event_type, txn_id, processed_at) VALUES
            ('$up-create', '!upgrade:test', 'm.room.create', 'up-1', now()),
            ('$up-join-rules', '!upgrade:test', 'm.room.join_rules', 'up-1', now()),
            ('$up-power', '!upgrade:test', 'm.room.power_levels', 'up-1', now()),
            ('$up-name-1', '!upgrade:test', 'm.room.name', 'up-1', now()),
            ('$up-name-2', '!upgrade:test', 'm.room.name', 'up-1', now()),
            ('$up-topic', '!upgrade:test', 'm.room.topic', 'up-1', now()),
            ('$up-alice', '!upgrade:test', 'm.room.member', 'up-1', now()),
            ('$up-bob', '!upgrade:test', 'm.room.member', 'up-1', now()),
            ('$up-message', '!upgrade:test', 'm.room.message', 'up-1', now()),
            ('$up-pending-create', '!upgrade-pending:test', 'm.room.create', 'up-1', now()),
            ('$up-pending-redaction', '!upgrade-pending:test', 'm.room.redaction', 'up-1', now());
        INSERT INTO txn_ledger (txn_id, content_hash, event_count, new_event_count, rejected_count, first_seen_at, last_processed_at)
        VALUES ('up-1', '\x0102', 11, 10, 1, now(), now());
        INSERT INTO rejected_events (event_id, room_id, event_type, txn_id, reason, reason_code, content, content_bytes, rejected_at)
        VALUES ('$up-rejected', '!upgrade:test', 'm.room.member', 'up-1', 'no state_key', 'invalid_shape', '{}', 2, now());
        INSERT INTO jobs (kind, room_id, dedup_key, reason, attempts, run_after, rerun, outcome, detail, created_at, completed_at)
        VALUES ('resync', '!upgrade:test', 'resync:!upgrade:test', 'bot_joined', 0, now(), false, 'done', 'seeded', now(), now());
        INSERT INTO pending_redactions (target_event_id, room_id, redaction_event_id, sender, received_at)
        VALUES ('$up-pending-topic', '!upgrade-pending:test', '$up-pending-redaction', '@alice:test', now());
        INSERT INTO change_log (kind, room_id, user_id, membership, displayname, event_id, sender, cause)
        VALUES ('member', '!upgrade:test', '@alice:test', 'join', 'Alice', '$up-alice', '@alice:test', 'event'),
               ('member', '!upgrade:test', '@bob:test', 'join', 'Bob', '$up-bob', '@bob:test', 'event');
        """;
}

/// <summary>Upgrading a database made by the previous release: the projection is unchanged, and the ingest works on it.</summary>
public sealed class MigrationFromPreviousReleaseTests(PreviousReleaseApplication app) : IClassFixture<PreviousReleaseApplication>
{
    private const string Room = PreviousReleaseApplication.Room;

    private static JsonObject Redaction(string roomId, string redacts, string sender = Alice) => new()
    {
        ["event_id"] = NewEventId(),
        ["room_id"] = roomId,
        ["type"] = "m.room.redaction",
        ["sender"] = sender,
        ["redacts"] = redacts,
        ["content"] = new JsonObject { ["redacts"] = redacts },
    };

    /// <summary>A state event as the homeserver would push it next: it names the event it replaces.</summary>
    private static JsonObject Next(string roomId, string type, string stateKey, JsonObject content, string? replaces, string eventId, string sender = Alice) => new()
    {
        ["event_id"] = eventId,
        ["room_id"] = roomId,
        ["type"] = type,
        ["sender"] = sender,
        ["state_key"] = stateKey,
        ["origin_server_ts"] = 1_795_000_000_000,
        ["content"] = content,
        ["unsigned"] = replaces is null ? new JsonObject() : new JsonObject { ["replaces_state"] = replaces },
    };

    [Fact]
    public async Task The_upgrade_leaves_rooms_members_and_state_as_they_were()
    {
        await using (var db = app.CreateDbContext())
        {
            Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        }

        Assert.Contains("\"$up-avatar\"", app.ProjectionBefore, StringComparison.Ordinal);

        // Every row stays as it was but the member keys of room_state: member events are stored once, in room_members
        // (MemberStateOnce), whose rows held the same event ids and senders.
        var before = app.ProjectionBefore.Split('\n');
        var memberState = before.Where(IsMemberStateRow).ToList();
        Assert.Equal(3, memberState.Count);
        Assert.Equal(string.Join('\n', before.Where(row => !IsMemberStateRow(row))), app.ProjectionAfterUpgrade);
        var members = before.Select(row => JsonNode.Parse(row)!).Where(row => row["user_id"] is not null).ToList();
        foreach (var state in memberState.Select(row => JsonNode.Parse(row)!))
        {
            var member = members.Single(m => Text(m, "room_id") == Text(state, "room_id") && Text(m, "user_id") == Text(state, "state_key"));
            Assert.Equal((Text(state, "event_id"), Text(state, "sender")), (Text(member, "event_id"), Text(member, "sender")));
        }

        Assert.Equal(0, await app.ScalarAsync("SELECT count(*) FROM room_state WHERE event_type = 'm.room.member'"));

        // What the admin API answers from them (fields the other tests of this class do not change).
        var room = (await app.RoomAsync(Room))!;
        Assert.Equal(("11", "@alice:test", 2, "join"), (room.RoomVersion, room.Creator, room.JoinedMemberCount, room.BotMembership));
        Assert.Equal(["@alice:test"], room.Creators);
        var alice = (await app.MemberAsync(Room, Alice))!;
        Assert.Equal(("join", "Alice", "$up-alice", "@alice:test"), (alice.Membership, alice.DisplayName, alice.EventId, alice.Sender));
        Assert.Equal(DateTimeOffset.Parse("2026-12-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture), alice.UpdatedAt);
    }

    private static string? Text(JsonNode row, string column) => row[column]?.GetValue<string>();

    private static bool IsMemberStateRow(string row) =>
        JsonNode.Parse(row) is JsonObject o && o.ContainsKey("state_key") && o["event_type"]?.GetValue<string>() == "m.room.member";

    [Fact]
    public async Task The_state_key_of_every_current_state_event_is_back_filled_and_other_events_have_none()
    {
        var keys = new Dictionary<string, string?>();
        await using (var connection = new NpgsqlConnection(app.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT event_id, state_key FROM processed_events WHERE txn_id = 'up-1'", connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                keys[reader.GetString(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
            }
        }

        Assert.Equal("", keys["$up-create"]);
        Assert.Equal("", keys["$up-join-rules"]);
        Assert.Equal("", keys["$up-name-2"]);
        Assert.Equal("", keys["$up-topic"]);
        Assert.Equal("@alice:test", keys["$up-alice"]);
        Assert.Equal("@bob:test", keys["$up-bob"]);
        Assert.Equal("", keys["$up-pending-create"]);
        Assert.Null(keys["$up-name-1"]); // replaced before the upgrade: no longer anything a redaction can change
        Assert.Null(keys["$up-message"]);
        Assert.Null(keys["$up-pending-redaction"]);

        // The other tables kept their rows.
        Assert.False(keys.ContainsKey("$up-avatar"));
        Assert.Equal(1, await app.ScalarAsync("SELECT count(*) FROM txn_ledger WHERE txn_id = 'up-1' AND new_event_count = 10"));
        Assert.Equal(1, await app.ScalarAsync("SELECT count(*) FROM rejected_events WHERE event_id = '$up-rejected'"));
        Assert.Equal(1, await app.ScalarAsync("SELECT count(*) FROM jobs WHERE dedup_key = 'resync:!upgrade:test' AND outcome = 'done'"));
        Assert.Equal(2, await app.ScalarAsync("SELECT count(*) FROM change_log WHERE room_id = '!upgrade:test' AND cause = 'event'"));

        // The schema the hot path relies on: no index on room_state.event_id, room for HOT updates.
        Assert.Equal(0, await app.ScalarAsync("SELECT count(*) FROM pg_indexes WHERE tablename = 'room_state' AND indexdef LIKE '%(event_id)%'"));
        Assert.Equal(3, await app.ScalarAsync(
            "SELECT count(*) FROM pg_class WHERE relname IN ('rooms', 'room_members', 'room_state') AND reloptions @> ARRAY['fillfactor=85']"));

        // The change log's room index has no user column (ChangeLogRoomIndex), built over the rows written before.
        Assert.Equal(1, await app.ScalarAsync(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'change_log' AND indexname = 'ix_change_log_room' AND indexdef LIKE '%(room_id, xid, \"position\")'"));
        Assert.Equal(0, await app.ScalarAsync("SELECT count(*) FROM pg_indexes WHERE tablename = 'change_log' AND indexdef LIKE '%user_id%'"));
    }

    [Fact]
    public async Task A_membership_history_written_before_the_upgrade_reads_the_same_after_it()
    {
        // Bob's row was logged by the previous release; the history now reads it through the room index. It reads below
        // the feed's watermark: a transaction left open anywhere on the cluster (another test class's, e.g. the retention
        // test that holds a writer open) holds it back for a moment, so wait for the row rather than read once.
        var deadline = DateTimeOffset.UtcNow + Changes.FeedFollower.Patience;
        IReadOnlyList<AppService.Admin.MemberHistoryEntry> changes;
        while (!(changes = (await app.Admin().GetFromJsonAsync<AppService.Admin.MemberHistoryResponse>(
                   $"/admin/v1/rooms/{Uri.EscapeDataString(Room)}/members/{Uri.EscapeDataString("@bob:test")}/history"))!.Changes)
                   .Any(c => c.EventId == "$up-bob") && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        // (Another test of this class redacts $up-bob, which logs a second row for that event, caused by the redaction.)
        var bob = Assert.Single(changes, c => c.EventId == "$up-bob" && c.Cause == "event");
        Assert.Equal(("join", "Bob", "event"), (bob.Membership, bob.DisplayName, bob.Cause));
        Assert.DoesNotContain(changes, c => c.EventId == "$up-alice");
    }

    [Fact]
    public async Task A_redaction_of_state_stored_before_the_upgrade_still_redacts_it()
    {
        await app.PushOkAsync("upgrade-redact-1", Redaction(Room, "$up-topic"), Redaction(Room, "$up-bob", Bob));

        var room = (await app.RoomAsync(Room))!;
        Assert.Null(room.Topic);
        var bob = (await app.MemberAsync(Room, Bob))!;
        Assert.Equal(("join", (string?)null, (string?)null), (bob.Membership, bob.DisplayName, bob.AvatarUrl));
    }

    [Fact]
    public async Task A_redaction_of_state_that_was_never_recorded_as_processed_still_redacts_it()
    {
        // $up-avatar came from a resync of a release that did not record snapshot events: no processed row.
        await app.PushOkAsync("upgrade-redact-2", Redaction(Room, "$up-avatar"));

        Assert.Null((await app.RoomAsync(Room))!.AvatarUrl);
        Assert.Equal(0, await app.ScalarAsync("SELECT count(*) FROM pending_redactions WHERE target_event_id = '$up-avatar'"));
    }

    [Fact]
    public async Task A_redaction_of_a_member_event_that_was_never_recorded_as_processed_still_redacts_its_member_row()
    {
        // $up-carol came from a resync of a release that did not record snapshot events: no processed row, and after the
        // upgrade no room_state row either; the redaction finds it among the room's member rows.
        await app.PushOkAsync("upgrade-redact-3", Redaction(Room, "$up-carol"));

        var carol = (await app.MemberAsync(Room, "@carol:test"))!;
        Assert.Equal(("invite", (string?)null, "$up-carol"), (carol.Membership, carol.DisplayName, carol.EventId));
        Assert.Equal(0, await app.ScalarAsync("SELECT count(*) FROM pending_redactions WHERE target_event_id = '$up-carol'"));
    }

    [Fact]
    public async Task A_member_event_after_the_upgrade_is_compared_with_the_stored_member_row()
    {
        // Carol's stored row names $up-carol: an event naming another one is stale (not applied, the room is suspect).
        // The room's resync cannot reach a homeserver here and changes nothing.
        await app.PushOkAsync("upgrade-member-1",
            Next(Room, "m.room.member", "@carol:test", new JsonObject { ["membership"] = "leave" }, "$up-carol-other", "$up-carol-stale", "@carol:test"));

        Assert.Equal("invite", (await app.MemberAsync(Room, "@carol:test"))!.Membership);
        Assert.True((await app.RoomAsync(Room))!.Suspect);
        Assert.Equal(0, await app.ScalarAsync("SELECT count(*) FROM room_state WHERE event_type = 'm.room.member'"));
    }

    [Fact]
    public async Task New_state_after_the_upgrade_replaces_the_stored_state_and_can_be_redacted()
    {
        var name = Next(Room, "m.room.name", "", new JsonObject { ["name"] = "After" }, "$up-name-2", "$up-name-3");
        await app.PushOkAsync("upgrade-state-1", name);
        Assert.Equal("After", (await app.RoomAsync(Room))!.Name);
        Assert.Equal("", await app.QueryAsync<string>("SELECT state_key FROM processed_events WHERE event_id = '$up-name-3'"));

        await app.PushOkAsync("upgrade-state-2", Redaction(Room, "$up-name-3"));
        Assert.Null((await app.RoomAsync(Room))!.Name);
    }

    [Fact]
    public async Task A_redaction_waiting_since_before_the_upgrade_applies_when_its_target_arrives()
    {
        string room = PreviousReleaseApplication.PendingRoom;
        var topic = Next(room, "m.room.topic", "", new JsonObject { ["topic"] = "Redacted on arrival" }, null, "$up-pending-topic");
        await app.PushOkAsync("upgrade-pending-1", topic);

        Assert.Null((await app.RoomAsync(room))!.Topic);
        Assert.Equal(0, await app.ScalarAsync("SELECT count(*) FROM pending_redactions WHERE target_event_id = '$up-pending-topic'"));
    }
}
