using System.Collections.Concurrent;
using System.Globalization;

namespace AppService.Simulator.Oracle;

internal sealed record CheckResult(string Name, bool Passed, string Detail);

internal sealed class OracleOptions
{
    /// <summary>At most this many accepted events are looked up one by one (a deterministic sample beyond).</summary>
    public int EventCheckLimit { get; init; } = 20_000;

    public int Parallelism { get; init; } = 8;

    /// <summary>Stats before the run (the oracle compares deltas; it assumes the events are new to the database).</summary>
    public IReadOnlyDictionary<string, long> StatsBefore { get; init; } = new Dictionary<string, long>();

    /// <summary>How many more rejections than distinct poison events are acceptable: deliveries of poison without
    /// an event_id cannot be de-duplicated, so each concurrent copy or retry may count again.</summary>
    public long RejectedSlack { get; init; }
}

/// <summary>
/// Compares the expected projection with the admin API: every room it touched (info, all member rows, the join
/// filter), every user (rooms), the rooms list, the stats counters, and the txnId each accepted event was
/// recorded under (processed once, by its first delivery).
/// </summary>
internal sealed class OracleChecker(AdminApiClient admin, OracleOptions options)
{
    private const int EventsPerCheck = 250;

    private readonly ConcurrentBag<CheckResult> _results = [];

