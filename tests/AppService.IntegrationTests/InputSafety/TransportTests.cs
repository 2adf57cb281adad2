using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AppService.IntegrationTests.Fuzz;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.InputSafety;

/// <summary>
/// Bodies on the wire, over raw sockets to real Kestrel with a 1 MiB limit: chunked bodies are measured decoded,
/// malformed framing and stalled bodies are answered with a Matrix error.
/// </summary>
public sealed class TransportTests(KestrelFuzzApplication app) : HostileInput(app), IClassFixture<KestrelFuzzApplication>
{
    private static byte[] Head(string txnId, string framing) => Encoding.ASCII.GetBytes(
        $"PUT /_matrix/app/v1/transactions/{txnId} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {AppServiceApplication.HsToken}\r\n"
        + $"Content-Type: application/json\r\nConnection: close\r\n{framing}\r\n");

    private static byte[] Chunk(ReadOnlySpan<byte> data) =>
        [.. Encoding.ASCII.GetBytes(data.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), .. data, .. "\r\n"u8];

    private static byte[] Chunked(byte[] body, int chunkSize)
    {
        var output = new List<byte>(body.Length * 2);
        for (int i = 0; i < body.Length; i += chunkSize)
        {
            output.AddRange(Chunk(body.AsSpan(i, Math.Min(chunkSize, body.Length - i))));
        }

        output.AddRange("0\r\n\r\n"u8.ToArray());
        return [.. output];
    }

    /// <summary>Writes the request (the head, then each part after its delay), reads the answer until the server closes.</summary>
    private async Task<(int Status, string Body)> RawAsync(params (byte[] Bytes, TimeSpan Delay)[] parts)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, ((KestrelApplication)App).BaseAddress.Port);
        var stream = tcp.GetStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            foreach (var (bytes, delay) in parts)
            {
                await Task.Delay(delay, timeout.Token);
                await stream.WriteAsync(bytes, timeout.Token);
            }
        }
        catch (IOException)
        {
            // The server may answer and close before the whole request is written.
        }

        var response = new MemoryStream();
        try
        {
            await stream.CopyToAsync(response, timeout.Token);
        }
        catch (IOException)
        {
        }

        return ParseResponse(response.ToArray());
    }

    private static (int Status, string Body) ParseResponse(byte[] raw)
    {
        string text = Encoding.UTF8.GetString(raw);
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"no HTTP answer: {text}");
        string head = text[..end];
        string body = text[(end + 4)..];
        int status = int.Parse(head.Split(' ')[1], CultureInfo.InvariantCulture);
        if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            var decoded = new StringBuilder();
            int i = 0;
            while (i < body.Length)
            {
                int lineEnd = body.IndexOf("\r\n", i, StringComparison.Ordinal);
                int size = int.Parse(body[i..lineEnd], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    break;
                }

                decoded.Append(body, lineEnd + 2, size);
                i = lineEnd + 2 + size + 2;
            }

            body = decoded.ToString();
        }

        return (status, body);
    }

    [Fact]
    public async Task A_chunked_body_is_measured_on_its_decoded_bytes_not_its_framing()
    {
        string room = NewRoomId(), id = NewEventId();
        // The padding is in a top-level key nothing reads, so the event itself stays small (and applied).
        string json = "{\"com.example.pad\":\"PAD\",\"events\":[" + RawEvents.Event(id, room, "m.room.message", null, "{\"body\":\"x\"}") + "]}";
        int pad = FuzzApplication.MaxTransactionBytes - Encoding.UTF8.GetByteCount(json) + 3 - 10;
        byte[] body = Encoding.UTF8.GetBytes(json.Replace("PAD", new string('p', pad), StringComparison.Ordinal));
        Assert.Equal(FuzzApplication.MaxTransactionBytes - 10, body.Length);

        // 16-byte chunks: with framing about 1.4 MiB on the wire, 10 bytes under the limit decoded.
        var (status, text) = await RawAsync((Head(NewTxn(), "Transfer-Encoding: chunked\r\n"), TimeSpan.Zero), (Chunked(body, 16), TimeSpan.Zero));
        Assert.True(status == 200, $"{status} {text}");
        await AssertAppliedAsync(id);
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_413_M_TOO_LARGE()
    {
        string room = NewRoomId(), id = NewEventId();
        string json = RawEvents.Body(RawEvents.Event(id, room, "m.room.message", null, "{\"body\":\"PAD\"}"));
        int pad = FuzzApplication.MaxTransactionBytes - Encoding.UTF8.GetByteCount(json) + 3 + 1;
        byte[] body = Encoding.UTF8.GetBytes(json.Replace("PAD", new string('p', pad), StringComparison.Ordinal));
        Assert.Equal(FuzzApplication.MaxTransactionBytes + 1, body.Length);

        var (status, text) = await RawAsync((Head(NewTxn(), "Transfer-Encoding: chunked\r\n"), TimeSpan.Zero), (Chunked(body, 64 * 1024), TimeSpan.Zero));
        Assert.Equal((413, "M_TOO_LARGE"), (status, ErrCode(text)));
        Assert.False(await ProcessedAsync(id));
    }

    [Theory]
    [InlineData("ZZ\r\n{}\r\n0\r\n\r\n")] // not a hex size
    [InlineData("5\r\n{\"events\":[]}\r\n0\r\n\r\n")] // more data than the size says
    [InlineData("2\r\n{}XX0\r\n\r\n")] // no CRLF after the data
    [InlineData("ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n")] // a size that overflows
    public async Task Malformed_chunked_framing_is_400_with_a_matrix_error(string framing)
    {
        var (status, text) = await RawAsync((Head(NewTxn(), "Transfer-Encoding: chunked\r\n"), TimeSpan.Zero), (Encoding.ASCII.GetBytes(framing), TimeSpan.Zero));
        Assert.Equal(400, status);
        Assert.StartsWith("M_", ErrCode(text), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_stalls_past_the_body_timeout_is_408_with_a_matrix_error()
    {
        byte[] start = "{\"events\":["u8.ToArray();
        // Content-Length promises 1000 bytes; 11 come, then nothing. Kestrel's minimum data rate (2 s grace) cuts it.
        var (status, text) = await RawAsync((Head(NewTxn(), "Content-Length: 1000\r\n"), TimeSpan.Zero), (start, TimeSpan.Zero),
            ([(byte)' '], TimeSpan.FromSeconds(8)));
        Assert.Equal(408, status);
        Assert.StartsWith("M_", ErrCode(text), StringComparison.Ordinal);
    }
}
