using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using AppService.Data;
using AppService.Observability;
using AppService.Projections;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using static AppService.Admin.AdminProblems;

namespace AppService.Admin;

// The change feed, the membership history and the members of a room at a time (docs/change-feed.md).
public static partial class AdminApi
{
    /// <summary>The longest long poll: a larger timeout is cut to this.</summary>
    public const int MaxFeedTimeoutMs = 30_000;

    /// <summary>How often a waiting long poll looks again (commits of other replicas, the watermark moving).</summary>
    internal static readonly TimeSpan FeedPollInterval = TimeSpan.FromMilliseconds(200);

    internal static async Task<Results<Ok<ChangesResponse>, ValidationProblem, ProblemHttpResult>> GetChangesAsync(
        AppDbContext db, string? from, int? limit, int? timeout, string? room_id, string? kind, TimeProvider time, CancellationToken ct)
    {
        if (Paging.CheckLimit(limit, out int pageSize) is { } invalid)
        {
            return invalid;
        }

        FeedToken? after = null;
        if (from is not null)
        {
            if (!FeedToken.TryParse(from, out var token))
            {
                return InvalidFeedFrom();
            }

            after = token;
        }

        if (timeout is < 0)
        {
            return Invalid("timeout", $"timeout must be a number of milliseconds from 0 to {MaxFeedTimeoutMs}.");
        }

        if (kind is not null && !ChangeKinds.All.Contains(kind))
        {
            return Invalid("kind", "kind must be member or room.");
        }

        var deadline = time.GetUtcNow() + TimeSpan.FromMilliseconds(Math.Min(timeout ?? 0, MaxFeedTimeoutMs));
        bool waiting = false;
        try
        {
            while (true)
            {
                var (horizon, _, final, unissued, changes) = await ReadChangesAsync(db, ChangeSql.SelectFeed, after, room_id, kind, pageSize, ct);
                if (unissued)
                {
                    return InvalidFeedFrom();
                }

                if (after is { } cursor && cursor < horizon)
                {
                    return Gone(
                        $"The changes after '{cursor}' are no longer kept (AppService:Retention:Changes). Start again from a snapshot "
                        + $"(GET /admin/v1/rooms, /admin/v1/rooms/{{roomId}}/members), then follow the feed from oldest_token '{horizon}'.",
                        ("oldest_token", horizon.ToString()));
                }

                // "Nothing new" is no change the filter matches: a long poll filtered to a quiet room keeps waiting
                // while other rooms write (its next_batch moving along with them is no reason to answer early).
                var now = time.GetUtcNow();
                if (changes.Count > 0 || now >= deadline)
                {
                    var next = NextBatch(after, horizon, final, changes, pageSize);
                    if (changes.Count > 0)
                    {
                        AppServiceMetrics.ChangeFeedPosition.IncTo(changes[^1].Token.Position);
                    }

                    return TypedResults.Ok(new ChangesResponse([.. changes.Select(ToResponse)], next.ToString()));
                }

                if (!waiting)
                {
                    waiting = true;
                    AppServiceMetrics.ChangeFeedLongPolls.Inc();
                }

                var wait = deadline - now;
                await Task.Delay(wait < FeedPollInterval ? wait : FeedPollInterval, time, ct);
            }
        }
        finally
        {
            if (waiting)
            {
                AppServiceMetrics.ChangeFeedLongPolls.Dec();
            }
        }
    }

    /// <summary>
    /// A full page resumes after its last change. A shorter one has handed out every change the filter matches up to
    /// the last row of the log below the watermark (<paramref name="final"/>, read in the page's snapshot; rows below
    /// it never change), so it resumes at the greatest of the cursor, the horizon, its last change and that row: a
    /// consumer filtered to a quiet room moves along with the log and stays ahead of retention's horizon.
    /// </summary>
    private static FeedToken NextBatch(FeedToken? after, FeedToken horizon, FeedToken? final, List<ChangeRow> changes, int pageSize)
    {
        if (changes.Count >= pageSize)
        {
            return changes[^1].Token;
        }

        var next = after is { } cursor && cursor > horizon ? cursor : horizon;
        if (changes.Count > 0 && changes[^1].Token > next)
        {
            next = changes[^1].Token;
        }

        return final is { } last && last > next ? last : next;
    }

    internal static async Task<Results<Ok<MemberHistoryResponse>, ValidationProblem, ProblemHttpResult>> GetMemberHistoryAsync(
        AppDbContext db, string roomId, string userId, string? from, int? limit, CancellationToken ct)
    {
        if (Paging.CheckLimit(limit, out int pageSize) is { } invalid)
        {
            return invalid;
        }

        FeedToken? after = null;
        if (from is not null)
        {
            if (!FeedToken.TryParse(from, out var token))
            {
                return Paging.InvalidFrom();
            }

            after = token;
        }

        if (!await db.Rooms.AnyAsync(r => r.RoomId == roomId, ct))
        {
            return NotFound("room", roomId);
        }

        var (horizon, _, _, unissued, changes) = await ReadChangesAsync(db, ChangeSql.SelectHistory, after, roomId, userId, pageSize + 1, ct);
        if (unissued)
        {
            return Paging.InvalidFrom();
        }

        if (after is { } cursor && cursor < horizon)
        {
            // As the feed: retention deleted entries after the cursor, and a next page would skip them without a word.
            return Gone(
                $"The changes after '{cursor}' are no longer kept (AppService:Retention:Changes), so this history has lost entries "
                + $"since that page. Read it again from the start (without from), or from oldest_token '{horizon}'.",
                ("oldest_token", horizon.ToString()));
        }

        var page = changes.Take(pageSize).Select(c => new MemberHistoryEntry(
            c.Membership, c.PrevMembership, c.DisplayName, c.AvatarUrl, c.EventId, c.Cause, c.Token.ToString(), c.At)).ToList();
        // next_batch is the key just before the next page's first entry, not the last entry's own: a prune that deletes
        // the last entry but not the next one has lost nothing of this history, and must not make the next page a 410.
        // (Positions start at 1, so the key is never negative; no other entry of this user lies between the two.)
        return TypedResults.Ok(new MemberHistoryResponse(page, changes.Count > pageSize
            ? (changes[pageSize].Token with { Position = changes[pageSize].Token.Position - 1 }).ToString()
            : null));
    }

