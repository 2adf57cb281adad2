using AppService.Hosting;
using AppService.Maintenance;

namespace AppService.Tests.Maintenance;

public sealed class RetentionPacingTests
{
    /// <summary>A clock that moves only when a batch says so, and records every pause asked of it (and ends it at once).</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public List<TimeSpan> Pauses { get; } = [];

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            lock (Pauses)
            {
                Pauses.Add(dueTime);
            }

            Advance(dueTime);
            ThreadPool.QueueUserWorkItem(_ => callback(state));
            return new NoTimer();
        }

        private sealed class NoTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    private static Func<CancellationToken, Task<int>> Batches(ManualClock clock, TimeSpan each, params int[] deleted)
    {
        int call = 0;
        return _ =>
        {
            clock.Advance(each);
            return Task.FromResult(deleted[call++]);
        };
    }

    [Fact]
    public async Task A_backlog_is_deleted_with_a_pause_after_every_full_batch_three_times_its_length_by_default()
    {
        var clock = new ManualClock();
        var settings = new RetentionOptions { BatchSize = 100 };

        long total = await RetentionPacing.RunAsync(Batches(clock, TimeSpan.FromMilliseconds(40), 100, 100, 7), settings, clock, CancellationToken.None);

        Assert.Equal(207, total);
        Assert.Equal([TimeSpan.FromMilliseconds(120), TimeSpan.FromMilliseconds(120)], clock.Pauses);
    }

    [Fact]
    public async Task A_run_with_nothing_more_to_delete_never_pauses()
    {
        var clock = new ManualClock();

        long total = await RetentionPacing.RunAsync(Batches(clock, TimeSpan.FromMilliseconds(40), 12), new RetentionOptions { BatchSize = 100 }, clock, CancellationToken.None);

        Assert.Equal(12, total);
        Assert.Empty(clock.Pauses);
    }

    [Fact]
    public async Task A_duty_cycle_of_one_deletes_the_backlog_back_to_back()
    {
        var clock = new ManualClock();
        var settings = new RetentionOptions { BatchSize = 100, DutyCycle = 1.0 };

        long total = await RetentionPacing.RunAsync(Batches(clock, TimeSpan.FromMilliseconds(40), 100, 100, 100, 0), settings, clock, CancellationToken.None);

        Assert.Equal(300, total);
        Assert.Empty(clock.Pauses);
    }
}
