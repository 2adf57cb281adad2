using System.Text.Json.Nodes;
using AppService.Matrix;
using AppService.Projections;
using static AppService.Tests.Projections.Events;

namespace AppService.Tests.Projections;

/// <summary>The drift check's comparison of RoomInfo's state types with the homeserver's /state.</summary>
public sealed class RoomStateDriftTests : IDisposable
{
    private const long FetchStarted = 1000;

    private readonly Events _events = new();

    public void Dispose() => _events.Dispose();

    private static readonly RoomInfo Ours = new(Room)
    {
        Name = "Name", Topic = "Topic", JoinRule = "invite", HistoryVisibility = "shared", Encryption = "m.megolm.v1.aes-sha2",
        PowerLevels = PowerLevels.None.ToJson(),
    };

    private List<MatrixEvent> Snapshot(params (string Type, JsonObject Content)[] overrides)
    {
        var state = new Dictionary<string, JsonObject>
        {
            [EventTypes.Name] = new() { ["name"] = "Name" },
            [EventTypes.Topic] = new() { ["topic"] = "Topic" },
            [EventTypes.JoinRules] = new() { ["join_rule"] = "invite" },
            [EventTypes.HistoryVisibility] = new() { ["history_visibility"] = "shared" },
            [EventTypes.Encryption] = new() { ["algorithm"] = "m.megolm.v1.aes-sha2" },
        };
        foreach (var (type, content) in overrides)
        {
            state[type] = content;
        }

        return state.Select(s => _events.State(s.Key, s.Value)).ToList();
    }

    [Fact]
    public void The_same_state_is_no_drift() =>
        Assert.Empty(Drift.CompareRoomState(Ours, Snapshot(), [], FetchStarted, Now));

    [Fact]
    public void Each_differing_type_is_named_and_absent_state_counts()
    {
        var snapshot = Snapshot((EventTypes.Name, new JsonObject { ["name"] = "Other" }), (EventTypes.Tombstone, new JsonObject { ["replacement_room"] = "!new:hs.test" }));
        snapshot.RemoveAll(e => e.Type == EventTypes.Topic);

        Assert.Equal([EventTypes.Name, EventTypes.Topic, EventTypes.Tombstone], Drift.CompareRoomState(Ours, snapshot, [], FetchStarted, Now));
    }

    [Fact]
    public void A_type_set_by_an_event_processed_after_the_fetch_started_is_not_drift()
    {
        var snapshot = Snapshot((EventTypes.Name, new JsonObject { ["name"] = "Older" }));

        Assert.Empty(Drift.CompareRoomState(Ours, snapshot, [new SeenState(EventTypes.Name, "", "$name", FetchStarted + 1)], FetchStarted, Now));
    }

    [Fact]
    public void Unknown_power_levels_are_drift_so_a_resync_fetches_them()
    {
        Assert.Equal([EventTypes.PowerLevels], Drift.CompareRoomState(Ours with { PowerLevels = null }, Snapshot(), [], FetchStarted, Now));
    }

    [Fact]
    public void A_report_with_room_state_differences_is_found_and_described()
    {
        var report = new DriftReport([], [], []) { StateDiffers = [EventTypes.Name] };
        Assert.True(report.Found);
        Assert.EndsWith("room state differs: m.room.name", report.Describe(), StringComparison.Ordinal);
    }
}
