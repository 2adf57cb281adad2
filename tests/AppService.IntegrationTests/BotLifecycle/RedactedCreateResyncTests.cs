using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>
/// Issue 16 point 5, through HTTP, a resync against the stub homeserver and real PostgreSQL: a room whose
/// <c>m.room.create</c> was redacted (room v1-v10 keep only <c>creator</c>) keeps the version we know, and with nothing
/// known a redacted create gives no version rather than "1" (and with it the wrong redaction rules).
/// </summary>
public sealed class RedactedCreateResyncTests(BotLifecycleApplication app) : IClassFixture<BotLifecycleApplication>
{
    private const string Bot = AppServiceApplication.BotUserId;

    /// <summary>The create as a v1-v10 homeserver serves it in /state once redacted.</summary>
    private static JsonObject Redacted(JsonObject create)
    {
        var copy = create.DeepClone().AsObject();
        copy["content"] = new JsonObject { ["creator"] = Alice };
        copy["unsigned"] = new JsonObject
        {
            ["redacted_because"] = new JsonObject
            {
                ["event_id"] = NewEventId(), ["type"] = "m.room.redaction", ["sender"] = Alice, ["redacts"] = create.Id(), ["content"] = new JsonObject(),
            },
        };
        return copy;
    }

    [Fact]
    public async Task A_resync_whose_snapshot_holds_a_redacted_create_keeps_the_rooms_version_type_and_predecessor()
    {
        string room = NewRoomId();
        var create = State(room, "m.room.create", new JsonObject
        {
            ["room_version"] = "10", ["creator"] = Alice, ["type"] = "m.space",
            ["predecessor"] = new JsonObject { ["room_id"] = "!old:test", ["event_id"] = "$tombstone" },
        });
        var join = Member(room, Bot, "join");
        await app.PushOkAsync(create);
        app.Stub.SetState(room, Redacted(create), Member(room, Alice, "join"), join);

        await app.PushOkAsync(join);
        await app.WaitForCompletedAsync(room, "resync");

        var info = (await app.RoomAsync(room))!;
        Assert.Equal(("10", "m.space", "!old:test", Alice, "homeserver"),
            (info.RoomVersion, info.RoomType, info.PredecessorRoomId, info.Creator, info.StateSource));
    }

    [Fact]
    public async Task With_nothing_known_a_resync_with_a_redacted_create_gives_no_room_version_not_version_1()
    {
        string room = NewRoomId();
        var join = Member(room, Bot, "join");
        app.Stub.SetState(room, Redacted(State(room, "m.room.create", new JsonObject { ["room_version"] = "9", ["creator"] = Alice })),
            Member(room, Alice, "join"), join);

        await app.PushOkAsync(join);
        await app.WaitForCompletedAsync(room, "resync");

        var info = (await app.RoomAsync(room))!;
        Assert.Equal(((string?)null, Alice, "homeserver"), (info.RoomVersion, info.Creator, info.StateSource));
    }
}