    /// <summary>The member rows of a room as they were at <paramref name="at"/> (see <see cref="ChangeSql.SelectMembersAt"/>).</summary>
    private static async Task<Results<Ok<MembersResponse>, ProblemHttpResult, ValidationProblem>> GetMembersAtAsync(
        AppDbContext db, string roomId, DateTimeOffset at, string? membership, string? after, int pageSize, CancellationToken ct)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = new NpgsqlCommand(ChangeSql.SelectMembersAt, connection);
            command.Parameters.Add(SqlParameters.Text(roomId));
            command.Parameters.Add(SqlParameters.Timestamp(at));
            command.Parameters.Add(SqlParameters.Text(membership));
            command.Parameters.Add(SqlParameters.Text(after));
            command.Parameters.Add(SqlParameters.Int(pageSize + 1));
            DateTimeOffset? horizonAt = null;
            var members = new List<MemberResponse>();
            await using (var r = await command.ExecuteReaderAsync(ct))
            {
                while (await r.ReadAsync(ct))
                {
                    if (r.IsDBNull(0))
                    {
                        horizonAt = r.GetFieldValue<DateTimeOffset>(6);
                        continue;
                    }

                    members.Add(new MemberResponse(
                        r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
                        r.IsDBNull(4) ? "" : r.GetString(4), r.IsDBNull(5) ? "" : r.GetString(5),
                        r.IsDBNull(6) ? default : r.GetFieldValue<DateTimeOffset>(6)));
                }
            }

            if (horizonAt is { } kept && at <= kept)
            {
                return Gone(
                    $"Membership before {kept:O} is no longer kept (AppService:Retention:Changes, or the change log did not exist yet). Ask for a later time.",
                    ("oldest_at", kept.ToString("O", CultureInfo.InvariantCulture)));
            }

            var (page, next) = Paging.Cut(members, pageSize, m => m.UserId);
            return TypedResults.Ok(new MembersResponse(page, next));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// Reads the horizon, the last key of the log below the watermark (<see cref="ChangeSql.SelectFeed"/> only), whether
    /// the cursor is one this cluster never issued, and the change rows of <paramref name="sql"/> (<see cref="ChangeSql.SelectFeed"/> or <see cref="ChangeSql.SelectHistory"/>).
    /// </summary>
    private static async Task<(FeedToken Horizon, DateTimeOffset HorizonAt, FeedToken? Final, bool Unissued, List<ChangeRow> Changes)> ReadChangesAsync(
        AppDbContext db, string sql, FeedToken? after, string? p3, string? p4, int limit, CancellationToken ct)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct); // opened per look, so a waiting long poll holds no connection
        try
        {
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.Add(SqlParameters.Text(after?.Xid.ToString(CultureInfo.InvariantCulture)));
            command.Parameters.Add(new NpgsqlParameter { Value = after is { } a ? a.Position : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(SqlParameters.Text(p3));
            command.Parameters.Add(SqlParameters.Text(p4));
            command.Parameters.Add(SqlParameters.Int(limit));
            var changes = new List<ChangeRow>();
            FeedToken horizon = default;
            DateTimeOffset horizonAt = default;
            FeedToken? final = null;
            bool unissued = false;
            await using var r = await command.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                (horizon, horizonAt) = ChangeSql.ReadHorizon(r, 0);
                final = ChangeSql.ReadToken(r, 3);
                unissued = r.GetBoolean(5);
                if (ChangeSql.ReadChange(r, 6) is { } change)
                {
                    changes.Add(change);
                }
            }

            return (horizon, horizonAt, final, unissued, changes);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>A cursor that is not a token of this feed: malformed, or one this cluster never issued (docs/change-feed.md).</summary>
    private static ValidationProblem InvalidFeedFrom() =>
        Invalid("from", "from must be a next_batch or position from this feed ('<number>_<number>'), issued by this database cluster. "
            + "After a restore, a point-in-time recovery or a failover that lost commits, start again from a snapshot.");

    private static ChangeResponse ToResponse(ChangeRow c) => new(
        c.Token.ToString(), c.Kind, c.RoomId, c.UserId, c.Membership, c.PrevMembership, c.DisplayName, c.AvatarUrl, c.EventId, c.Cause,
        c.Changed is null ? null : JsonDocument.Parse(c.Changed).RootElement.Clone(), c.At);

    private static ProblemHttpResult Gone(string detail, (string Name, string Value) extension) => TypedResults.Problem(
        statusCode: StatusCodes.Status410Gone,
        title: "No longer kept",
        detail: detail,
        extensions: new Dictionary<string, object?> { [extension.Name] = extension.Value });

    /// <summary>An RFC 3339 date-time with a time zone (Z or an offset), fraction optional.</summary>
    internal static bool TryParseRfc3339(string text, out DateTimeOffset value)
    {
        value = default;
        return Rfc3339().IsMatch(text)
            && DateTimeOffset.TryParse(text.ToUpperInvariant(), CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();
}
