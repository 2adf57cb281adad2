using System.Globalization;
using System.Net.Http.Headers;
using FsCheck;
using FsCheck.Fluent;
using Xunit.Abstractions;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>
/// Knobs of the fuzz gate, from the environment:
/// <c>APPSERVICE_FUZZ_BODIES</c> (default and minimum 10000) bodies over the in-process server,
/// <c>APPSERVICE_FUZZ_CHUNKED_BODIES</c> (default and minimum 200) over Kestrel with chunked transfer encoding (a value
/// under the minimum fails the gate rather than let it pass on fewer bodies), <c>APPSERVICE_FUZZ_REPLAY=seed,gamma</c> replays the
/// random part of a failed run (FsCheck prints both), <c>APPSERVICE_FUZZ_SURVEY=1</c> runs every body and counts
/// instead of stopping at the first violation (for measuring a broken build).
/// </summary>
public static class FuzzSettings
{
    public const int MinimumBodies = 10_000;

    public const int MinimumChunkedBodies = 200;

    public static int Bodies => Int("APPSERVICE_FUZZ_BODIES", MinimumBodies);

    public static int ChunkedBodies => Int("APPSERVICE_FUZZ_CHUNKED_BODIES", MinimumChunkedBodies);

    /// <summary>Bodies in flight at once (each followed by its own valid transaction).</summary>
    public static int Parallel => Math.Max(1, Int("APPSERVICE_FUZZ_PARALLEL", 4));

    public static bool Survey => Environment.GetEnvironmentVariable("APPSERVICE_FUZZ_SURVEY") == "1";

    public static Config Config(int maxTest)
    {
        var config = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(Math.Max(1, maxTest)).WithQuietOnSuccess(true);
        if (Environment.GetEnvironmentVariable("APPSERVICE_FUZZ_REPLAY") is { Length: > 0 } replay)
        {
            ulong[] parts = replay.Split(',', StringSplitOptions.TrimEntries).Select(p => ulong.Parse(p.Trim('(', ')'), CultureInfo.InvariantCulture)).ToArray();
            config = config.WithReplay(new Replay(new Rnd(parts[0], parts[1]), null));
        }

        return config;
    }

    /// <summary>Cases: a family drawn by weight and a seed that builds the body (no shrinking: a body is rebuilt from its seed).</summary>
    public static Arbitrary<FuzzCase> Cases() =>
        Arb.From(Gen.Frequency(HostileBodies.Kinds.Select(k => (k.Weight, Gen.Choose(0, int.MaxValue).Select(seed => new FuzzCase(k.Kind, seed))))));

