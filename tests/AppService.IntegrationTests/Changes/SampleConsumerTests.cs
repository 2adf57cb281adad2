using AppService.IntegrationTests.Infrastructure;
using ChangeFeedConsumer;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Changes;

/// <summary>
/// The consumer sample (samples/ChangeFeedConsumer) against the service: one line per change, and stopped and started
/// again from its cursor file, every change printed exactly once.
/// </summary>
[Collection(ChangeFeedAlone.Name)]
public sealed class SampleConsumerTests(AppServiceApplication app) : IClassFixture<AppServiceApplication>, IDisposable
{
    private readonly string _cursor = Path.Combine(Path.GetTempPath(), $"feed-cursor-{Guid.NewGuid():N}");

    public void Dispose() => File.Delete(_cursor);

    [Fact]
    public async Task The_sample_prints_each_change_once_across_restarts_from_its_cursor_file()
    {
        string room = NewRoomId();
        await app.PushOkAsync("sample-1", Member(room, Alice, "join"), Member(room, Bob, "invite", sender: Alice));
        await app.PushOkAsync("sample-2", Member(room, Bob, "join", displayname: "Bob"));

        // First run: stops after two changes (a crash, a deploy).
        var output = new StringWriter();
        var first = await new FeedConsumer(Http(), _cursor, output).RunAsync(maxChanges: 2, timeoutMs: 0, stopWhenIdle: true, CancellationToken.None);
        Assert.Equal(FeedConsumer.Outcome.Count, first);

        // Started again: goes on from the file, then more happens and a third run picks that up.
        await RunUntilAsync(output, $"{Bob} joined {room}");
        await app.PushOkAsync("sample-3", Member(room, Alice, "leave"), Member(room, Bob, "join", displayname: "Bobby"));
        await RunUntilAsync(output, $"{Bob} changed their profile in {room}");

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(
            [$"{Alice} joined {room}", $"{Bob} was invited to {room}", $"{Bob} joined {room}", $"{Alice} left {room}", $"{Bob} changed their profile in {room}"],
            lines.Where(l => l.StartsWith('@')).ToArray());

        // One line per change row: nothing repeated across the restarts, nothing missed (room changes included).
        Assert.Equal(await app.ScalarAsync("SELECT count(*) FROM change_log"), lines.Length);
    }

    private async Task RunUntilAsync(StringWriter output, string line)
    {
        var deadline = DateTimeOffset.UtcNow + FeedFollower.Patience;
        while (!output.ToString().Contains(line, StringComparison.Ordinal))
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"the sample never printed '{line}'; it printed:\n{output}");
            await new FeedConsumer(Http(), _cursor, output).RunAsync(maxChanges: null, timeoutMs: 200, stopWhenIdle: true, CancellationToken.None);
        }
    }

    private HttpClient Http()
    {
        var client = app.Admin();
        client.BaseAddress = new Uri(client.BaseAddress!, "/");
        return client;
    }
}
