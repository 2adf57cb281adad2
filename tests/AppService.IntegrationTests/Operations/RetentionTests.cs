using System.Net;
using System.Net.Http.Json;
using AppService.IntegrationTests.Infrastructure;
using AppService.Maintenance;
using Microsoft.EntityFrameworkCore;
using static AppService.IntegrationTests.Infrastructure.Events;

namespace AppService.IntegrationTests.Operations;

/// <summary>The service with the smallest retention batch, so that a few hundred old rows take several batches.</summary>
public sealed class SmallBatchRetentionApplication : AppServiceApplication
{
    public const int BatchSize = 100;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("AppService:Retention:BatchSize", BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("AppService:Retention:ProcessedEvents", "30.00:00:00"),
        // Only the admin endpoint prunes here: a scheduled run between aging rows and asserting would race.
        new("AppService:Retention:Enabled", "false"),
    ];
}

[Collection(ProcessWideMetrics.Name)] // the retention counters are process-wide: counted exactly only when alone
public sealed class RetentionTests(SmallBatchRetentionApplication app) : IClassFixture<SmallBatchRetentionApplication>
{
    private async Task<PruneResponse> PruneAsync()
    {
        using var response = await app.Admin().PostAsync("/admin/v1/maintenance/prune", null);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<PruneResponse>())!;
    }

    /// <summary>Moves the dedup records of one transaction back in time, as if it had been processed that long ago.</summary>
    private Task AgeAsync(string txnId, TimeSpan age) => app.ExecuteSqlAsync($"""
        UPDATE processed_events SET processed_at = now() - interval '{(int)age.TotalSeconds} seconds' WHERE txn_id = '{txnId}';
        UPDATE txn_ledger SET first_seen_at = now() - interval '{(int)age.TotalSeconds} seconds',
                              last_processed_at = now() - interval '{(int)age.TotalSeconds} seconds' WHERE txn_id = '{txnId}';
        """);

    [Fact]
    public async Task Prune_deletes_dedup_rows_older_than_the_cutoff_and_never_the_projections()
    {
        string oldRoom = NewRoomId(), newRoom = NewRoomId();
        await app.PushOkAsync("retention-old", Member(oldRoom, Alice, "join"), State(oldRoom, "m.room.name", new() { ["name"] = "Old" }), Message(oldRoom, Alice, "x"));
        await app.PushOkAsync("retention-edge", Member(oldRoom, Bob, "join"));
        await app.PushOkAsync("retention-new", Member(newRoom, Alice, "join"));
        await AgeAsync("retention-old", TimeSpan.FromDays(45));
        await AgeAsync("retention-edge", TimeSpan.FromDays(29));

        var before = DateTimeOffset.UtcNow;
        var result = await PruneAsync();

        Assert.Equal(3, result.ProcessedEventsDeleted);
        Assert.Equal(1, result.TransactionsDeleted);
        Assert.InRange(result.Cutoff, before.AddDays(-30).AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(-30).AddMinutes(1));

        await using var db = app.CreateDbContext();
        Assert.False(await db.ProcessedEvents.AnyAsync(e => e.TxnId == "retention-old"));
        Assert.False(await db.Ledger.AnyAsync(t => t.TxnId == "retention-old"));
        Assert.Equal(1, await db.ProcessedEvents.CountAsync(e => e.TxnId == "retention-edge"));
        Assert.True(await db.Ledger.AnyAsync(t => t.TxnId == "retention-new"));

        // Rooms, members and state are kept whatever their age.
        Assert.Equal("Old", (await app.RoomAsync(oldRoom))!.Name);
        Assert.Equal("join", (await app.MemberAsync(oldRoom, Alice))!.Membership);
        Assert.Equal("join", (await app.MemberAsync(oldRoom, Bob))!.Membership);
    }

    [Fact]
    public async Task A_backlog_larger_than_one_batch_is_deleted_completely_in_batches()
    {
        const int rows = (SmallBatchRetentionApplication.BatchSize * 2) + 37;
        await app.ExecuteSqlAsync($"""
            INSERT INTO processed_events (event_id, room_id, event_type, txn_id, processed_at)
            SELECT '$backlog-' || g, '!backlog:test', 'm.room.message', 'backlog', now() - interval '60 days'
            FROM generate_series(1, {rows}) AS g;
            INSERT INTO txn_ledger (txn_id, content_hash, event_count, new_event_count, rejected_count, first_seen_at, last_processed_at)
            SELECT 'backlog-' || g, '\x00', 1, 1, 0, now() - interval '60 days', now() - interval '60 days'
            FROM generate_series(1, {rows}) AS g;
            """);
        var scrapeBefore = await Scrape.TakeAsync(app.CreateClient());

        var result = await PruneAsync();

        Assert.True(result.ProcessedEventsDeleted >= rows);
        Assert.True(result.TransactionsDeleted >= rows);
        Assert.Equal(0, await app.ScalarAsync("SELECT count(*) FROM processed_events WHERE txn_id = 'backlog'"));
        Assert.Equal(0, await app.ScalarAsync("SELECT count(*) FROM txn_ledger WHERE txn_id LIKE 'backlog-%'"));

        var scrapeAfter = await Scrape.TakeAsync(app.CreateClient());
        const string deleted = "appservice_retention_rows_deleted_total{table=\"processed_events\"}";
        Assert.Equal(result.ProcessedEventsDeleted, scrapeAfter.Growth(scrapeBefore, deleted));
        const string runs = "appservice_retention_runs_total{result=\"success\",trigger=\"admin\"}";
        Assert.Equal(1, scrapeAfter.Growth(scrapeBefore, runs));
    }

    [Fact]
    public async Task An_event_redelivered_after_its_record_was_pruned_is_applied_again()
    {
        // The documented trade-off: retention must be longer than any redelivery window.
        string room = NewRoomId();
        var join = Member(room, Alice, "join");
        await app.PushOkAsync("retention-redeliver-1", join);
        await AgeAsync("retention-redeliver-1", TimeSpan.FromDays(31));
        await PruneAsync();

        await app.PushOkAsync("retention-redeliver-2", join);

        await using var db = app.CreateDbContext();
        Assert.Equal("retention-redeliver-2", (await db.ProcessedEvents.SingleAsync(e => e.EventId == join.Id())).TxnId);
    }

    [Fact]
    public async Task A_redaction_of_current_state_whose_record_was_pruned_still_redacts_it()
    {
        // room_state has no index on event_id: a redaction finds its target through processed_events.state_key, and
        // looks through the room's state rows when retention pruned the target's record.
        string room = NewRoomId();
        var topic = State(room, "m.room.topic", new() { ["topic"] = "Old news" });
        await app.PushOkAsync("retention-redact-1", Member(room, Alice, "join", displayname: "Alice"), topic);
        await AgeAsync("retention-redact-1", TimeSpan.FromDays(45));
        await PruneAsync();
        Assert.False(await app.IsProcessedAsync(topic.Id()));

        await app.PushOkAsync("retention-redact-2", new System.Text.Json.Nodes.JsonObject
        {
            ["event_id"] = NewEventId(),
            ["room_id"] = room,
            ["type"] = "m.room.redaction",
            ["sender"] = Alice,
            ["redacts"] = topic.Id(),
            ["content"] = new System.Text.Json.Nodes.JsonObject { ["redacts"] = topic.Id() },
        });

        Assert.Null((await app.RoomAsync(room))!.Topic);
        Assert.Equal(0, await app.ScalarAsync($"SELECT count(*) FROM pending_redactions WHERE target_event_id = '{topic.Id()}'"));
    }

    [Fact]
    public async Task Rejected_events_past_their_retention_are_pruned()
    {
        await app.ExecuteSqlAsync("""
            INSERT INTO rejected_events (event_id, room_id, event_type, txn_id, reason, reason_code, content, content_bytes, rejected_at)
            VALUES ('$old-rejected', '!old:test', 'm.x', 't', 'r', 'wrong_type', '{}', 2, now() - interval '31 days'),
                   ('$new-rejected', '!old:test', 'm.x', 't', 'r', 'wrong_type', '{}', 2, now() - interval '29 days');
            """);

        using var response = await app.Admin().PostAsync("/admin/v1/maintenance/prune", null);
        response.EnsureSuccessStatusCode();

        Assert.Equal(0, await app.ScalarAsync("SELECT count(*) FROM rejected_events WHERE event_id = '$old-rejected'"));
        Assert.Equal(1, await app.ScalarAsync("SELECT count(*) FROM rejected_events WHERE event_id = '$new-rejected'"));
    }

    [Fact]
    public async Task Finished_jobs_past_the_jobs_retention_are_pruned_and_open_jobs_never()
    {
        // AppService:Jobs:Retention is 7 days by default; an open job is kept however old it is.
        await app.ExecuteSqlAsync("""
            INSERT INTO jobs (kind, room_id, dedup_key, reason, attempts, run_after, rerun, created_at, completed_at, outcome)
            VALUES ('join', '!jobs:test', 'retention:done-old', 'invite', 0, now(), false, now() - interval '9 days', now() - interval '8 days', 'done'),
                   ('join', '!jobs:test', 'retention:failed-old', 'invite', 10, now(), false, now() - interval '9 days', now() - interval '8 days', 'failed'),
                   ('join', '!jobs:test', 'retention:done-recent', 'invite', 0, now(), false, now() - interval '9 days', now() - interval '6 days', 'done'),
                   ('join', '!jobs:test', 'retention:open-old', 'invite', 3, now() + interval '1 day', false, now() - interval '90 days', NULL, NULL);
            """);
        var scrapeBefore = await Scrape.TakeAsync(app.CreateClient());

        var result = await PruneAsync();

        Assert.True(result.JobsDeleted >= 2);
        Assert.Equal(0, await app.ScalarAsync("SELECT count(*) FROM jobs WHERE dedup_key IN ('retention:done-old', 'retention:failed-old')"));
        Assert.Equal(1, await app.ScalarAsync("SELECT count(*) FROM jobs WHERE dedup_key = 'retention:done-recent'"));
        Assert.Equal(1, await app.ScalarAsync("SELECT count(*) FROM jobs WHERE dedup_key = 'retention:open-old'"));
        var scrapeAfter = await Scrape.TakeAsync(app.CreateClient());
        const string deleted = "appservice_retention_rows_deleted_total{table=\"jobs\"}";
        Assert.Equal(result.JobsDeleted, scrapeAfter.Growth(scrapeBefore, deleted));
    }

    [Fact]
    public async Task Prune_needs_the_admin_token()
    {
        using var response = await app.CreateClient().PostAsync("/admin/v1/maintenance/prune", null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("processed_events", "processed_at")]
    [InlineData("txn_ledger", "last_processed_at")]
    [InlineData("rejected_events", "rejected_at")]
    [InlineData("jobs", "completed_at")]
    public async Task The_pruned_tables_have_an_index_leading_with_their_time_column(string table, string column)
    {
        long indexes = await app.ScalarAsync($"""
            SELECT count(*) FROM pg_index i
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
            WHERE i.indrelid = '{table}'::regclass AND a.attname = '{column}'
            """);

        Assert.True(indexes >= 1, $"no index on {table}({column}): retention would scan the table");
    }
}
