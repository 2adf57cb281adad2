using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using AppService.IntegrationTests.Operations;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Transactions;

/// <summary>
/// The mismatch path as the benchmark's stale room drives it: 53 state events per transaction, each naming a
/// replaces_state we do not hold. One log line per room and transaction, every event counted in the metric.
/// </summary>
[Collection(ProcessWideMetrics.Name)] // the mismatch counter is process-wide: counted exactly only when alone
public sealed class StateMismatchTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>
{
    [Fact]
    public async Task Fifty_three_mismatching_state_events_in_one_transaction_log_one_line_for_their_room_and_count_53()
    {
        string room = NewRoomId();
        var users = Enumerable.Range(0, 51).Select(i => $"@user{i}:test").ToList();
        JsonObject[] StateOf(string? replaces) =>
        [
            .. users.Select(u => Replacing(Member(room, u, "join"), replaces)),
            Replacing(State(room, "m.room.name", new JsonObject { ["name"] = "Name" }), replaces),
            Replacing(State(room, "m.room.topic", new JsonObject { ["topic"] = "Topic" }), replaces),
        ];
        await app.PushOkAsync("mismatch-held", StateOf(replaces: null)); // every key now held
        var client = app.CreateClient();
        var before = await Scrape.TakeAsync(client);

        await app.PushOkAsync("mismatch-1", StateOf("$an-event-we-never-saw"));

        var lines = app.Logs.Lines.Where(l => l.Contains($"Room {room} is", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines);
        Assert.StartsWith("Warning", line, StringComparison.Ordinal);
        Assert.Contains($"Room {room} is suspect: 53 state events in transaction mismatch-1", line, StringComparison.Ordinal);
        var after = await Scrape.TakeAsync(client);
        Assert.Equal(53, after.Growth(before, "appservice_state_mismatches_total"));
        Assert.True((await app.RoomAsync(room))!.Suspect);

        // Still stale in the next transaction: again one line, now saying the room already was suspect.
        await app.PushOkAsync("mismatch-2", StateOf("$another-event-we-never-saw"));

        lines = app.Logs.Lines.Where(l => l.Contains($"Room {room} is", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.StartsWith("Warning", lines[1], StringComparison.Ordinal);
        Assert.Contains($"Room {room} is still suspect: 53 state events in transaction mismatch-2", lines[1], StringComparison.Ordinal);
    }

    private static JsonObject Replacing(JsonObject stateEvent, string? replacesState)
    {
        if (replacesState is not null)
        {
            stateEvent["unsigned"] = new JsonObject { ["replaces_state"] = replacesState };
        }

        return stateEvent;
    }
}
