using System.Text;
using System.Text.Json;
using AppService.Simulator.Oracle;
using AppService.Simulator.Workload;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AppService.Simulator.Tests.EndToEnd;

/// <summary>Bugs and misbehaviour the fake can be asked to have, so that the tests see the oracle catch them.</summary>
internal sealed record FakeBehaviour
{
    /// <summary>Skip a transaction whose txnId was seen before (the classic bug synapse#14556 exposes).</summary>
    public bool DeduplicateByTxnIdOnly { get; init; }

    /// <summary>Process an already processed event again (records it under the later txnId).</summary>
    public bool ReprocessDuplicates { get; init; }

    /// <summary>Lose every Nth event (0 = never).</summary>
    public int DropEveryNthEvent { get; init; }

    /// <summary>Keep the member rows when the bot leaves (forgets the purge rule).</summary>
    public bool KeepMembersWhenTheBotLeaves { get; init; }

    /// <summary>Apply every state event, whatever its replaces_state names (forgets the stale-event rule).</summary>
    public bool IgnoreReplacesState { get; init; }

    /// <summary>Answer 503 to the first attempt of every Nth txnId, without processing it (0 = never).</summary>
    public int Fail503EveryNthTransaction { get; init; }

    /// <summary>Process every Nth txnId, then hold the answer this long (the client times out and retries).</summary>
    public int SlowEveryNthTransaction { get; init; }

    public TimeSpan SlowDelay { get; init; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>Answer 503 to every transaction.</summary>
    public bool AlwaysUnavailable { get; init; }
}

/// <summary>
/// An in-process stand-in for the service's HTTP contract (transactions + admin API), with the projection rules
/// from <see cref="ExpectedProjection"/>. It lets the simulator's sender, retries, admin client and oracle be tested
/// end to end, and — with <see cref="FakeBehaviour"/> bugs — shows that the oracle notices what a broken service does.
/// </summary>
internal sealed class FakeAppService : IAsyncDisposable
{
    public const string HsToken = "hs-token-for-tests";
    public const string AdminToken = "admin-token-for-tests";

    private readonly WebApplication _app;
    private readonly FakeBehaviour _behaviour;
    private readonly object _gate = new();
    private readonly ExpectedProjection _store = new(Ev.Bot);
    private readonly Dictionary<string, (string RoomId, string TxnId)> _processed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _txnIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private int _events;

    private FakeAppService(WebApplication app, FakeBehaviour behaviour)
    {
        _app = app;
        _behaviour = behaviour;
    }

    public Uri Url { get; private set; } = null!;

    public static async Task<FakeAppService> StartAsync(FakeBehaviour behaviour)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var fake = new FakeAppService(app, behaviour);
        fake.Map();
        await app.StartAsync();
        fake.Url = new Uri(app.Urls.First() + "/");
        return fake;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private void Map()
    {
        _app.MapPut("/_matrix/app/v1/transactions/{txnId}", PutTransactionAsync);
        var admin = _app.MapGroup("/admin/v1").AddEndpointFilter(async (context, next) =>
            context.HttpContext.Request.Headers.Authorization == "Bearer " + AdminToken ? await next(context) : Results.Unauthorized());
        admin.MapGet("/stats", Stats);
        admin.MapGet("/rooms", (string? from, int? limit) => ListRooms(from, limit ?? 100));
        admin.MapGet("/rooms/{roomId}", (string roomId) => Room(Id(roomId)));
        admin.MapGet("/rooms/{roomId}/members", (string roomId, string? membership) => Members(Id(roomId), membership));
        admin.MapGet("/users/{userId}/rooms", (string userId) => UserRooms(Id(userId)));
        admin.MapGet("/events/{eventId}", (string eventId) => Event(Id(eventId)));
        admin.MapGet("/changes", (string? from) => Changes(from));
        admin.MapGet("/jobs", ([Microsoft.AspNetCore.Mvc.FromQuery(Name = "room_id")] string? roomId) => OpenJobs(roomId));
    }

