using AppService.Homeserver;
using AppService.Observability;
using AppService.Matrix;
using AppService.Projections;

namespace AppService.Transactions;

/// <summary>
/// Step 4 of a transaction, after the commit only (a failed attempt that is retried logged and counted nothing): the
/// log lines and metrics of what the transaction did, and the wake-up of the job worker for the jobs it queued.
/// </summary>
internal static class IngestReport
{
    public static void Committed(
        ILogger logger, string ledgerId, IngestUnit unit, ProjectionBatch projection, string botUserId, JobSignal jobSignal)
    {
        foreach (var r in unit.Rejected)
        {
            Log.EventRejected(logger, ledgerId, r.EventId is { } id ? MatrixText.StorableId(id) : null, r.Code, r.Reason);
        }

        foreach (var (e, change) in projection.MembershipChanges)
        {
            if (e.StateKey == botUserId)
            {
                Log.BotMembershipChanged(logger, e.RoomId, change, e.Sender);
            }
        }

        foreach (var m in projection.Mismatches)
        {
            Log.StateMismatches(logger, ledgerId, m);
            AppServiceMetrics.StateMismatches.Inc(m.Count);
        }

        foreach (var e in projection.SoftFailed)
        {
            Log.SoftFailedSkipped(logger, e.RoomId, e.EventId, e.Type, e.Sender);
        }

        if (projection.SoftFailed.Count > 0)
        {
            AppServiceMetrics.SoftFailedSkipped.Inc(projection.SoftFailed.Count);
        }

        foreach (var r in projection.Redactions)
        {
            Log.StateRedacted(logger, r.RoomId, r.Type, r.StateKey, r.EventId);
        }

        foreach (var invite in projection.RefusedInvites)
        {
            Log.InviteRefused(logger, invite.RoomId, invite.Sender);
            AppServiceMetrics.InvitesRefused.Inc();
        }

        foreach (var r in projection.UnappliedRedactions)
        {
            Log.RedactionNotApplied(logger, r.RoomId, r.RedactionEventId, r.Redacter, r.TargetEventId, r.Type, r.StateKey, r.Verdict);
            AppServiceMetrics.RedactionsNotApplied.WithLabels(r.Verdict == RedactionVerdict.Refused ? "refused" : "undecided").Inc();
        }

        bool queued = false;
        foreach (var job in projection.Jobs)
        {
            Log.JobQueued(logger, job.Kind, job.RoomId, job.Reason);
            queued = true;
        }

        if (queued)
        {
            jobSignal.Notify();
        }
    }
}
