using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.BotLifecycle;

/// <summary>
/// Two in-process replicas on one database, each with its own job worker and a skewed clock (+5 s and -5 s),
/// receiving interleaved transactions for the same rooms while resyncs run against the stub homeserver. The final
/// projection must be what one replica makes of it: the homeserver's state.
/// </summary>
public sealed class TwoReplicaTests(TwoReplicaTests.ReplicaA a) : IClassFixture<TwoReplicaTests.ReplicaA>
{
    private sealed class SkewedClock(TimeSpan offset) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
    }

    /// <summary>The first replica: creates the database and the stub homeserver; its clock is 5 s ahead.</summary>
    public sealed class ReplicaA : BotLifecycleApplication
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(new SkewedClock(TimeSpan.FromSeconds(5))));
        }
    }

    /// <summary>The second replica: the same database and homeserver as <paramref name="first"/>; its clock is 5 s behind.</summary>
    private sealed class ReplicaB(ReplicaA first) : BotLifecycleApplication
    {
        protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
            [.. base.Settings, new("AppService:HomeserverUrl", first.Stub.Url.ToString())];

        protected override async Task<string> CreateDatabaseAsync(PostgresServer postgres)
        {
            await Stub.StartAsync(); // unused: this replica talks to the first replica's stub
            return first.ConnectionString;
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(new SkewedClock(TimeSpan.FromSeconds(-5))));
        }
    }

    [Fact]
    public async Task Interleaved_transactions_and_resyncs_on_two_skewed_replicas_end_in_the_homeservers_state()
    {
        string[] rooms = [NewRoomId(), NewRoomId(), NewRoomId()];
        foreach (string room in rooms)
        {
            await a.JoinedAndSyncedRoomAsync(room);
        }

        var b = new ReplicaB(a);
        await ((IAsyncLifetime)b).InitializeAsync();
        try
        {
            AppServiceApplication[] replicas = [a, b];
            for (int round = 0; round < 6; round++)
            {
                var replica = replicas[round % 2];
                foreach (string room in rooms)
                {
                    // The homeserver persists each event before it pushes it; the stub's state is its state.
                    var name = State(room, "m.room.name", new JsonObject { ["name"] = $"Name {round}" });
                    var member = Member(room, $"@u{round % 3}:test", round % 2 == 0 ? "join" : "leave", displayname: $"U {round}");
                    var carol = Member(room, Carol, "join", displayname: $"Carol {round}");
                    a.Stub.SetState(room, name, member, carol);
                    await replica.PushOkAsync(BotLifecycleApplication.NewTxnId(), name, member, carol);

                    if (round % 2 == 1)
                    {
                        // Resyncs asked on the other replica, racing the pushes on this one.
                        using var _ = await replicas[(round + 1) % 2].Admin().PostAsync($"/admin/v1/rooms/{Uri.EscapeDataString(room)}/resync", null);
                    }
                }
            }

            await a.EventuallyAsync(
                async () => await a.ScalarAsync("SELECT count(*) FROM jobs WHERE completed_at IS NULL") == 0,
                "every job to finish on one replica or the other");

            foreach (string room in rooms)
            {
                var info = (await a.RoomAsync(room))!;
                Assert.Equal(("Name 5", false), (info.Name, info.Suspect));
                Assert.Equal(
                    [
                        (Alice, "join", "Alice"), (AppServiceApplication.BotUserId, "join", null), (Carol, "join", "Carol 5"),
                        ("@u0:test", "leave", "U 3"), ("@u1:test", "join", "U 4"), ("@u2:test", "leave", "U 5"),
                    ],
                    (await b.MembersAsync(room)).Select(m => (m.UserId, m.Membership, m.DisplayName)).OrderBy(m => m.UserId, StringComparer.Ordinal));
            }
        }
        finally
        {
            await b.DisposeAsync();
        }
    }
}
