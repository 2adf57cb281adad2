using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

/// <summary>
/// Issue 16 point 7a: an invite's stripped state is written by the inviter and never verified, so it must never grant
/// power. A room-v12 create in it naming the inviter as creator must not let the inviter redact anyone's state.
/// </summary>
public sealed class StrippedStatePowerTests : IDisposable
{
    private const string Evil = "@evil:evil.test";

    private readonly Events _events = new();

    public void Dispose() => _events.Dispose();

    private static RoomInfo V12(string? source, string? powerLevels = null) =>
        new(Room) { RoomVersion = "12", Creator = Evil, Creators = [Evil], PowerLevels = powerLevels, StateSource = source };

    [Fact]
    public void Creators_seeded_from_stripped_state_do_not_count_for_redactions() =>
        Assert.Equal(RedactionVerdict.Undecided, RedactionAuth.Decide(V12(StateSources.Stripped), "$r", Evil, "$name", Alice));

    [Fact]
    public void With_power_levels_known_a_stripped_creator_has_only_its_level()
    {
        string levels = PowerLevels.None.ToJson();

        Assert.Equal(RedactionVerdict.Refused, RedactionAuth.Decide(V12(StateSources.Stripped, levels), "$r", Evil, "$name", Alice));
        Assert.Equal(RedactionVerdict.Allowed, RedactionAuth.Decide(V12(StateSources.Homeserver, levels), "$r", Evil, "$name", Alice));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(StateSources.Homeserver)]
    public void Creators_from_a_pushed_create_or_a_resync_keep_their_power(string? source) =>
        Assert.Equal(RedactionVerdict.Allowed, RedactionAuth.Decide(V12(source), "$r", Evil, "$name", Alice));

    [Fact]
    public void An_inviter_who_claims_to_be_the_v12_creator_cannot_redact_the_rooms_name()
    {
        var batch = new ProjectionBatch(Bot, Now);
        var invite = _events.Member(Bot, Memberships.Invite, sender: Evil, unsigned: new JsonObject
        {
            ["invite_room_state"] = new JsonArray(
                new JsonObject { ["type"] = EventTypes.Create, ["state_key"] = "", ["sender"] = Evil, ["content"] = new JsonObject { ["room_version"] = "12" } }),
        });
        batch.Apply(invite);
        batch.Apply(_events.State(EventTypes.Name, new JsonObject { ["name"] = "Alice's room" }, eventId: "$name"));
        Assert.Equal([Evil], batch.Room(Room)!.Creators!); // still shown as the stripped state says, marked unverified

        batch.Apply(_events.Parse(new JsonObject
        {
            ["event_id"] = "$redact", ["room_id"] = Room, ["type"] = EventTypes.Redaction, ["sender"] = Evil,
            ["redacts"] = "$name", ["content"] = new JsonObject { ["redacts"] = "$name" },
        }.ToJsonString()));

        Assert.Equal("Alice's room", batch.Room(Room)!.Name);
        Assert.Empty(batch.Redactions);
        Assert.Equal(RedactionVerdict.Undecided, Assert.Single(batch.UnappliedRedactions).Verdict);
    }
}
