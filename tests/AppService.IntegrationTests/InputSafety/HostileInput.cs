using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppService.IntegrationTests.Infrastructure;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.InputSafety;

/// <summary>
/// The reproducers of issue 8, by topic, against the contract agreed for the fix: a body that is UTF-8 JSON with an
/// <c>events</c> array within the size limit is answered 200 <c>{}</c> (valid events applied, the others quarantined
/// in rejected_events in the same commit) or 503 while the database is unavailable; never 500, never 400 because of
/// one event. Ids and keys holding U+0000 or a lone surrogate make their event rejected; display values are stored
/// with U+0000 removed and lone surrogates replaced by U+FFFD; content nested deeper than 1024 levels is rejected;
/// rejected events keep a reason_code and their raw JSON as text. Bodies are sent as exact bytes over real Kestrel.
/// This base holds the one set of helpers every topic uses.
/// </summary>
public abstract class HostileInput(AppServiceApplication app)
{
    /// <summary>Marks where <see cref="Splice"/> puts the escape <c>\u0000</c>, which JSON writers never produce.</summary>
    protected const string Nul = "@@NUL@@";

    /// <summary>Marks where <see cref="Splice"/> puts the lone-surrogate escape <c>\ud800</c>.</summary>
    protected const string Lone = "@@LONE@@";

    protected AppServiceApplication App => app;

    /// <summary>Replaces the markers in serialized JSON with the escapes they stand for.</summary>
    protected static string Splice(string json) => json
        .Replace(Nul, "\\u0000", StringComparison.Ordinal)
        .Replace(Lone, "\\ud800", StringComparison.Ordinal);

    /// <summary>A body of these events, the markers spliced in.</summary>
    protected static string BodyOf(params JsonObject[] events) => Splice(AppServiceApplication.BodyJson(events));

    protected static string NewTxn() => "hostile-" + Guid.NewGuid().ToString("N");

    /// <summary>A good event for the same room, as raw JSON: must be applied whatever its neighbour holds.</summary>
    protected static (string Id, string Json) Neighbour(string room)
    {
        string id = NewEventId();
        return (id, RawEvents.Event(id, room, "m.room.member", "@neighbour:test", "{\"membership\":\"join\",\"displayname\":\"Good\"}", "@neighbour:test"));
    }

    protected Task<(HttpStatusCode Status, string Text)> PutAsync(string txnId, string json) => app.PutRawAsync(txnId, json);

    protected Task<(HttpStatusCode Status, string Text)> PutAsync(string txnId, byte[] body) => app.PutRawAsync(txnId, body);

    /// <summary>Sends the body and asserts the exact success answer: 200 with the body <c>{}</c>.</summary>
    protected async Task PutOkAsync(string txnId, string json)
    {
        var (status, text) = await app.PutRawAsync(txnId, json);
        Assert.True((status, text) == (HttpStatusCode.OK, "{}"), $"txn {txnId}: {(int)status} {text}");
    }

    protected static string ErrCode(string text) =>
        JsonDocument.Parse(text).RootElement.TryGetProperty("errcode", out var e) ? e.GetString()! : "(no errcode) " + text;

    protected Task<bool> ProcessedAsync(string eventId) => app.IsProcessedAsync(eventId);

    protected Task<bool> RejectedAsync(string eventId) => app.IsRejectedAsync(eventId);

    protected async Task AssertAppliedAsync(string eventId)
    {
        Assert.True(await app.IsProcessedAsync(eventId), $"{eventId} is not in processed_events");
        Assert.False(await app.IsRejectedAsync(eventId), $"{eventId} is in rejected_events");
    }

    protected async Task AssertRejectedAsync(string eventId)
    {
        Assert.True(await app.IsRejectedAsync(eventId), $"{eventId} is not in rejected_events");
        Assert.False(await app.IsProcessedAsync(eventId), $"{eventId} is in processed_events");
    }

    protected Task<long> RejectedInTxnAsync(string txnId) => app.QueryAsync<long>("SELECT count(*) FROM rejected_events WHERE txn_id = $1", txnId);

    protected Task<string?> ReasonCodeAsync(string eventId) => app.QueryAsync<string>("SELECT reason_code FROM rejected_events WHERE event_id = $1", eventId);

    protected Task<string?> DisplaynameAsync(string room, string user) =>
        app.QueryAsync<string>("SELECT displayname FROM room_members WHERE room_id = $1 AND user_id = $2", room, user);

    /// <summary>Makes the projection of one member event fail inside PostgreSQL, as a poisoned event would.</summary>
    protected Task PoisonMemberWriteAsync(string eventId) => app.ExecuteSqlAsync($"""
        CREATE OR REPLACE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.event_id = '{eventId}' THEN RAISE EXCEPTION 'poisoned projection'; END IF;
            RETURN NEW;
        END $$;
        DROP TRIGGER IF EXISTS poison ON room_members;
        CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON room_members FOR EACH ROW EXECUTE FUNCTION poison();
        """);

    protected static bool HasLoneSurrogate(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return true;
            }
        }

        return false;
    }
}
