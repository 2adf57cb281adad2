using System.Text.Json.Nodes;
using AppService.IntegrationTests.BotLifecycle;
using AppService.IntegrationTests.Infrastructure;
using Npgsql;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Changes;

/// <summary>
/// The guarantee as a property: whatever the interleaving of 4 concurrent ingests over two replicas (joins, leaves,
/// bans, profile changes, room names, redactions, the bot leaving (a purge) and coming back (a resync)), a consumer
/// that follows next_batch on either replica sees every change row exactly once, in the log's order, and its fold of
/// the feed is the projection.
/// </summary>
[Collection(ChangeFeedAlone.Name)]
public sealed class ChangeFeedPropertyTests(ChangeFeedPropertyTests.ReplicaA a) : IClassFixture<ChangeFeedPropertyTests.ReplicaA>
{
    public sealed class ReplicaA : BotLifecycleApplication;

    private static readonly string[] Memberships = ["join", "join", "leave", "invite", "ban"];

    /// <summary>A second service on the first one's database and homeserver stub.</summary>
    private sealed class ReplicaB(ReplicaA first) : BotLifecycleApplication
    {
        protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
            [.. base.Settings, new("AppService:HomeserverUrl", first.Stub.Url.ToString())];

        protected override async Task<string> CreateDatabaseAsync(PostgresServer postgres)
        {
            await Stub.StartAsync(); // unused: this replica talks to the first replica's stub
            return first.ConnectionString;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Following_the_feed_over_random_concurrent_ingests_on_two_replicas_folds_to_the_projection_change_for_change(int seed)
    {
        var random = new Random(seed);
        string[] rooms = [NewRoomId(), NewRoomId(), NewRoomId()];
        foreach (string room in rooms)
        {
            await a.JoinedAndSyncedRoomAsync(room);
        }

        var sent = new List<string>[rooms.Length];
        for (int r = 0; r < rooms.Length; r++)
        {
            sent[r] = [];
        }

        var b = new ReplicaB(a);
        await ((IAsyncLifetime)b).InitializeAsync();
        try
        {
            AppServiceApplication[] replicas = [a, b];
            var follower = new FeedFollower();
            using var stop = new CancellationTokenSource();
            var following = Task.Run(async () =>
            {
                int i = 0;
                while (!stop.IsCancellationRequested)
                {
                    await follower.PollAsync(replicas[i++ % 2].Admin(), timeoutMs: 200, limit: 1 + (i % 7));
                }
            });

            // Every transaction is planned up front (same seed, same transactions); the interleaving is the machine's.
            string[] users = ["@u0:test", "@u1:test", "@u2:test", "@u3:test", Alice, Bob];

            var senders = Enumerable.Range(0, 4).Select(s =>
            {
                var plan = new List<(int Replica, JsonObject[] Events)>();
                var rng = new Random(seed * 100 + s);
                for (int t = 0; t < 12; t++)
                {
                    var events = new List<JsonObject>();
                    for (int k = rng.Next(1, 4); k > 0; k--)
                    {
                        int r = rng.Next(rooms.Length);
                        string room = rooms[r];
                        int pick = rng.Next(100);
                        JsonObject e = pick switch
                        {
                            < 50 => Member(room, users[rng.Next(users.Length)], Memberships[rng.Next(Memberships.Length)],
                                displayname: rng.Next(3) == 0 ? null : $"N{rng.Next(5)}", avatarUrl: rng.Next(4) == 0 ? $"mxc://test/{rng.Next(3)}" : null),
                            < 65 => State(room, "m.room.name", new JsonObject { ["name"] = $"Room {rng.Next(4)}" }),
                            < 75 => State(room, "m.room.topic", new JsonObject { ["topic"] = $"Topic {rng.Next(4)}" }),
                            < 88 => RedactionOfSent(room, r),
                            < 94 => Member(room, AppServiceApplication.BotUserId, "leave", sender: Alice),
                            _ => Member(room, AppServiceApplication.BotUserId, "join"),
                        };
                        if (e["type"]!.GetValue<string>() == "m.room.member")
                        {
                            lock (sent)
                            {
                                sent[r].Add(e.Id());
                            }
                        }

                        events.Add(e);
                    }

                    plan.Add((rng.Next(2), [.. events]));
                }

                return Task.Run(async () =>
                {
                    foreach (var (replica, events) in plan)
                    {
                        await replicas[replica].PushOkAsync("prop-" + Guid.NewGuid().ToString("N"), events);
                    }
                });
            }).ToList();
            await Task.WhenAll(senders);

            await a.EventuallyAsync(
                async () => await a.ScalarAsync("SELECT count(*) FROM jobs WHERE completed_at IS NULL") == 0,
                "every job (resyncs after the bot came back) to finish");

            // The follower read during the writes; it stops here, and the test's own thread catches it up (reading its
            // fold while its task still wrote it could throw, and stopping it at the first fold that looks right could
            // leave rows unread whose changes cancel out).
            await stop.CancelAsync();
            await following;

            var (members, roomRows) = await FeedFollower.ProjectionAsync(a.ConnectionString);
            var deadline = DateTimeOffset.UtcNow + FeedFollower.Patience;
            int poll = 0;
            while (follower.MembersText() != FeedFollower.Text(members) || follower.RoomsText() != FeedFollower.Text(roomRows))
            {
                Assert.True(
                    DateTimeOffset.UtcNow < deadline,
                    $"The fold of the feed is not the projection.\nFold members:\n{follower.MembersText()}\nProjection members:\n{FeedFollower.Text(members)}\n"
                    + $"Fold rooms:\n{follower.RoomsText()}\nProjection rooms:\n{FeedFollower.Text(roomRows)}");
                await follower.PollAsync(replicas[poll++ % 2].Admin(), timeoutMs: 200, limit: 100);
            }

            // Then to the end of the log: the comparison below is row for row.
            while (DateTimeOffset.UtcNow < deadline && await follower.PollAsync(a.Admin(), limit: 1000) > 0)
            {
            }

            // Change for change: what the consumer saw is every row of the log, once, in the log's order.
            var logged = new List<string>();
            await using (var connection = new NpgsqlConnection(a.ConnectionString))
            {
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT xid::text || '_' || position FROM change_log ORDER BY xid, position", connection);
                await using var r = await command.ExecuteReaderAsync();
                while (await r.ReadAsync())
                {
                    logged.Add(r.GetString(0));
                }
            }

            Assert.Equal(logged, follower.Seen.Select(c => c.Position).ToList());
            Assert.Contains(follower.Seen, c => c.Cause == "purge");
            Assert.Contains(follower.Seen, c => c.Cause == "resync");
        }
        finally
        {
            await b.DisposeAsync();
        }

        JsonObject RedactionOfSent(string room, int r)
        {
            lock (sent)
            {
                return sent[r].Count == 0
                    ? Message(room, Alice, "nothing to redact yet")
                    : BotEvents.Redaction(room, sent[r][random.Next(sent[r].Count)]);
            }
        }
    }
}