    /// <summary>Kestrel decodes every escape in a path segment but %2F.</summary>
    private static string Id(string routeValue) => routeValue.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    private async Task<IResult> PutTransactionAsync(HttpContext http, string txnId)
    {
        if (http.Request.Headers.Authorization != "Bearer " + HsToken)
        {
            return Results.Json(new { errcode = "M_FORBIDDEN" }, statusCode: 403);
        }
        using var body = await JsonDocument.ParseAsync(http.Request.Body, JsonStrings.Deep);
        bool slow;
        lock (_gate)
        {
            var attempt = _attempts[txnId] = _attempts.GetValueOrDefault(txnId) + 1;
            var ordinal = _attempts.Count;
            if (_behaviour.AlwaysUnavailable || (_behaviour.Fail503EveryNthTransaction > 0 && ordinal % _behaviour.Fail503EveryNthTransaction == 0 && attempt == 1))
            {
                return Results.Json(new { errcode = "M_UNKNOWN", error = "unavailable" }, statusCode: 503);
            }
            slow = _behaviour.SlowEveryNthTransaction > 0 && ordinal % _behaviour.SlowEveryNthTransaction == 0 && attempt == 1;
            if (!(_behaviour.DeduplicateByTxnIdOnly && _txnIds.Contains(txnId)))
            {
                _txnIds.Add(txnId);
                foreach (var element in body.RootElement.GetProperty("events").EnumerateArray())
                {
                    Process(_behaviour.IgnoreReplacesState ? Following(ToSimEvent(element)) : ToSimEvent(element), txnId);
                }
            }
        }
        if (slow)
        {
            await Task.Delay(_behaviour.SlowDelay);
        }
        return Results.Json(new { });
    }

    private void Process(SimEvent e, string txnId)
    {
        if (_behaviour.DropEveryNthEvent > 0 && ++_events % _behaviour.DropEveryNthEvent == 0)
        {
            return;
        }
        Dictionary<string, MemberRow>? keep = null;
        if (_behaviour.KeepMembersWhenTheBotLeaves && e.RoomId is not null && _store.Rooms.TryGetValue(e.RoomId, out var before))
        {
            keep = new Dictionary<string, MemberRow>(before.Members);
        }
        var outcome = _store.Apply(e);
        if (outcome == ApplyOutcome.Applied || (outcome == ApplyOutcome.Duplicate && _behaviour.ReprocessDuplicates))
        {
            _processed[e.EventId!] = (e.RoomId!, txnId);
        }
        if (keep is not null && outcome == ApplyOutcome.Applied && e.StateKey == Ev.Bot && _store.Rooms[e.RoomId!].Members.Count == 0)
        {
            foreach (var (user, row) in keep)
            {
                _store.Rooms[e.RoomId!].Members[user] = row;
            }
        }
    }

    /// <summary>The event as if its replaces_state named what the store holds for its key (so it always applies).</summary>
    private SimEvent Following(SimEvent e) =>
        e.StateKey is null || e.RoomId is null || !_store.Rooms.TryGetValue(e.RoomId, out var room)
        || !room.State.TryGetValue((e.Type ?? "", e.StateKey), out var held)
            ? e
            : new SimEvent
            {
                Index = e.Index, EventId = e.EventId, RoomId = e.RoomId, Type = e.Type, Sender = e.Sender, StateKey = e.StateKey,
                OriginServerTs = e.OriginServerTs, Content = e.Content, Redacts = e.Redacts, InviteRoomState = e.InviteRoomState,
                ReplacesState = held.EventId,
            };

    private static SimEvent ToSimEvent(JsonElement e)
    {
        static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? JsonStrings.Decode(v) : null;
        return new SimEvent
        {
            Index = 0,
            EventId = Str(e, "event_id"),
            RoomId = Str(e, "room_id"),
            Type = Str(e, "type"),
            Sender = Str(e, "sender") ?? "",
            StateKey = Str(e, "state_key"),
            OriginServerTs = e.TryGetProperty("origin_server_ts", out var ts) ? ts.GetInt64() : 0,
            Content = e.TryGetProperty("content", out var c) ? Encoding.UTF8.GetBytes(c.GetRawText()) : "{}"u8.ToArray(),
            Redacts = Str(e, "redacts") ?? (c.ValueKind == JsonValueKind.Object ? Str(c, "redacts") : null),
            InviteRoomState = e.TryGetProperty("unsigned", out var u) && u.ValueKind == JsonValueKind.Object
                && u.TryGetProperty("invite_room_state", out var stripped) ? Encoding.UTF8.GetBytes(stripped.GetRawText()) : null,
            ReplacesState = u.ValueKind == JsonValueKind.Object ? Str(u, "replaces_state") : null,
        };
    }

    private IResult Stats()
    {
        lock (_gate)
        {
            return Results.Json(new Dictionary<string, long>
            {
                ["events_processed"] = _processed.Count,
                ["events_rejected"] = _store.RejectedCount + _store.RejectedWithoutIdDeliveries,
                ["transactions"] = _txnIds.Count,
                ["rooms"] = _store.Rooms.Count,
                ["members"] = _store.Rooms.Values.Sum(r => r.Members.Count),
            });
        }
    }

