using AppService.Observability;
using static AppService.Observability.StartupSelfCheck;

namespace AppService.Tests.Observability;

public sealed class StartupSelfCheckTests
{
    [Theory]
    [InlineData(200, null, true, nameof(PingOutcome.Ok))]
    [InlineData(200, null, false, nameof(PingOutcome.AnsweredElsewhere))]
    [InlineData(400, "M_URL_NOT_SET", false, nameof(PingOutcome.HomeserverCannotReachUs))]
    [InlineData(502, "M_BAD_STATUS", false, nameof(PingOutcome.HomeserverCannotReachUs))]
    [InlineData(502, "M_CONNECTION_FAILED", false, nameof(PingOutcome.HomeserverCannotReachUs))]
    [InlineData(504, "M_CONNECTION_TIMEOUT", false, nameof(PingOutcome.HomeserverCannotReachUs))]
    [InlineData(403, "M_FORBIDDEN", false, nameof(PingOutcome.Refused))]
    [InlineData(401, "M_UNKNOWN_TOKEN", false, nameof(PingOutcome.Refused))]
    [InlineData(404, "M_UNRECOGNIZED", false, nameof(PingOutcome.Unsupported))]
    [InlineData(404, null, false, nameof(PingOutcome.Unsupported))]
    [InlineData(405, "M_UNRECOGNIZED", false, nameof(PingOutcome.Unsupported))]
    [InlineData(502, null, false, nameof(PingOutcome.Unreachable))]
    [InlineData(503, null, false, nameof(PingOutcome.Unreachable))]
    [InlineData(500, "M_UNKNOWN", false, nameof(PingOutcome.Unexpected))]
    [InlineData(429, "M_LIMIT_EXCEEDED", false, nameof(PingOutcome.Unexpected))]
    public void A_ping_answer_is_read_as_the_spec_defines_it(int status, string? errCode, bool reachedUs, string expected)
    {
        Assert.Equal(expected, Classify(new PingAnswer(status, errCode, null, null), reachedUs).ToString());
    }

    [Fact]
    public void No_http_answer_at_all_means_the_homeserver_is_unreachable()
    {
        Assert.Equal(PingOutcome.Unreachable, Classify(new PingAnswer(null, null, null, "Connection refused"), pingReachedUs: false));
    }

    [Fact]
    public void The_ping_recorder_remembers_recent_ids_only()
    {
        var recorder = new PingRecorder();
        recorder.Record("first");
        for (int i = 0; i < 100; i++)
        {
            recorder.Record($"id-{i}");
        }

        Assert.True(recorder.Saw("id-99"));
        Assert.False(recorder.Saw("first"));
        Assert.False(recorder.Saw("never"));
    }
}
