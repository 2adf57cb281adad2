using System.Globalization;
using AppService.Data;
using AppService.Homeserver;
using AppService.Matrix;
using AppService.Projections;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using static AppService.Admin.AdminProblems;

namespace AppService.Admin;

// The admin API: the homeserver jobs: queue a resync by hand, and see what the job worker did.
public static partial class AdminApi
{
    /// <summary>
    /// Queues a resync (or folds into the one already queued, making it due now), of any room we know, joined or not:
    /// for a room we hold as not joined, the resync asks the homeserver whether the bot is joined (a backlog can make
    /// a membership up) and resyncs it, or settles the room as not joined.
    /// </summary>
    internal static async Task<Results<Accepted<JobQueuedResponse>, ProblemHttpResult>> ResyncRoomAsync(
        AppDbContext db, JobSignal signal, TimeProvider time, string roomId, CancellationToken ct)
    {
        if (!await db.Rooms.AsNoTracking().AnyAsync(r => r.RoomId == roomId, ct))
        {
            return NotFound("room", roomId);
        }

        long jobId = await JobSql.EnqueueNowAsync(db, new JobRequest(JobKinds.Resync, roomId, JobReasons.Admin), time.GetUtcNow(), ct);
        signal.Notify();
        return TypedResults.Accepted($"/admin/v1/jobs/{jobId}", new JobQueuedResponse(jobId, roomId, JobKinds.Resync));
    }

    internal static async Task<Results<Ok<JobsResponse>, ValidationProblem>> ListJobsAsync(
        AppDbContext db, string? state, [FromQuery(Name = "room_id")] string? roomId, int? limit, CancellationToken ct)
    {
        if (Paging.CheckLimit(limit, out int pageSize) is { } invalid)
        {
            return invalid;
        }

        var query = db.Jobs.AsNoTracking();
        switch (state ?? "open")
        {
            case "open":
                query = query.Where(j => j.CompletedAt == null);
                break;
            case "failed":
                query = query.Where(j => j.Outcome == JobOutcomes.Failed);
                break;
            case "all":
                break;
            default:
                return Invalid("state", "state must be one of open, failed, all.");
        }

        if (roomId is not null)
        {
            query = query.Where(j => j.RoomId == roomId);
        }

        var jobs = await ProjectJobs(query.OrderByDescending(j => j.Id).Take(pageSize)).ToListAsync(ct);
        return TypedResults.Ok(new JobsResponse(jobs));
    }

    internal static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetJobAsync(AppDbContext db, long jobId, CancellationToken ct)
    {
        var job = await ProjectJobs(db.Jobs.AsNoTracking().Where(j => j.Id == jobId)).SingleOrDefaultAsync(ct);
        return job is null ? NotFound("job", jobId.ToString(CultureInfo.InvariantCulture)) : TypedResults.Ok(job);
    }

    private static IQueryable<JobResponse> ProjectJobs(IQueryable<Job> jobs) =>
        jobs.Select(j => new JobResponse(
            j.Id, j.Kind, j.RoomId, j.Reason, j.Attempts, j.RunAfter, j.LockedUntil, j.Rerun, j.Outcome, j.Detail,
            j.LastError, j.CreatedAt, j.CompletedAt));
}
