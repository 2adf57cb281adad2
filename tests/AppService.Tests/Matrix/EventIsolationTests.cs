using AppService.Matrix;
using AppService.Transactions;
using Microsoft.AspNetCore.Http;
using static AppService.Tests.Matrix.Bodies;

namespace AppService.Tests.Matrix;

/// <summary>Every entry of <c>events</c> is validated alone, and nothing it holds can make the parser throw.</summary>
public sealed class EventIsolationTests : IDisposable
{
    private readonly Bodies _bodies = new();

    public void Dispose() => _bodies.Dispose();

    private const string Member = """{"event_id":"$m","room_id":"!room:hs.test","type":"m.room.member","sender":"@a:hs.test","state_key":"@a:hs.test","content":{"membership":"join"}}""";

    [Theory]
    [InlineData("5", RejectionCodes.NotObject)]
    [InlineData("\"\\ud800\"", RejectionCodes.NotObject)]
    [InlineData("""{"room_id":"!r:hs.test","type":"m.x","content":{}}""", RejectionCodes.MissingField)]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.x"}""", RejectionCodes.MissingField)]
    [InlineData("""{"event_id":5,"room_id":"!r:hs.test","type":"m.x","content":{}}""", RejectionCodes.WrongType)]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.x","content":[]}""", RejectionCodes.WrongType)]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.x","sender":1e999999,"content":{}}""", RejectionCodes.WrongType)]
    [InlineData("""{"event_id":"$e\u0000","room_id":"!r:hs.test","type":"m.x","content":{}}""", RejectionCodes.InvalidString)]
    [InlineData("""{"event_id":"$e","room_id":"!r\ud800:hs.test","type":"m.x","content":{}}""", RejectionCodes.InvalidString)]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.x\udc00","content":{}}""", RejectionCodes.InvalidString)]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.x","state_key":"\u0000","content":{}}""", RejectionCodes.InvalidString)]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.x","sender":"@\ud800:x","content":{}}""", RejectionCodes.InvalidString)]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.room.redaction","redacts":"$\ud800","content":{}}""", RejectionCodes.InvalidString)]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.room.redaction","content":{"redacts":"$\u0000"}}""", RejectionCodes.InvalidString)]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.x","unsigned":{"replaces_state":"$\ud800"},"content":{}}""", RejectionCodes.InvalidString)]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.room.member","state_key":"@a:x","content":{"membership":"jo\ud800in"}}""", RejectionCodes.InvalidString)]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.room.member","state_key":"@a:x","content":{"membership":"dance"}}""", RejectionCodes.WrongType)]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.room.member","state_key":"@a:x","content":{}}""", RejectionCodes.MissingField)]
    public void An_unusable_event_is_rejected_with_its_reason_code(string json, string code)
    {
        var (e, rejected) = _bodies.Event(json);

        Assert.Null(e);
        Assert.Equal(code, rejected!.Code);
        Assert.Equal(json, rejected.RawJson);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(json), rejected.ContentBytes);
    }

    [Theory]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.x","content":{"n":1e999999,"s":"\u0000\ud800","a":{"a":1,"a":2}}}""")]
    [InlineData("""{"event_id":"$e","event_id":"$e","room_id":"!r:hs.test","type":"m.x","content":{},"unsigned":5}""")]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.room.member","state_key":"@a:x","content":{"membership":"join","displayname":"Eve\u0000\ud800"}}""")]
    // Property names holding a lone surrogate where nothing is read (issue 16 point 4).
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.x","\ud800":1,"content":{}}""")]
    [InlineData("""{"event_id":"$e","room_id":"!r:hs.test","type":"m.x","content":{"deep":{"\udfff":1}}}""")]
    public void Content_the_projections_do_not_use_as_ids_never_rejects_an_event(string json) =>
        Assert.NotNull(_bodies.Accepted(json));

    [Fact]
    public void Nesting_up_to_1024_levels_is_accepted_and_deeper_is_rejected_as_too_deep()
    {
        // The event object is one level, "content" another: 1022 more arrays make 1024 containers.
        static string Event(int arrays) => """{"event_id":"$d","room_id":"!r:hs.test","type":"m.x","content":{"d":""" +
            new string('[', arrays) + new string(']', arrays) + "}}";

        Assert.NotNull(_bodies.Accepted(Event(EventReader.MaxEventDepth - 2)));
        var (e, rejected) = _bodies.Event(Event(EventReader.MaxEventDepth - 1));
        Assert.Null(e);
        Assert.Equal(RejectionCodes.TooDeep, rejected!.Code);

        var (_, deep) = _bodies.Event(Event(100_000));
        Assert.Equal(RejectionCodes.TooDeep, deep!.Code);
    }

    [Fact]
    public void A_rejected_event_keeps_at_most_MaxEventBytes_of_its_text_and_its_full_size()
    {
        string json = "{\"event_id\":\"$big\",\"room_id\":\"!r:hs.test\",\"type\":\"m.x\",\"content\":{\"b\":\"" + new string('\u00e9', 1000) + "\"}}";

        var (_, rejected) = _bodies.Event(json, maxEventBytes: 1025);

        Assert.Equal(RejectionCodes.TooLarge, rejected!.Code);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(rejected.RawJson) <= 1025);
        Assert.StartsWith(rejected.RawJson, json, StringComparison.Ordinal);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(json), rejected.ContentBytes);
    }

    [Fact]
    public void Top_level_keys_of_any_shape_and_bad_names_never_fail_the_body()
    {
        var tx = _bodies.Parse("""{"\ud800":1,"events":[""" + Member + """],"ephemeral":5,"de.sorunome.msc2409.ephemeral":[{"\udc00":2}],"de.sorunome.msc2409.to_device":{},"org.matrix.msc3202.device_lists":null}""");

        Assert.Single(tx.Events);
        Assert.Equal(1, tx.EphemeralCount);
        Assert.Equal(0, tx.ToDeviceCount);
        Assert.True(tx.HasDeviceData);
    }

    [Fact]
    public void A_good_event_beside_every_kind_of_bad_one_is_accepted()
    {
        var tx = _bodies.Parse("""{"events":[5,null,"x",[],{"\ud800":1},""" + Member + """,{"event_id":"$x\u0000"}]}""");

        Assert.Equal("$m", Assert.Single(tx.Events).EventId);
        Assert.Equal(6, tx.Rejected.Count);
    }

    [Theory]
    [InlineData(StatusCodes.Status413PayloadTooLarge, StatusCodes.Status413PayloadTooLarge, "M_TOO_LARGE")]
    [InlineData(StatusCodes.Status408RequestTimeout, StatusCodes.Status408RequestTimeout, "M_UNKNOWN")]
    [InlineData(StatusCodes.Status400BadRequest, StatusCodes.Status400BadRequest, "M_NOT_JSON")]
    public void Body_read_failures_of_the_server_become_matrix_errors(int serverStatus, int status, string errCode)
    {
        var failure = TransactionBody.ReadFailure(new BadHttpRequestException("bad", serverStatus), clientAborted: false);

        Assert.Equal((status, errCode), (failure!.Value.Status, failure.Value.ErrCode));
    }

    [Fact]
    public void A_client_that_went_away_is_not_our_failure_and_anything_else_is()
    {
        Assert.Equal(StatusCodes.Status499ClientClosedRequest, TransactionBody.ReadFailure(new OperationCanceledException(), clientAborted: true)!.Value.Status);
        Assert.Equal(StatusCodes.Status499ClientClosedRequest, TransactionBody.ReadFailure(new IOException("reset"), clientAborted: true)!.Value.Status);
        Assert.Null(TransactionBody.ReadFailure(new OperationCanceledException(), clientAborted: false));
        Assert.Null(TransactionBody.ReadFailure(new InvalidOperationException(), clientAborted: false));
    }
}
