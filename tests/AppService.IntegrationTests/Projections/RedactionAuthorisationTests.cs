using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Projections;

/// <summary>Redactions of current state through the ingest: applied only as the homeserver applies them.</summary>
public sealed class RedactionAuthorisationTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    private const string Remote = "@mallory:evil.test";
    private const string RemoteMod = "@mod:other.test";

    private static JsonObject Redaction(string roomId, string sender, string redacts) => new()
    {
        ["event_id"] = NewEventId(),
        ["room_id"] = roomId,
        ["type"] = "m.room.redaction",
        ["sender"] = sender,
        ["redacts"] = redacts,
        ["content"] = new JsonObject { ["redacts"] = redacts },
    };

    [Fact]
    public async Task A_powerless_remote_redaction_of_the_name_changes_nothing_and_a_moderators_does()
    {
        string room = NewRoomId();
        var name = State(room, "m.room.name", new JsonObject { ["name"] = "Kept" });
        var topic = State(room, "m.room.topic", new JsonObject { ["topic"] = "Goes" });
        await app.PushOkAsync(
            "redact-auth-1",
            State(room, "m.room.create", new JsonObject { ["room_version"] = "11" }),
            State(room, "m.room.power_levels", new JsonObject { ["users"] = new JsonObject { [Alice] = 100, [RemoteMod] = 50 } }),
            name,
            topic);

        // Separate transactions: the targets are found through room_state (with its sender) and the power levels
        // through the room row, both read in the ingest's first batch.
        await app.PushOkAsync("redact-auth-2", Redaction(room, Remote, name.Id()));
        await app.PushOkAsync("redact-auth-3", Redaction(room, RemoteMod, topic.Id()));

        var r = await app.RoomAsync(room);
        Assert.Equal(("Kept", (string?)null), (r!.Name, r.Topic));
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM room_state WHERE room_id = '{room}' AND event_type = 'm.room.name' AND sender = '{Alice}'"));
        Assert.Contains(app.Logs.Lines, l => l.Contains("not applied: Refused", StringComparison.Ordinal) && l.Contains(name.Id(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_powerless_redaction_of_a_member_event_pushed_without_a_sender_is_left_to_the_resync()
    {
        // A member event without a sender is accepted (sender is optional to us) and stored with ''. Its sender is not
        // known, so the domain rule cannot decide a powerless remote redaction of it: undecided (the resync decides),
        // never refused. It was so while member ids lived in room_state (sender NULL), and stays so from room_members.
        string room = NewRoomId();
        var member = Member(room, Bob, "join", displayname: "Bobby");
        member.Remove("sender");
        await app.PushOkAsync(
            "redact-auth-nosender-1",
            State(room, "m.room.create", new JsonObject { ["room_version"] = "11" }),
            State(room, "m.room.power_levels", new JsonObject { ["users"] = new JsonObject { [Alice] = 100 } }),
            member);

        await app.PushOkAsync("redact-auth-nosender-2", Redaction(room, Remote, member.Id()));

        Assert.Equal("Bobby", (await app.MemberAsync(room, Bob))!.DisplayName);
        Assert.Contains(app.Logs.Lines, l => l.Contains("not applied: Undecided", StringComparison.Ordinal) && l.Contains(member.Id(), StringComparison.Ordinal));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("not applied: Refused", StringComparison.Ordinal) && l.Contains(member.Id(), StringComparison.Ordinal));
    }
}
