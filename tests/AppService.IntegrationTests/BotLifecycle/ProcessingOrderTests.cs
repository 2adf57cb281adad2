using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using static AppService.IntegrationTests.BotLifecycle.StubHomeserver;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>Rule 3: the resync race rule is decided by processing order in the database, not by a replica's clock.</summary>
public sealed class ProcessingOrderTests(ProcessingOrderTests.SteppedClockApplication app) : IClassFixture<ProcessingOrderTests.SteppedClockApplication>
{
    /// <summary>A clock that an NTP step (or another replica's skew) can move while the service runs.</summary>
    public sealed class SteppableClock : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
    }

    public sealed class SteppedClockApplication : BotLifecycleApplication
    {
        public SteppableClock Clock { get; } = new();

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(Clock));
        }
    }

    [Fact]
    public async Task An_event_pushed_during_the_fetch_survives_the_snapshot_though_the_clock_stepped_back()
    {
        string room = NewRoomId();
        await app.JoinedAndSyncedRoomAsync(room);

        var held = app.Stub.Hold("GET", RoomPath(room, "members"));
        using (await app.Admin().PostAsync($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/resync", null))
        {
        }

        await held.Reached.WaitAsync(BotLifecycleApplication.Patience);

        // The clock steps back 10 s (or: this event reached a replica whose clock is 10 s behind the resync's).
        // By time, the event looks older than the snapshot; by processing order it is newer, and it is.
        app.Clock.Offset = TimeSpan.FromSeconds(-10);
        try
        {
            await app.PushOkAsync(State(room, "m.room.name", new JsonObject { ["name"] = "Pushed during the fetch" }));
        }
        finally
        {
            app.Clock.Offset = TimeSpan.Zero;
        }

        held.Release();
        await app.WaitForJobAsync(room, "resync", j => j.Reason == "admin" && j.Outcome == "done", "the admin resync");

        Assert.Equal("Pushed during the fetch", (await app.RoomAsync(room))!.Name);
    }
}