    public async Task<IReadOnlyList<CheckResult>> CheckAsync(DeliveryLog log, CancellationToken ct)
    {
        var projection = log.Projection;
        var checks = new List<Func<CancellationToken, Task>>
        {
            c => Check("stats", () => CheckStatsAsync(projection, c), c),
            c => Check("rooms list", () => CheckRoomListAsync(log, c), c),
            c => Check("change feed folded from the start", () => CheckFeedAsync(projection, c), c),
        };
        if (projection.Rooms.Values.Any(r => r.Suspect))
        {
            checks.Add(c => Check("a resync queued for every suspect room", () => CheckResyncsQueuedAsync(projection, c), c));
        }
        foreach (var room in projection.Rooms.Values.OrderBy(r => r.RoomId, StringComparer.Ordinal))
        {
            checks.Add(c => Check($"room {room.RoomId}", () => CheckRoomAsync(room, c), c));
            checks.Add(c => Check($"room {room.RoomId} members", () => CheckMembersAsync(room, null, c), c));
            checks.Add(c => Check($"room {room.RoomId} members?membership=join", () => CheckMembersAsync(room, "join", c), c));
        }
        foreach (var roomId in log.TouchedRooms.Where(r => !projection.Rooms.ContainsKey(r)).Order(StringComparer.Ordinal))
        {
            checks.Add(c => Check($"room {roomId} absent (only rejected events)", () => CheckRoomAbsentAsync(roomId, c), c));
        }
        var byUser = projection.RoomsByUser();
        foreach (var user in log.TouchedUsers.Union(byUser.Keys).Order(StringComparer.Ordinal))
        {
            var expected = byUser.GetValueOrDefault(user) ?? [];
            checks.Add(c => Check($"user {user} rooms", () => CheckUserRoomsAsync(user, expected, c), c));
        }
        // One check per room and chunk of events, so that big rooms are looked up in parallel too.
        foreach (var group in SampleEvents(log).GroupBy(e => log.FirstDelivery(e).RoomId).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var chunks = group.Chunk(EventsPerCheck).ToList();
            for (var i = 0; i < chunks.Count; i++)
            {
                var ids = chunks[i];
                var part = chunks.Count == 1 ? "" : $" part {i + 1}/{chunks.Count}";
                checks.Add(c => Check($"room {group.Key} events{part} ({ids.Length} looked up)", () => CheckEventsAsync(log, ids, c), c));
            }
        }
        await Parallel.ForEachAsync(checks, new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = ct },
            async (check, c) => await check(c));
        return _results.OrderBy(r => r.Passed).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();
    }

    private async Task Check(string name, Func<Task<string?>> body, CancellationToken ct)
    {
        try
        {
            var difference = await body();
            _results.Add(new CheckResult(name, difference is null, difference ?? "ok"));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            _results.Add(new CheckResult(name, false, "not finished before the deadline"));
        }
        catch (Exception ex) when (ex is AdminApiException or HttpRequestException or OperationCanceledException
                                       or KeyNotFoundException or InvalidOperationException or System.Text.Json.JsonException)
        {
            _results.Add(new CheckResult(name, false, ex.GetType().Name + ": " + ex.Message));
        }
    }

    private async Task<string?> CheckStatsAsync(ExpectedProjection projection, CancellationToken ct)
    {
        var after = await admin.GetStatsAsync(ct);
        var before = options.StatsBefore;
        var diffs = new List<string>();
        long Delta(string key) => after.GetValueOrDefault(key) - before.GetValueOrDefault(key);
        void Expect(string key, long expected)
        {
            if (!after.ContainsKey(key))
            {
                diffs.Add($"{key} missing");
            }
            else if (Delta(key) != expected)
            {
                diffs.Add($"{key} grew by {Delta(key)}, expected {expected}");
            }
        }
        Expect("events_processed", projection.AppliedCount);
        Expect("rooms", projection.Rooms.Count);
        Expect("members", projection.Rooms.Values.Sum(r => r.Members.Count));
        var rejectedMin = projection.RejectedCount + (projection.RejectedWithoutIdDeliveries > 0 ? 1 : 0);
        var rejectedMax = projection.RejectedCount + projection.RejectedWithoutIdDeliveries + options.RejectedSlack;
        if (projection.RejectedWithoutIdDeliveries == 0)
        {
            Expect("events_rejected", projection.RejectedCount);
        }
        else if (Delta("events_rejected") < rejectedMin || Delta("events_rejected") > rejectedMax)
        {
            diffs.Add($"events_rejected grew by {Delta("events_rejected")}, expected {rejectedMin}..{rejectedMax} "
                      + $"({projection.RejectedCount} distinct poison ids + deliveries of poison without an event_id)");
        }
        return diffs.Count == 0 ? null : string.Join("; ", diffs);
    }

    private async Task<string?> CheckRoomListAsync(DeliveryLog log, CancellationToken ct)
    {
        var actual = await admin.ListRoomIdsAsync(ct);
        var actualSet = actual.ToHashSet(StringComparer.Ordinal);
        var diffs = new List<string>();
        if (actualSet.Count != actual.Count)
        {
            diffs.Add($"{actual.Count - actualSet.Count} rooms listed twice across pages");
        }
        var missing = log.Projection.Rooms.Keys.Where(r => !actualSet.Contains(r)).ToList();
        if (missing.Count > 0)
        {
            diffs.Add($"{missing.Count} rooms missing, e.g. {string.Join(", ", missing.Take(3))}");
        }
        var rejectedOnly = log.TouchedRooms.Where(r => !log.Projection.Rooms.ContainsKey(r) && actualSet.Contains(r)).ToList();
        if (rejectedOnly.Count > 0)
        {
            diffs.Add($"rooms with only rejected events listed: {string.Join(", ", rejectedOnly.Take(3))}");
        }
        if (options.StatsBefore.GetValueOrDefault("rooms") == 0 && actualSet.Count > log.Projection.Rooms.Count + rejectedOnly.Count)
        {
            diffs.Add($"{actualSet.Count - log.Projection.Rooms.Count} rooms listed that no accepted event created");
        }
        return diffs.Count == 0 ? null : string.Join("; ", diffs);
    }

    /// <summary>
    /// Folding every change of GET /admin/v1/changes from the start gives the model: each touched room's member rows
    /// (membership, profile, event) and its room fields. Rooms of earlier runs on the same database are left out.
    /// </summary>
    private async Task<string?> CheckFeedAsync(ExpectedProjection projection, CancellationToken ct)
    {
        var members = new Dictionary<(string RoomId, string UserId), ActualMember>();
        var rooms = new Dictionary<string, Dictionary<string, string?>>(StringComparer.Ordinal);
        foreach (var change in await admin.GetAllChangesAsync(ct))
        {
            if (change.Member is { } m)
            {
                if (m.Membership is null)
                {
                    members.Remove((change.RoomId, m.UserId));
                }
                else
                {
                    members[(change.RoomId, m.UserId)] = m;
                }
            }
            else
            {
                if (!rooms.TryGetValue(change.RoomId, out var fields))
                {
                    rooms[change.RoomId] = fields = new Dictionary<string, string?>(StringComparer.Ordinal);
                }
                foreach (var (name, value) in change.Changed)
                {
                    fields[name] = value;
                }
            }
        }

        var diffs = new List<string>();
        foreach (var room in projection.Rooms.Values.OrderBy(r => r.RoomId, StringComparer.Ordinal))
        {
            if (!rooms.TryGetValue(room.RoomId, out var fields))
            {
                diffs.Add($"{room.RoomId}: no room change");
                continue;
            }
            var expectedFields = new Dictionary<string, string?>
            {
                ["name"] = room.Name, ["topic"] = room.Topic, ["canonical_alias"] = room.CanonicalAlias, ["avatar_url"] = room.AvatarUrl,
                ["join_rule"] = room.JoinRule, ["history_visibility"] = room.HistoryVisibility, ["encryption"] = room.Encryption,
                ["room_version"] = room.RoomVersion, ["tombstone_successor"] = room.TombstoneSuccessor, ["bot_membership"] = room.BotMembership,
            };
            foreach (var (field, want) in expectedFields)
            {
                if (fields.GetValueOrDefault(field) != want)
                {
                    diffs.Add($"{room.RoomId} {field} {Show(fields.GetValueOrDefault(field))}, expected {Show(want)}");
                }
            }
            var folded = members.Where(m => m.Key.RoomId == room.RoomId).ToDictionary(m => m.Key.UserId, m => m.Value, StringComparer.Ordinal);
            foreach (var want in room.Members.Values)
            {
                if (!folded.Remove(want.UserId, out var got))
                {
                    diffs.Add($"{room.RoomId} {want.UserId}: no member change");
                }
                else if ((got.Membership, got.Displayname, got.AvatarUrl, got.EventId) != (want.Membership, want.Displayname, want.AvatarUrl, want.EventId))
                {
                    diffs.Add($"{room.RoomId} {want.UserId}: {got.Membership}/{Show(got.Displayname)}/{got.EventId}, expected {want.Membership}/{Show(want.Displayname)}/{want.EventId}");
                }
            }
            diffs.AddRange(folded.Keys.Select(u => $"{room.RoomId} {u}: a member the model does not have"));
        }
        return diffs.Count == 0 ? null : string.Join("; ", diffs.Take(10)) + (diffs.Count > 10 ? $" (+{diffs.Count - 10} more)" : "");
    }

    private async Task<string?> CheckRoomAsync(RoomRow expected, CancellationToken ct)
    {
        var actual = await admin.GetRoomAsync(expected.RoomId, ct);
        if (actual is null)
        {
            return "404: room missing";
        }
        var diffs = new List<string>();
        if (actual.RoomId != expected.RoomId)
        {
            diffs.Add($"room_id '{actual.RoomId}'");
        }
        if (actual.MissingFields.Count > 0)
        {
            diffs.Add("fields missing from the response: " + string.Join(", ", actual.MissingFields));
        }
        var expectedFields = new Dictionary<string, string?>
        {
            ["name"] = expected.Name, ["topic"] = expected.Topic, ["canonical_alias"] = expected.CanonicalAlias,
            ["avatar_url"] = expected.AvatarUrl, ["join_rule"] = expected.JoinRule, ["history_visibility"] = expected.HistoryVisibility,
            ["encryption"] = expected.Encryption, ["room_version"] = expected.RoomVersion, ["creator"] = expected.Creator,
            ["room_type"] = expected.RoomType, ["tombstone_successor"] = expected.TombstoneSuccessor, ["bot_membership"] = expected.BotMembership,
        };
        foreach (var (field, want) in expectedFields)
        {
            if (actual.Fields.TryGetValue(field, out var got) && got != want)
            {
                diffs.Add($"{field} {Show(got)}, expected {Show(want)}");
            }
        }
        if (actual.JoinedMemberCount is { } joined && joined != expected.JoinedMemberCount)
        {
            diffs.Add($"joined_member_count {joined}, expected {expected.JoinedMemberCount}");
        }
        if (actual.InvitedMemberCount is { } invited && invited != expected.InvitedMemberCount)
        {
            diffs.Add($"invited_member_count {invited}, expected {expected.InvitedMemberCount}");
        }
        if (actual.Suspect is { } suspect && suspect != expected.Suspect)
        {
            diffs.Add(expected.Suspect
                ? "suspect false, expected true (a pushed state event did not follow what was held for its key)"
                : "suspect true, expected false (every pushed state event followed what was held for its key)");
        }
        return diffs.Count == 0 ? null : string.Join("; ", diffs);
    }

    /// <summary>
    /// The stale-event rule queues a resync with the suspect mark (in the same commit); in push mode no homeserver
    /// answers it, so it stays open.
    /// </summary>
    private async Task<string?> CheckResyncsQueuedAsync(ExpectedProjection projection, CancellationToken ct)
    {
        var missing = new List<string>();
        foreach (var room in projection.Rooms.Values.Where(r => r.Suspect).OrderBy(r => r.RoomId, StringComparer.Ordinal))
        {
            if (!(await admin.GetOpenJobsAsync(room.RoomId, ct)).Any(j => j.Kind == "resync" && j.RoomId == room.RoomId))
            {
                missing.Add(room.RoomId);
            }
        }
        return missing.Count == 0 ? null : $"{missing.Count} suspect rooms without an open resync job: {string.Join(", ", missing.Take(5))}";
    }

    private async Task<string?> CheckMembersAsync(RoomRow expected, string? membership, CancellationToken ct)
    {
        var actual = await admin.GetMembersAsync(expected.RoomId, membership, ct);
        var want = expected.Members.Values.Where(m => membership is null || m.Membership == membership)
            .ToDictionary(m => m.UserId, StringComparer.Ordinal);
        var diffs = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in actual)
        {
            if (!seen.Add(row.UserId))
            {
                diffs.Add($"{row.UserId} listed twice");
                continue;
            }
            if (!want.TryGetValue(row.UserId, out var w))
            {
                diffs.Add($"unexpected row {row.UserId} ({row.Membership}, event {row.EventId})");
                continue;
            }
            if (row.Membership != w.Membership || row.Displayname != w.Displayname || row.AvatarUrl != w.AvatarUrl || row.EventId != w.EventId)
            {
                diffs.Add($"{row.UserId}: got ({row.Membership}, {Show(row.Displayname)}, {Show(row.AvatarUrl)}, {row.EventId}), "
                          + $"expected ({w.Membership}, {Show(w.Displayname)}, {Show(w.AvatarUrl)}, {w.EventId})");
            }
        }
        foreach (var missing in want.Keys.Where(u => !seen.Contains(u)).Order(StringComparer.Ordinal))
        {
            diffs.Add($"missing row {missing} ({want[missing].Membership})");
        }
        return diffs.Count == 0 ? null : $"{diffs.Count} differences: " + string.Join("; ", diffs.Take(5));
    }

    private async Task<string?> CheckRoomAbsentAsync(string roomId, CancellationToken ct) =>
        await admin.GetRoomAsync(roomId, ct) is null ? null : "room exists although all its events were rejected";

    private async Task<string?> CheckUserRoomsAsync(string userId, List<(string RoomId, string Membership)> expected, CancellationToken ct)
    {
        var actual = await admin.GetUserRoomsAsync(userId, ct);
        var want = expected.Select(r => $"{r.RoomId}={r.Membership}").Order(StringComparer.Ordinal).ToList();
        var got = actual.Select(r => $"{r.RoomId}={r.Membership}").Order(StringComparer.Ordinal).ToList();
        if (want.SequenceEqual(got))
        {
            return null;
        }
        var missing = want.Except(got).Take(3);
        var extra = got.Except(want).Take(3);
        return $"{got.Count} rooms, expected {want.Count}; missing [{string.Join(", ", missing)}] extra [{string.Join(", ", extra)}]";
    }

    private async Task<string?> CheckEventsAsync(DeliveryLog log, string[] eventIds, CancellationToken ct)
    {
        var diffs = new List<string>();
        foreach (var eventId in eventIds)
        {
            var (roomId, txnId) = log.FirstDelivery(eventId);
            var actual = await admin.GetEventAsync(eventId, ct);
            if (actual is null)
            {
                diffs.Add($"{eventId} not found");
            }
            else if (actual.EventId != eventId || actual.RoomId != roomId || actual.TxnId != txnId)
            {
                diffs.Add($"{eventId}: got ({actual.EventId}, {actual.RoomId}, txn {actual.TxnId}), expected txn {txnId} (its first delivery)");
            }
        }
        return diffs.Count == 0 ? null : $"{diffs.Count} of {eventIds.Length} differ: " + string.Join("; ", diffs.Take(5));
    }

    private IEnumerable<string> SampleEvents(DeliveryLog log)
    {
        var all = log.AcceptedEvents;
        if (options.EventCheckLimit <= 0)
        {
            return [];
        }
        if (all.Count <= options.EventCheckLimit)
        {
            return all;
        }
        var step = (double)all.Count / options.EventCheckLimit;
        return Enumerable.Range(0, options.EventCheckLimit).Select(i => all[(int)(i * step)]);
    }

    private static string Show(string? value) => value is null ? "null" : "'" + value + "'";

    public static string Summary(IReadOnlyList<CheckResult> results) => string.Create(CultureInfo.InvariantCulture,
        $"{results.Count(r => r.Passed)} passed, {results.Count(r => !r.Passed)} failed");
}
