using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

/// <summary>Who may redact current state (spec rooms v1 rule 11; v3+ "Redactions"; v12 creators), as a pure function.</summary>
public sealed class RedactionAuthTests : IDisposable
{
    private const string Remote = "@mallory:evil.test";
    private const string RemoteMod = "@mod:other.test";

    private readonly Events _events = new();

    public void Dispose() => _events.Dispose();

    private static string Levels(JsonObject content)
    {
        using var document = JsonDocument.Parse(content.ToJsonString());
        return PowerLevels.FromContent(document.RootElement).ToJson();
    }

    private static RoomInfo RoomOf(string version, string? powerLevels, string[]? creators = null) =>
        new(Room) { RoomVersion = version, Creator = Alice, Creators = creators ?? [Alice], PowerLevels = powerLevels };

    private static readonly string ModsAt50 = Levels(new JsonObject
    {
        ["users"] = new JsonObject { [Alice] = 100, [RemoteMod] = 50, [Remote] = 0 },
    });

    [Theory]
    [InlineData("3")]
    [InlineData("11")]
    [InlineData("12")]
    public void A_powerless_user_on_another_server_may_not_redact_a_local_users_state(string version) =>
        Assert.Equal(RedactionVerdict.Refused, RedactionAuth.Decide(RoomOf(version, ModsAt50), "$r", Remote, "$name", Alice));

    [Theory]
    [InlineData("3")]
    [InlineData("11")]
    [InlineData("12")]
    public void A_user_on_the_target_senders_server_may_redact_whatever_their_power(string version) =>
        Assert.Equal(RedactionVerdict.Allowed, RedactionAuth.Decide(RoomOf(version, ModsAt50), "$r", Carol, "$name", Alice));

    [Theory]
    [InlineData("1")]
    [InlineData("3")]
    [InlineData("11")]
    [InlineData("12")]
    public void A_remote_user_at_the_redact_level_may_redact(string version) =>
        Assert.Equal(RedactionVerdict.Allowed, RedactionAuth.Decide(RoomOf(version, ModsAt50), "$r:other.test", RemoteMod, "$name:hs.test", Alice));

    [Fact]
    public void The_redact_level_is_read_from_the_power_levels_with_50_as_default()
    {
        string redactAt60 = Levels(new JsonObject { ["redact"] = 60, ["users"] = new JsonObject { [RemoteMod] = 50 } });
        Assert.Equal(RedactionVerdict.Refused, RedactionAuth.Decide(RoomOf("11", redactAt60), "$r", RemoteMod, "$name", Alice));

        string everyoneRedacts = Levels(new JsonObject { ["users_default"] = 50 });
        Assert.Equal(RedactionVerdict.Allowed, RedactionAuth.Decide(RoomOf("11", everyoneRedacts), "$r", Remote, "$name", Alice));

        string stringLevels = Levels(new JsonObject { ["redact"] = "10", ["users"] = new JsonObject { [Remote] = "10" } });
        Assert.Equal(RedactionVerdict.Allowed, RedactionAuth.Decide(RoomOf("3", stringLevels), "$r", Remote, "$name", Alice));
    }

    [Fact]
    public void In_room_v1_the_event_id_domains_decide_not_the_senders()
    {
        // v1/v2 compare the domain of the redaction's event id with the redacted event's (authorisation rule 11).
        var room = RoomOf("1", ModsAt50);
        Assert.Equal(RedactionVerdict.Allowed, RedactionAuth.Decide(room, "$r:hs.test", Remote, "$name:hs.test", Alice));
        Assert.Equal(RedactionVerdict.Refused, RedactionAuth.Decide(room, "$r:evil.test", Remote, "$name:hs.test", Alice));
        Assert.Equal(RedactionVerdict.Refused, RedactionAuth.Decide(room, "$r:evil.test", Carol, "$name:hs.test", Alice));
    }