    private IResult ListRooms(string? from, int limit)
    {
        lock (_gate)
        {
            var ids = _store.Rooms.Keys.Order(StringComparer.Ordinal).Where(r => from is null || string.CompareOrdinal(r, from) > 0).ToList();
            var page = ids.Take(limit).ToList();
            return Results.Json(new { rooms = page.Select(RoomJson).ToList(), next_batch = ids.Count > limit ? page[^1] : null });
        }
    }

    private IResult Room(string roomId)
    {
        lock (_gate)
        {
            return _store.Rooms.ContainsKey(roomId) ? Results.Json(RoomJson(roomId)) : Results.NotFound();
        }
    }

    private Dictionary<string, object?> RoomJson(string roomId)
    {
        var r = _store.Rooms[roomId];
        return new Dictionary<string, object?>
        {
            ["room_id"] = r.RoomId, ["name"] = r.Name, ["topic"] = r.Topic, ["canonical_alias"] = r.CanonicalAlias, ["avatar_url"] = r.AvatarUrl,
            ["join_rule"] = r.JoinRule, ["history_visibility"] = r.HistoryVisibility, ["encryption"] = r.Encryption, ["room_version"] = r.RoomVersion,
            ["creator"] = r.Creator, ["room_type"] = r.RoomType, ["tombstone_successor"] = r.TombstoneSuccessor,
            ["joined_member_count"] = r.JoinedMemberCount, ["invited_member_count"] = r.InvitedMemberCount, ["bot_membership"] = r.BotMembership,
            ["suspect"] = r.Suspect, ["updated_at"] = DateTimeOffset.UnixEpoch,
        };
    }

    private IResult Members(string roomId, string? membership)
    {
        lock (_gate)
        {
            if (!_store.Rooms.TryGetValue(roomId, out var room))
            {
                return Results.NotFound();
            }
            return Results.Json(new
            {
                members = room.Members.Values.Where(m => membership is null || m.Membership == membership)
                    .Select(m => new { user_id = m.UserId, membership = m.Membership, displayname = m.Displayname, avatar_url = m.AvatarUrl, event_id = m.EventId })
                    .ToList(),
            });
        }
    }

    /// <summary>
    /// The change feed as a snapshot: from the start, one room change with every field and one member change per row
    /// (what the real feed folds to); from that answer's token, nothing more.
    /// </summary>
    private IResult Changes(string? from)
    {
        if (from is not null)
        {
            return Results.Json(new { changes = Array.Empty<object>(), next_batch = from });
        }

        lock (_gate)
        {
            var changes = new List<object>();
            foreach (var r in _store.Rooms.Values)
            {
                changes.Add(new
                {
                    kind = "room", room_id = r.RoomId,
                    changed = new Dictionary<string, string?>
                    {
                        ["name"] = r.Name, ["topic"] = r.Topic, ["canonical_alias"] = r.CanonicalAlias, ["avatar_url"] = r.AvatarUrl,
                        ["join_rule"] = r.JoinRule, ["history_visibility"] = r.HistoryVisibility, ["encryption"] = r.Encryption,
                        ["room_version"] = r.RoomVersion, ["tombstone_successor"] = r.TombstoneSuccessor, ["bot_membership"] = r.BotMembership,
                    },
                });
                changes.AddRange(r.Members.Values.Select(m => new
                {
                    kind = "member", room_id = r.RoomId, user_id = m.UserId, membership = m.Membership, displayname = m.Displayname,
                    avatar_url = m.AvatarUrl, event_id = m.EventId,
                }));
            }

            return Results.Json(new { changes, next_batch = "1_1" });
        }
    }

    /// <summary>Open jobs: a resync for every suspect room (nothing runs them here, as without a homeserver).</summary>
    private IResult OpenJobs(string? roomId)
    {
        lock (_gate)
        {
            var jobs = _store.Rooms.Values.Where(r => r.Suspect && (roomId is null || r.RoomId == roomId)).Select((r, i) => new { id = i + 1, kind = "resync", room_id = r.RoomId, reason = "replaces_state", attempts = 0 }).ToList();
            return Results.Json(new { jobs });
        }
    }

    private IResult UserRooms(string userId)
    {
        lock (_gate)
        {
            var rooms = _store.Rooms.Values.Where(r => r.Members.ContainsKey(userId))
                .Select(r => new { room_id = r.RoomId, membership = r.Members[userId].Membership }).ToList();
            return Results.Json(new { rooms });
        }
    }

    private IResult Event(string eventId)
    {
        lock (_gate)
        {
            return _processed.TryGetValue(eventId, out var p)
                ? Results.Json(new { event_id = eventId, room_id = p.RoomId, txn_id = p.TxnId, processed_at = DateTimeOffset.UnixEpoch })
                : Results.NotFound();
        }
    }
}
