using AppService.Hosting;

namespace AppService.Maintenance;

/// <summary>
/// The batch loop of a retention run: delete a batch, and while batches come back full, pause for
/// <see cref="RetentionOptions.PauseAfter"/> of the batch's time before the next one. Measured with
/// <c>scripts/bench.sh</c> (goal 3): deleting a 5-million-row backlog back to back cost the ingest about a third of its
/// events/s while it ran.
/// </summary>
internal static class RetentionPacing
{
    /// <param name="deleteBatch">Deletes one batch (at most <see cref="RetentionOptions.BatchSize"/> rows) and returns how many it deleted.</param>
    public static async Task<long> RunAsync(
        Func<CancellationToken, Task<int>> deleteBatch, RetentionOptions settings, TimeProvider time, CancellationToken ct)
    {
        long total = 0;
        while (true)
        {
            long started = time.GetTimestamp();
            int deleted = await deleteBatch(ct);
            total += deleted;
            if (deleted < settings.BatchSize)
            {
                return total;
            }

            var pause = settings.PauseAfter(time.GetElapsedTime(started));
            if (pause > TimeSpan.Zero)
            {
                await Task.Delay(pause, time, ct);
            }
        }
    }
}
