using System.Net;
using System.Net.Http.Headers;
using AppService.Homeserver;

namespace AppService.Tests.Homeserver;

public sealed class MatrixApiExceptionTests
{
    private static readonly DateTimeOffset Now = new(2026, 7, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_matrix_error_body_becomes_a_typed_error()
    {
        var e = MatrixApiException.FromResponse(403, """{"errcode":"M_FORBIDDEN","error":"You are not invited to this room."}""", null, Now);

        Assert.Equal((403, "M_FORBIDDEN", "You are not invited to this room.", (TimeSpan?)null), (e.StatusCode, e.ErrCode, e.Error, e.RetryAfter));
        Assert.True(e.IsPermanent);
        Assert.Equal("403 M_FORBIDDEN: You are not invited to this room.", e.Message);
    }

    [Fact]
    public void Retry_after_ms_in_the_body_is_the_wait_of_a_429()
    {
        var e = MatrixApiException.FromResponse(429, """{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":2500}""", null, Now);

        Assert.Equal(("M_LIMIT_EXCEEDED", TimeSpan.FromMilliseconds(2500)), (e.ErrCode, e.RetryAfter));
        Assert.False(e.IsPermanent);
    }

    [Fact]
    public void The_retry_after_header_wins_over_the_body()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(7));

        var e = MatrixApiException.FromResponse(429, """{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":100}""", response.Headers, Now);

        Assert.Equal(TimeSpan.FromSeconds(7), e.RetryAfter);
    }

    [Fact]
    public void A_retry_after_date_is_the_time_left_until_then()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(Now.AddSeconds(30));

        Assert.Equal(TimeSpan.FromSeconds(30), MatrixApiException.RetryAfterOf(response.Headers, null, Now));
        Assert.Equal(TimeSpan.Zero, MatrixApiException.RetryAfterOf(response.Headers, null, Now.AddMinutes(1)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("<html>Bad gateway</html>")]
    [InlineData("[1,2]")]
    public void A_body_that_is_not_a_matrix_error_is_M_UNKNOWN(string? body)
    {
        var e = MatrixApiException.FromResponse(502, body, null, Now);

        Assert.Equal(("M_UNKNOWN", "HTTP 502", (TimeSpan?)null), (e.ErrCode, e.Error, e.RetryAfter));
        Assert.False(e.IsPermanent);
    }

    [Theory]
    [InlineData(400, "M_UNKNOWN", true)]
    [InlineData(401, "M_UNKNOWN_TOKEN", true)]
    [InlineData(403, "M_FORBIDDEN", true)]
    [InlineData(404, "M_NOT_FOUND", true)]
    [InlineData(408, "M_UNKNOWN", false)]
    [InlineData(429, "M_LIMIT_EXCEEDED", false)]
    [InlineData(400, "M_LIMIT_EXCEEDED", false)]
    [InlineData(500, "M_UNKNOWN", false)]
    [InlineData(503, "M_UNKNOWN", false)]
    [InlineData(200, "M_NOT_JSON", false)]
    public void Only_refusals_are_permanent(int status, string errCode, bool permanent) =>
        Assert.Equal(permanent, new MatrixApiException(status, errCode, "x", null).IsPermanent);

    [Fact]
    public void A_long_error_text_is_cut()
    {
        var e = MatrixApiException.FromResponse(500, $$"""{"errcode":"M_UNKNOWN","error":"{{new string('x', 1000)}}"}""", null, Now);

        Assert.Equal(201, e.Error.Length);
    }
}
