using AppService.Data;
using AppService.Matrix;
using AppService.Projections;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using static AppService.Admin.AdminProblems;

namespace AppService.Admin;

// The admin API: the projections by room and by user, and the processed events: the read side of the ingest.
public static partial class AdminApi
{
    internal static async Task<Results<Ok<RoomsPage>, ValidationProblem>> ListRoomsAsync(
        AppDbContext db, string? from, int? limit, CancellationToken ct)
    {
        if (Paging.CheckPage(membership: null, from, limit, '!', out int pageSize, out string? after) is { } invalid)
        {
            return invalid;
        }

        var query = db.Rooms.AsNoTracking();
        if (after is not null)
        {
            query = query.Where(r => string.Compare(r.RoomId, after) > 0);
        }

        var (rooms, next) = Paging.Cut(await ProjectRooms(db, query.OrderBy(r => r.RoomId).Take(pageSize + 1)).ToListAsync(ct), pageSize, r => r.RoomId);
        return TypedResults.Ok(new RoomsPage(rooms, next));
    }

    internal static async Task<Results<Ok<RoomInfoResponse>, ProblemHttpResult>> GetRoomAsync(
        AppDbContext db, string roomId, CancellationToken ct)
    {
        var room = await ProjectRooms(db, db.Rooms.AsNoTracking().Where(r => r.RoomId == roomId)).SingleOrDefaultAsync(ct);
        return room is null ? NotFound("room", roomId) : TypedResults.Ok(room);
    }

    /// <summary>
    /// A room's member rows, ordered by user id, a page at a time. No membership filter gives every stored row
    /// (leave and ban included), as before paging; "who is in the room" is <c>membership=join</c>.
    /// </summary>
    internal static async Task<Results<Ok<MembersResponse>, ProblemHttpResult, ValidationProblem>> GetMembersAsync(
        AppDbContext db, string roomId, string? membership, string? from, int? limit, string? at, CancellationToken ct)
    {
        if (Paging.CheckPage(membership, from, limit, '@', out int pageSize, out string? after) is { } invalid)
        {
            return invalid;
        }

        DateTimeOffset time = default;
        if (at is not null && !TryParseRfc3339(at, out time))
        {
            return Invalid("at", "at must be an RFC 3339 date-time with a time zone, e.g. 2026-12-01T09:30:00Z.");
        }

        if (!await db.Rooms.AnyAsync(r => r.RoomId == roomId, ct))
        {
            return NotFound("room", roomId);
        }

        if (at is not null)
        {
            return await GetMembersAtAsync(db, roomId, time, membership, after, pageSize, ct);
        }

        var query = WithMembership(db.RoomMembers.AsNoTracking().Where(m => m.RoomId == roomId), membership);
        if (after is not null)
        {
            query = query.Where(m => string.Compare(m.UserId, after) > 0);
        }

        var (members, next) = Paging.Cut(
            await query
                .OrderBy(m => m.UserId)
                .Take(pageSize + 1)
                .Select(m => new MemberResponse(m.UserId, m.Membership, m.DisplayName, m.AvatarUrl, m.EventId, m.Sender, m.UpdatedAt))
                .ToListAsync(ct),
            pageSize,
            m => m.UserId);
        return TypedResults.Ok(new MembersResponse(members, next));
    }

    internal static async Task<Results<Ok<UserRoomsResponse>, ValidationProblem>> GetUserRoomsAsync(
        AppDbContext db, string userId, string? membership, string? from, int? limit, CancellationToken ct)
    {
        if (Paging.CheckPage(membership, from, limit, '!', out int pageSize, out string? after) is { } invalid)
        {
            return invalid;
        }

        var query = WithMembership(db.RoomMembers.AsNoTracking().Where(m => m.UserId == userId), membership);
        if (after is not null)
        {
            query = query.Where(m => string.Compare(m.RoomId, after) > 0);
        }

        var (rooms, next) = Paging.Cut(
            await query.OrderBy(m => m.RoomId).Take(pageSize + 1).Select(m => new UserRoomResponse(m.RoomId, m.Membership)).ToListAsync(ct),
            pageSize,
            r => r.RoomId);
        return TypedResults.Ok(new UserRoomsResponse(rooms, next));
    }

    internal static async Task<Results<Ok<EventResponse>, ProblemHttpResult>> GetEventAsync(
        AppDbContext db, string eventId, CancellationToken ct)
    {
        var e = await db.ProcessedEvents.AsNoTracking()
            .Where(p => p.EventId == eventId)
            .Select(p => new EventResponse(p.EventId, p.RoomId, p.TxnId, p.ProcessedAt))
            .SingleOrDefaultAsync(ct);
        return e is null ? NotFound("event", eventId) : TypedResults.Ok(e);
    }

    private static IQueryable<RoomMember> WithMembership(IQueryable<RoomMember> members, string? membership) =>
        membership is null ? members : members.Where(m => m.Membership == membership);

    private static IQueryable<RoomInfoResponse> ProjectRooms(AppDbContext db, IQueryable<RoomInfo> rooms) =>
        rooms.Select(r => new RoomInfoResponse(
            r.RoomId, r.Name, r.Topic, r.CanonicalAlias, r.AvatarUrl, r.JoinRule, r.HistoryVisibility, r.Encryption,
            r.RoomVersion, r.Creator, r.RoomType, r.PredecessorRoomId, r.TombstoneSuccessor,
            db.RoomMembers.Count(m => m.RoomId == r.RoomId && m.Membership == Memberships.Join),
            db.RoomMembers.Count(m => m.RoomId == r.RoomId && m.Membership == Memberships.Invite),
            r.BotMembership, r.UpdatedAt, r.StateSource, r.Suspect, r.LastSyncedAt, r.Creators ?? Array.Empty<string>()));
}
