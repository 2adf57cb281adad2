using System.Text.Json.Nodes;
using AppService.IntegrationTests.BotLifecycle;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.ExactState;

/// <summary>
/// Issue 16 point 3 (soft-failed events are recorded, never applied) and point 6 (a redaction that arrives before its
/// target is applied when the target arrives), through HTTP on real PostgreSQL.
/// </summary>
public sealed class SoftFailedAndEarlyRedactionTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    private static JsonObject SoftFailed(JsonObject e, string flag = "io.element.synapse.soft_failed")
    {
        var unsigned = e["unsigned"] as JsonObject ?? [];
        unsigned[flag] = true;
        e["unsigned"] = unsigned;
        return e;
    }

    [Fact]
    public async Task A_soft_failed_rename_and_a_soft_failed_ban_change_nothing_and_are_recorded_as_processed()
    {
        string room = NewRoomId();
        var name = State(room, "m.room.name", new JsonObject { ["name"] = "Real name" });
        var alice = Member(room, Alice, "join", displayname: "Alice");
        await app.PushOkAsync(Guid.NewGuid().ToString("N"), name, alice);

        var spamName = SoftFailed(State(room, "m.room.name", new JsonObject { ["name"] = "SPAM" }, sender: "@banned:evil.test").Replacing(name.Id()));
        var spamBan = SoftFailed(Member(room, Alice, "ban", sender: "@banned:evil.test").Replacing(alice.Id()), "io.element.synapse.policy_server_spammy");
        await app.PushOkAsync(Guid.NewGuid().ToString("N"), spamName, spamBan);

        var info = (await app.RoomAsync(room))!;
        Assert.Equal(("Real name", false), (info.Name, info.Suspect));
        Assert.Equal("join", (await app.MemberAsync(room, Alice))!.Membership);
        Assert.Equal(2, await app.ScalarAsync(
            $"SELECT count(*) FROM processed_events WHERE event_id IN ('{spamName.Id()}', '{spamBan.Id()}')"));
        Assert.Equal(1, await app.ScalarAsync(
            $"SELECT count(*) FROM room_state WHERE room_id = '{room}' AND event_type = 'm.room.name' AND event_id = '{name.Id()}'"));

        // The next real rename follows the event we hold (the soft-failed one never became state).
        var rename = State(room, "m.room.name", new JsonObject { ["name"] = "Renamed" }).Replacing(name.Id());
        await app.PushOkAsync(Guid.NewGuid().ToString("N"), rename);
        info = (await app.RoomAsync(room))!;
        Assert.Equal(("Renamed", false), (info.Name, info.Suspect));
    }

    [Fact]
    public async Task A_redaction_that_arrives_before_its_target_is_applied_when_the_target_arrives()
    {
        string room = NewRoomId();
        await app.PushOkAsync(Guid.NewGuid().ToString("N"), State(room, "m.room.create", new JsonObject { ["room_version"] = "11" }, sender: Alice));
        var topic = State(room, "m.room.topic", new JsonObject { ["topic"] = "to be redacted" });
        var redaction = BotEvents.Redaction(room, topic.Id());

        await app.PushOkAsync(Guid.NewGuid().ToString("N"), redaction);
        Assert.Equal(1, await app.ScalarAsync($"SELECT count(*) FROM pending_redactions WHERE target_event_id = '{topic.Id()}'"));

        await app.PushOkAsync(Guid.NewGuid().ToString("N"), topic);

        Assert.Null((await app.RoomAsync(room))!.Topic);
        Assert.Equal(0, await app.ScalarAsync($"SELECT count(*) FROM pending_redactions WHERE target_event_id = '{topic.Id()}'"));
    }

    [Fact]
    public async Task A_redaction_before_its_target_in_the_same_transaction_is_applied_and_not_remembered()
    {
        string room = NewRoomId();
        var alice = Member(room, Alice, "join", displayname: "Alice");
        var profile = Member(room, Alice, "join", displayname: "Rude name").Replacing(alice.Id());
        var redaction = BotEvents.Redaction(room, profile.Id(), sender: Alice);

        await app.PushOkAsync(Guid.NewGuid().ToString("N"), alice, redaction, profile);

        var member = (await app.MemberAsync(room, Alice))!;
        Assert.Equal(("join", (string?)null), (member.Membership, member.DisplayName));
        Assert.Equal(0, await app.ScalarAsync($"SELECT count(*) FROM pending_redactions WHERE room_id = '{room}'"));
    }

    [Fact]
    public async Task A_redaction_of_a_message_we_processed_is_not_remembered()
    {
        string room = NewRoomId();
        var message = Message(room, Alice, "hello");
        await app.PushOkAsync(Guid.NewGuid().ToString("N"), message);
        await app.PushOkAsync(Guid.NewGuid().ToString("N"), BotEvents.Redaction(room, message.Id()));
        Assert.Equal(0, await app.ScalarAsync($"SELECT count(*) FROM pending_redactions WHERE room_id = '{room}'"));
    }

    [Fact]
    public async Task An_early_redaction_by_a_powerless_user_of_another_server_is_still_refused_when_its_target_arrives()
    {
        string room = NewRoomId();
        await app.PushOkAsync(Guid.NewGuid().ToString("N"),
            State(room, "m.room.create", new JsonObject { ["room_version"] = "11" }, sender: Alice),
            State(room, "m.room.power_levels", new JsonObject { ["users"] = new JsonObject { [Alice] = 100 }, ["redact"] = 50 }, sender: Alice));
        var topic = State(room, "m.room.topic", new JsonObject { ["topic"] = "keep me" });
        await app.PushOkAsync(Guid.NewGuid().ToString("N"), BotEvents.Redaction(room, topic.Id(), sender: "@mallory:elsewhere.test"));

        await app.PushOkAsync(Guid.NewGuid().ToString("N"), topic);

        Assert.Equal("keep me", (await app.RoomAsync(room))!.Topic);
    }
}