    [Fact]
    public void In_room_v12_every_creator_has_infinite_power_but_not_in_v11()
    {
        string creatorsNotListed = Levels(new JsonObject { ["users_default"] = 0 });
        string[] creators = [Alice, "@cocreator:other.test"];

        Assert.Equal(RedactionVerdict.Allowed,
            RedactionAuth.Decide(RoomOf("12", creatorsNotListed, creators), "$r", "@cocreator:other.test", "$name", Remote));
        Assert.Equal(RedactionVerdict.Refused,
            RedactionAuth.Decide(RoomOf("11", creatorsNotListed, creators), "$r", "@cocreator:other.test", "$name", Remote));
    }

    [Fact]
    public void Without_a_power_levels_event_only_the_creator_has_power()
    {
        string none = PowerLevels.None.ToJson();
        Assert.Equal(RedactionVerdict.Allowed, RedactionAuth.Decide(RoomOf("11", none), "$r", Alice, "$name", Remote));
        Assert.Equal(RedactionVerdict.Refused, RedactionAuth.Decide(RoomOf("11", none), "$r", Carol, "$name", Remote));
    }

    [Fact]
    public void Unknown_power_levels_or_an_unknown_target_sender_leave_a_remote_redaction_undecided()
    {
        Assert.Equal(RedactionVerdict.Undecided, RedactionAuth.Decide(RoomOf("11", null), "$r", Remote, "$name", Alice));
        Assert.Equal(RedactionVerdict.Undecided, RedactionAuth.Decide(RoomOf("11", ModsAt50), "$r", Remote, "$name", null));
        Assert.Equal(RedactionVerdict.Allowed, RedactionAuth.Decide(RoomOf("11", null), "$r", Carol, "$name", Alice));
    }

    [Theory]
    [InlineData("org.matrix.hydra.11")]
    [InlineData("13")]
    [InlineData("012")]
    [InlineData(null)]
    public void An_unknown_room_version_does_not_get_v12_creator_power(string? version)
    {
        var room = new RoomInfo(Room) { RoomVersion = version, Creators = [Remote], PowerLevels = Levels([]) };
        Assert.Equal(RedactionVerdict.Refused, RedactionAuth.Decide(room, "$r", Remote, "$name", Alice));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("3")]
    [InlineData("11")]
    [InlineData("12")]
    public void A_powerless_remote_redaction_of_the_room_name_changes_nothing_and_is_counted(string version)
    {
        var batch = new ProjectionBatch(Bot, Now);
        batch.LoadRoom(RoomOf(version, ModsAt50) with { Name = "Kept", UpdatedAt = Earlier });
        batch.LoadState(Room, EventTypes.Name, "", "$name:hs.test", Alice);

        batch.Apply(_events.Parse($$$"""
            {"event_id":"$r:evil.test","room_id":"{{{Room}}}","type":"m.room.redaction","sender":"{{{Remote}}}","redacts":"$name:hs.test","content":{"redacts":"$name:hs.test"}}
            """));

        Assert.Equal("Kept", batch.Room(Room)!.Name);
        Assert.Empty(batch.DirtyRooms);
        Assert.Empty(batch.Redactions);
        var refused = Assert.Single(batch.UnappliedRedactions);
        Assert.Equal((RedactionVerdict.Refused, "$name:hs.test", Remote), (refused.Verdict, refused.TargetEventId, refused.Redacter));
        Assert.Empty(batch.Jobs);
    }

    [Fact]
    public void A_powerless_remote_redaction_of_a_members_profile_changes_nothing()
    {
        var batch = new ProjectionBatch(Bot, Now);
        batch.LoadRoom(RoomOf("11", ModsAt50));
        batch.LoadMember(Row(Bob, Memberships.Join, "$bob", displayname: "Bob"));

        batch.Apply(_events.Parse($$$"""
            {"event_id":"$r","room_id":"{{{Room}}}","type":"m.room.redaction","sender":"{{{Remote}}}","content":{"redacts":"$bob"}}
            """));

        Assert.Equal("Bob", batch.Member(Room, Bob)!.DisplayName);
        Assert.Empty(batch.DirtyMembers);
        Assert.Single(batch.UnappliedRedactions);
    }

