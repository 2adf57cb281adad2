using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppService.Admin;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>
/// The service with AppService:HomeserverUrl pointing at a <see cref="StubHomeserver"/>, and the job and client
/// timings shortened so retries happen in milliseconds. The tests check the race rule at its exact boundary (events
/// pushed before the fetch are replaced by the snapshot, events pushed during it are kept), which the processing
/// order in the database decides.
/// </summary>
public class BotLifecycleApplication : AppServiceApplication
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    public StubHomeserver Stub { get; } = new(AsToken);

    protected virtual IEnumerable<KeyValuePair<string, string?>> DriftSettings => [new("AppService:DriftCheck:Enabled", "false")];

    protected virtual string PollInterval => "00:00:00.200";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("AppService:HomeserverUrl", Stub.Url.ToString()),
        new("AppService:Jobs:PollInterval", PollInterval),
        new("AppService:Jobs:RetryBaseDelay", "00:00:00.100"),
        new("AppService:Jobs:MaxRetryDelay", "00:00:01"),
        // Longer than any hold a test keeps on a stub request (StubHomeserver.Hold holds the first attempt only: an
        // attempt cut by its timeout would be retried unheld, and the job finish before the test's step). Below 15 s, so
        // the circuit's sampling window stays at its 30 s floor (HomeserverResilience).
        new("AppService:HomeserverClient:AttemptTimeout", "00:00:14"),
        new("AppService:HomeserverClient:TotalTimeout", "00:00:30"),
        new("AppService:HomeserverClient:RetryDelay", "00:00:00.050"),
        new("AppService:HomeserverClient:BreakDuration", "00:00:00.500"),
        .. DriftSettings,
    ];

    /// <summary>
    /// The last hook the base fixture runs before it builds the host: the stub must listen (and know its port)
    /// before the service reads AppService:HomeserverUrl.
    /// </summary>
    protected override async Task<string> CreateDatabaseAsync(PostgresServer postgres)
    {
        await Stub.StartAsync();
        return await base.CreateDatabaseAsync(postgres);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Stub.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    public static string NewTxnId() => "bot-" + Guid.NewGuid().ToString("N");

    public Task PushOkAsync(params JsonObject[] events) => PushOkAsync(NewTxnId(), events);

    public async Task<IReadOnlyList<JobResponse>> JobsAsync(string roomId, string state = "all") =>
        (await Admin().GetFromJsonAsync<JobsResponse>($"/admin/v1/jobs?state={state}&room_id={Uri.EscapeDataString(roomId)}"))!.Jobs;

    /// <summary>Waits until the room has a job of <paramref name="kind"/> the predicate accepts (newest first), and returns it.</summary>
    public async Task<JobResponse> WaitForJobAsync(string roomId, string kind, Func<JobResponse, bool> done, string what)
    {
        JobResponse? found = null;
        IReadOnlyList<JobResponse> seen = [];
        await EventuallyAsync(
            async () => (found = (seen = await JobsAsync(roomId)).FirstOrDefault(j => j.Kind == kind && done(j))) is not null,
            what,
            () => $"Jobs of {roomId}, newest first:\n" + string.Join("\n", seen.Take(20).Select(j =>
                $"  {j.Id} {j.Kind} {j.Reason} {j.Outcome ?? "open"} attempts {j.Attempts} run after {j.RunAfter:O} {j.Detail} {j.LastError}")));
        return found!;
    }

    public Task<JobResponse> WaitForCompletedAsync(string roomId, string kind, long? after = null) =>
        WaitForJobAsync(roomId, kind, j => j.CompletedAt is not null && j.Outcome == "done" && j.Id > (after ?? 0), $"a completed {kind} job for {roomId}");

    /// <summary>Awaits <paramref name="task"/>; fails naming <paramref name="what"/> if it has not completed within <see cref="Patience"/>.</summary>
    public static async Task WithinPatienceAsync(Task task, string what)
    {
        if (await Task.WhenAny(task, Task.Delay(Patience)) != task)
        {
            Assert.Fail($"Timed out after {Patience.TotalSeconds} s waiting for {what}.");
        }

        await task;
    }

    /// <param name="state">What the failure message shows besides the recent logs (a room's jobs, say).</param>
    public async Task EventuallyAsync(Func<Task<bool>> condition, string what, Func<string>? state = null)
    {
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                var jobs = string.Join("\n", Logs.Lines.Where(l => l.Contains("AppService.Homeserver", StringComparison.Ordinal)).TakeLast(20));
                Assert.Fail($"Timed out waiting for {what}.\n{state?.Invoke()}\nRecent homeserver-work logs:\n{jobs}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Gives the stub a room (create, name, the given members, the bot joined), pushes the bot's invite and join as
    /// Synapse would, and waits for the first resync. Returns the stub's state events by type/state_key.
    /// </summary>
    public async Task<Dictionary<string, JsonObject>> JoinedAndSyncedRoomAsync(string roomId, params JsonObject[] otherState)
    {
        var create = State(roomId, "m.room.create", new JsonObject { ["room_version"] = "11" });
        var name = State(roomId, "m.room.name", new JsonObject { ["name"] = "Synced name" });
        var alice = Member(roomId, Alice, "join", displayname: "Alice");
        var invite = BotEvents.Invite(roomId);
        var join = Member(roomId, BotUserId, "join");
        Stub.SetState(roomId, [create, name, alice, join, .. otherState]);

        await PushOkAsync(invite);
        await WaitForCompletedAsync(roomId, "join");
        await PushOkAsync(join);
        await WaitForCompletedAsync(roomId, "resync");
        return new[] { create, name, alice, join }.Concat(otherState)
            .ToDictionary(e => $"{e["type"]}|{e["state_key"]}", e => e);
    }
}

/// <summary>The bot-lifecycle fixture with the periodic drift check on, sampling every few hundred milliseconds.</summary>
public sealed class DriftCheckApplication : BotLifecycleApplication
{
    protected override IEnumerable<KeyValuePair<string, string?>> DriftSettings =>
    [
        new("AppService:DriftCheck:Enabled", "true"),
        new("AppService:DriftCheck:Interval", "00:00:00.300"),
        new("AppService:DriftCheck:SampleSize", "50"),
    ];

    /// <summary>
    /// Waits until nothing queued so far can still act on the room, and returns the drift check that proves it: one
    /// queued after this call that found nothing, with no resync of the room open afterwards. A room has at most one
    /// open drift check (its dedup key) and a completed one is never reopened, so every check that can see a change made
    /// after this returns has a larger id than the one returned. A check already in flight when a test changes the
    /// homeserver would otherwise find the change under an id the test took before it (and its resync repair the room
    /// before any later check looks), and a resync in flight would repair it unseen. For a joined room whose state the
    /// stub agrees with and whose resyncs end (else no check is clean, or a resync stays open, and this times out).
    /// </summary>
    public async Task<JobResponse> QuietAsync(string roomId)
    {
        long last = (await JobsAsync(roomId)).Select(j => j.Id).DefaultIfEmpty(0).Max();
        var clean = await WaitForJobAsync(roomId, "drift_check", j => j.Id > last && j.Outcome == "done", $"a drift check of {roomId} after job {last} that finds nothing");
        await EventuallyAsync(async () => (await JobsAsync(roomId, "open")).All(j => j.Kind != "resync"), $"no open resync of {roomId}");
        return clean;
    }
}

/// <summary>
/// The bot-lifecycle fixture with an idle worker that polls only every ten minutes: far longer than <see cref="Patience"/>,
/// so a job that completes within it was started by a wake-up (the ingest's signal, its own retry time), never by a poll.
/// </summary>
public sealed class SlowPollApplication : BotLifecycleApplication
{
    protected override string PollInterval => "00:10:00"; // the longest AppService:Jobs:PollInterval allows
}

/// <summary>Events of the bot's lifecycle, built like <see cref="Events"/>.</summary>
public static class BotEvents
{
    /// <summary>The bot's invite with stripped state in <c>unsigned.invite_room_state</c>, as Synapse pushes it.</summary>
    public static JsonObject Invite(string roomId, params JsonObject[] strippedState)
    {
        var invite = Member(roomId, AppServiceApplication.BotUserId, "invite", sender: Alice);
        invite["unsigned"]!["invite_room_state"] = new JsonArray(strippedState.Select(s => (JsonNode)s).ToArray());
        return invite;
    }

    public static JsonObject Stripped(string type, JsonObject content, string stateKey = "") => new()
    {
        ["type"] = type,
        ["state_key"] = stateKey,
        ["sender"] = Alice,
        ["content"] = content,
    };

    /// <summary>A redaction; <c>redacts</c> at the top level and in content, as Synapse writes both.</summary>
    public static JsonObject Redaction(string roomId, string redacts, string sender = Alice) => new()
    {
        ["event_id"] = NewEventId(),
        ["room_id"] = roomId,
        ["type"] = "m.room.redaction",
        ["sender"] = sender,
        ["redacts"] = redacts,
        ["content"] = new JsonObject { ["redacts"] = redacts, ["reason"] = "test" },
    };

    /// <summary>Sets <c>unsigned.replaces_state</c> (the builder names the previously built event of the key by default).</summary>
    public static JsonObject Replacing(this JsonObject stateEvent, string replacesState)
    {
        if (stateEvent["unsigned"] is JsonObject unsigned)
        {
            unsigned["replaces_state"] = replacesState;
        }
        else
        {
            stateEvent["unsigned"] = new JsonObject { ["replaces_state"] = replacesState };
        }

        return stateEvent;
    }

    /// <summary>Removes <c>unsigned.replaces_state</c>: the first event of a key as the homeserver sends it.</summary>
    public static JsonObject FirstOfItsKey(this JsonObject stateEvent)
    {
        (stateEvent["unsigned"] as JsonObject)?.Remove("replaces_state");
        return stateEvent;
    }
}
