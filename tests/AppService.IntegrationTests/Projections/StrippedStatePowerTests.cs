using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Projections;

/// <summary>
/// Issue 16 point 7a, over HTTP on real PostgreSQL: an invite's stripped state is the inviter's word, never verified.
/// An inviter claiming in it to be the creator of a room v12 (infinite power) must not be able to redact others' state
/// before the resync has read the real create event.
/// </summary>
public sealed class StrippedStatePowerTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    private const string Evil = "@evil:evil.test";

    [Fact]
    public async Task An_inviter_claiming_v12_creatorship_in_stripped_state_cannot_redact_the_rooms_name()
    {
        string room = NewRoomId();
        var invite = Member(room, AppServiceApplication.BotUserId, "invite", sender: Evil);
        invite["unsigned"] = new JsonObject
        {
            ["invite_room_state"] = new JsonArray(
                new JsonObject { ["type"] = "m.room.create", ["state_key"] = "", ["sender"] = Evil, ["content"] = new JsonObject { ["room_version"] = "12" } }),
        };
        var name = State(room, "m.room.name", new JsonObject { ["name"] = "Alice's room" });
        await app.PushOkAsync("sp-" + Guid.NewGuid().ToString("N"), invite, name);
        var seeded = (await app.RoomAsync(room))!;
        Assert.Equal(("12", "stripped"), (seeded.RoomVersion, seeded.StateSource));
        Assert.Equal([Evil], seeded.Creators); // shown as the stripped state says, marked unverified

        var redaction = new JsonObject
        {
            ["event_id"] = NewEventId(), ["room_id"] = room, ["type"] = "m.room.redaction", ["sender"] = Evil,
            ["redacts"] = name.Id(), ["content"] = new JsonObject { ["redacts"] = name.Id() },
        };
        await app.PushOkAsync("sp-" + Guid.NewGuid().ToString("N"), redaction);

        Assert.Equal("Alice's room", (await app.RoomAsync(room))!.Name);
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM jobs WHERE room_id = '{room}' AND kind = 'resync' AND completed_at IS NULL"));
    }
}