    private static int Int(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value : fallback;

    /// <summary>
    /// Runs the fixed corpus, then FsCheck's random cases up to <paramref name="total"/> bodies, then the final check.
    /// Every violation fails the test; FsCheck's message carries the seed to replay the random part. A run asked for
    /// fewer than <paramref name="minimum"/> bodies, or that sent fewer than it was asked for, fails too.
    /// </summary>
    public static void Run(FuzzRunner runner, HostileBodies bodies, IEnumerable<Func<HostileBody>> fixedCorpus, int total, int minimum, ITestOutputHelper output)
    {
        Assert.True(total >= minimum, $"a fuzz gate of {total} bodies is not the gate: its minimum is {minimum} (raise the body count, never lower it)");
        Exception? failure = null;
        var started = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            foreach (var chunk in fixedCorpus.Chunk(Parallel))
            {
                var found = Sync(() => runner.RunAsync(chunk.Select(make => (make(), "fixed")).ToList()));
                if (found.Count > 0 && !Survey)
                {
                    throw new InvalidOperationException(runner.Violations[^1]);
                }
            }

            // One FsCheck case = Parallel bodies sent at once; the replay seed rebuilds all of them.
            int groups = (total - runner.Tried + Parallel - 1) / Parallel;
            var cases = Arb.From(Gen.ArrayOf(Cases().Generator, Parallel));
            var property = Prop.ForAll(cases, group =>
            {
                var found = Sync(() => runner.RunAsync(group.Select(c => (bodies.Build(c), c.ToString())).ToList()));
                if (found.Count > 0 && !Survey)
                {
                    throw new InvalidOperationException(string.Join("; ", found));
                }
            });
            if (groups > 0)
            {
                Check.One(Config(groups), property);
            }
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        Sync(runner.FinalCheckAsync);
        string summary = $"{runner.Summary()}elapsed {started.Elapsed.TotalSeconds:F1} s";
        output.WriteLine(summary);
        if (Environment.GetEnvironmentVariable("APPSERVICE_FUZZ_REPORT") is { Length: > 0 } path)
        {
            File.AppendAllText(path, summary + Environment.NewLine);
        }

        Assert.True(failure is null && runner.ViolationCount == 0, $"{failure?.Message}\n{summary}");
        Assert.True(runner.Tried >= total, $"only {runner.Tried} of the {total} bodies asked for were sent\n{summary}");
    }

    private static T Sync<T>(Func<Task<T>> run) => Task.Run(run).GetAwaiter().GetResult();

    private static void Sync(Func<Task> run) => Task.Run(run).GetAwaiter().GetResult();
}

/// <summary>The fuzz gate of issue 8 over the in-process server: at least 10,000 hostile bodies, sent as raw bytes.</summary>
public sealed class FuzzGateTests(FuzzApplication app, ITestOutputHelper output) : IClassFixture<FuzzApplication>
{
    [Fact]
    public void Hostile_bodies_get_the_contract_answer_never_a_5xx_and_never_stall_the_next_transaction()
    {
        var bodies = new HostileBodies(FuzzApplication.MaxTransactionBytes);
        var runner = new FuzzRunner(app.Homeserver(), app.ConnectionString, FuzzApplication.MaxTransactionBytes);
        FuzzSettings.Run(runner, bodies, bodies.FixedCorpus(), FuzzSettings.Bodies, FuzzSettings.MinimumBodies, output);
    }
}

/// <summary>A share of the same bodies over real Kestrel, sent with Transfer-Encoding: chunked in uneven chunks.</summary>
public sealed class ChunkedFuzzGateTests(KestrelFuzzApplication app, ITestOutputHelper output) : IClassFixture<KestrelFuzzApplication>
{
    [Fact]
    public void Hostile_bodies_sent_chunked_get_the_contract_answer_and_never_stall_the_next_transaction()
    {
        var bodies = new HostileBodies(FuzzApplication.MaxTransactionBytes);
        using var client = app.Homeserver();
        var runner = new FuzzRunner(client, app.ConnectionString, FuzzApplication.MaxTransactionBytes, Chunked);
        Func<HostileBody>[] corpus =
        [
            () => bodies.AtLimit(over: false), () => bodies.AtLimit(over: true), () => HostileBodies.Deep(3000, "content", new Random(1)),
            () => HostileBodies.InvalidBytes([0xED, 0xA0, 0x80], new Random(2)), () => HostileBodies.InvalidBytes([0xF0, 0x9F, 0x98], new Random(3)),
            () => HostileBodies.Valid(),
        ];
        FuzzSettings.Run(runner, bodies, corpus, FuzzSettings.ChunkedBodies, FuzzSettings.MinimumChunkedBodies, output);
    }

    /// <summary>A body of unknown length: HttpClient sends it chunked, one chunk per read, and reads are uneven.</summary>
    private static StreamContent Chunked(byte[] bytes, Random rng)
    {
        var content = new StreamContent(new UnevenStream(bytes, rng), 4096);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}

/// <summary>A forward-only stream (so its length is unknown) that answers each read with 1..n bytes.</summary>
public sealed class UnevenStream(byte[] bytes, Random rng) : Stream
{
    private int _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = Math.Min(Math.Min(count, bytes.Length - _position), 1 + rng.Next(rng.Next(2) == 0 ? 7 : 4096));
        Array.Copy(bytes, _position, buffer, offset, n);
        _position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