    [Fact]
    public void Power_given_earlier_in_the_same_transaction_counts()
    {
        var batch = new ProjectionBatch(Bot, Now);
        batch.LoadRoom(RoomOf("11", ModsAt50) with { Topic = "t" });
        batch.LoadState(Room, EventTypes.Topic, "", "$topic", Alice);

        batch.Apply(_events.State(EventTypes.PowerLevels, new JsonObject { ["users"] = new JsonObject { [Alice] = 100, [Remote] = 50 } }));
        batch.Apply(_events.Parse($$$"""
            {"event_id":"$r","room_id":"{{{Room}}}","type":"m.room.redaction","sender":"{{{Remote}}}","content":{"redacts":"$topic"}}
            """));

        Assert.Null(batch.Room(Room)!.Topic);
        Assert.Empty(batch.UnappliedRedactions);
    }

    [Fact]
    public void An_undecided_redaction_changes_nothing_and_queues_a_resync()
    {
        var batch = new ProjectionBatch(Bot, Now);
        batch.LoadRoom(RoomOf("11", powerLevels: null) with { Name = "Kept" });
        batch.LoadState(Room, EventTypes.Name, "", "$name", Alice);

        batch.Apply(_events.Parse($$$"""
            {"event_id":"$r","room_id":"{{{Room}}}","type":"m.room.redaction","sender":"{{{Remote}}}","content":{"redacts":"$name"}}
            """));

        Assert.Equal("Kept", batch.Room(Room)!.Name);
        Assert.Equal(RedactionVerdict.Undecided, Assert.Single(batch.UnappliedRedactions).Verdict);
        var job = Assert.Single(batch.Jobs);
        Assert.Equal((JobKinds.Resync, JobReasons.RedactionUndecided), (job.Kind, job.Reason));
    }

    [Fact]
    public void Power_levels_are_projected_and_their_absence_in_a_snapshot_is_known()
    {
        var room = RoomInfoProjector.Apply(new RoomInfo(Room), _events.State(EventTypes.PowerLevels,
            new JsonObject { ["redact"] = 75, ["users"] = new JsonObject { [Alice] = 100, [Bob] = 0 } }), Now);
        var levels = PowerLevels.FromJson(room.PowerLevels)!;
        Assert.Equal((75L, 0L, 100L, 0L, false), (levels.Redact, levels.UsersDefault, levels.LevelOf(Alice, null), levels.LevelOf(Bob, null), levels.Absent));

        var absent = PowerLevels.FromJson(RoomInfoProjector.Absent(room, EventTypes.PowerLevels, Now).PowerLevels)!;
        Assert.True(absent.Absent);
        Assert.Equal(100L, absent.LevelOf(Alice, creator: Alice));
    }

    [Theory]
    [InlineData("12", new[] { Alice, "@co:other.test" })]
    [InlineData("11", new[] { Alice })]
    [InlineData("org.matrix.hydra.11", new[] { Alice })]
    public void Room_v12_additional_creators_are_creators_and_other_versions_have_one(string version, string[] expected)
    {
        var create = _events.State(EventTypes.Create,
            new JsonObject { ["room_version"] = version, ["additional_creators"] = new JsonArray("@co:other.test", Alice) }, sender: Alice);

        Assert.Equal(expected, RoomInfoProjector.Apply(new RoomInfo(Room), create, Now).Creators);
    }

    [Fact]
    public void Stripped_state_never_seeds_power_levels()
    {
        var batch = new ProjectionBatch(Bot, Now, autoJoin: false);
        batch.Apply(_events.BotInvite([Stripped(EventTypes.PowerLevels, new JsonObject { ["users"] = new JsonObject { [Remote] = 100 } })]));

        Assert.Null(batch.Room(Room)!.PowerLevels);
    }
}
