using System.Diagnostics;
using System.Globalization;
using AppService.Simulator.Cli;
using AppService.Simulator.Oracle;
using AppService.Simulator.Reporting;
using AppService.Simulator.Sending;
using AppService.Simulator.Workload;

namespace AppService.Simulator;

/// <summary>
/// One run: generate the workload, plan the transactions, serialise every body, then (timed) deliver them,
/// optionally replay them as pure duplicates, then let the oracle compare the model with the admin API.
/// </summary>
internal sealed class SimulatorRun(SimulatorOptions o, TextWriter output)
{
    private static readonly TimeSpan OracleMinimumBudget = TimeSpan.FromSeconds(120);

    public async Task<int> RunAsync(CancellationToken interrupted)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var loadAtStart = MachineReport.LoadAverage();
        var total = Stopwatch.StartNew();

        // 1. Workload and plan: deterministic, before anything is timed.
        var clock = Stopwatch.StartNew();
        var workload = WorkloadGenerator.Generate(new WorkloadOptions
        {
            Events = o.Events, Rooms = o.Rooms, Users = o.Users, Seed = o.Seed, BotUserId = o.Bot, GhostPrefix = o.GhostPrefix,
            RedactState = o.RedactState,
        });
        var plan = TransactionPlanner.Plan(workload, new PlanOptions
        {
            Mode = o.Mode, Faults = o.Faults, ConcurrentCopies = o.ConcurrentCopies, Seed = o.Seed,
        });
        var generationSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var prepared = PreparedTransaction.Prepare(plan.Transactions, o.Url, o.Mode);
        var duplicatePlan = o.DuplicateOnly ? TransactionPlanner.DuplicateOnly(plan) : [];
        var preparedDuplicates = PreparedTransaction.Prepare(duplicatePlan, o.Url, o.Mode);
        var (warmupPlan, preparedWarmup) = PrepareWarmup();
        var serializationSeconds = clock.Elapsed.TotalSeconds;

        var workloadReport = new WorkloadReport(o.Seed, workload.Rooms.Count, workload.Users.Count, workload.Stream.Count,
            workload.Pushed.Count(), plan.Transactions.Count, plan.Transactions.Sum(t => t.Events.Count),
            Math.Round(generationSeconds, 3), Math.Round(serializationSeconds, 3),
            new SortedDictionary<string, int>(workload.Pushed.GroupBy(e => e.Type!).ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal));
        Say($"workload: seed {o.Seed}, {workloadReport.PushedEvents} events pushed of {workloadReport.StreamEvents} in the homeserver stream, "
            + $"{workloadReport.Rooms} rooms, {workloadReport.Users} users (generated and planned in {generationSeconds:0.00} s)");
        Say($"plan: {o.Mode.ToString().ToLowerInvariant()} mode, faults {FaultNames.Format(o.Faults)}, {plan.Transactions.Count} transactions, "
            + $"{workloadReport.EventsInTransactions} events in them (bodies serialised in {serializationSeconds:0.00} s, "
            + $"{prepared.Sum(p => (long)p.Body.Length) / 1048576.0:0.0} MiB)");
        foreach (var (what, count) in plan.Injected.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            Say($"  injected: {what} = {count}");
        }
        if (o.DryRun)
        {
            foreach (var (type, count) in workloadReport.PushedByType)
            {
                Say($"  pushed {type}: {count}");
            }
            var dry = new RunReport("AppService.Simulator", startedAt.ToString("O", CultureInfo.InvariantCulture), o.Url.ToString(),
                Mode(), FaultNames.Format(o.Faults), o.ConcurrentCopies, workloadReport, plan.Injected, null, null, null, null, null, null, null, null, "dry-run");
            await WriteJsonAsync(dry);
            output.WriteLine("0 passed, 0 failed");
            return 0;
        }

        // 2. Deliver (timed).
        using var sendDeadline = CancellationTokenSource.CreateLinkedTokenSource(interrupted);
        sendDeadline.CancelAfter(TimeSpan.FromSeconds(o.MaxSeconds));
        using var http = TransactionSender.CreateHttpClient(Math.Max(16, o.ConcurrentCopies * 2));
        var admin = new AdminApiClient(http, o.Url, o.AdminToken);
        var statsBefore = await WaitForServiceAsync(admin, sendDeadline.Token);
        await using var memory = new ProcessMemory(o.Pid, o.PidFile);
        using var ackLog = o.AckLogPath is null ? null : new AckLog(o.AckLogPath);
        var sender = new TransactionSender(http, new SenderOptions
        {
            HsToken = o.HsToken, RequestTimeout = TimeSpan.FromSeconds(o.TimeoutSeconds), AckLog = ackLog,
        });

        SendPhaseResult? warmup = null, main = null, duplicates = null;
        if (statsBefore is not null && preparedWarmup.Count > 0)
        {
            Say($"warm-up: {preparedWarmup.Count} transactions of a separate workload ...");
            warmup = await sender.SendAsync("warmup", preparedWarmup, sendDeadline.Token);
            if (o.WarmupPause > 0)
            {
                Say($"warm-up done; pausing {o.WarmupPause} s so the service's tiered JIT settles ...");
                await Task.Delay(TimeSpan.FromSeconds(o.WarmupPause), sendDeadline.Token);
            }
        }
        if (statsBefore is not null && (warmup is null || warmup.Unacknowledged == 0))
        {
            Say($"sending {prepared.Count} transactions to {o.Url} ...");
            main = await MeasuredAsync(memory, () => sender.SendAsync("main", prepared, sendDeadline.Token));
            Say($"main: {main.Acknowledged.Count}/{prepared.Count} acknowledged in {main.Elapsed.TotalSeconds:0.00} s, {main.Retries} retries");
            if (o.DuplicateOnly && main.Unacknowledged == 0)
            {
                Say($"duplicate-only: replaying {preparedDuplicates.Count} transactions under new txnIds ...");
                duplicates = await MeasuredAsync(memory, () => sender.SendAsync("duplicate-only", preparedDuplicates, sendDeadline.Token));
            }
        }

        // 3. The model from what was acknowledged, in order; then the oracle.
        var log = new DeliveryLog(o.Bot);
        foreach (var i in warmup?.Acknowledged ?? [])
        {
            log.Record(warmupPlan[i]);
        }
        foreach (var i in main?.Acknowledged ?? [])
        {
            log.Record(plan.Transactions[i]);
        }
        foreach (var i in duplicates?.Acknowledged ?? [])
        {
            log.Record(duplicatePlan[i]);
        }
        var remaining = TimeSpan.FromSeconds(o.MaxSeconds) - total.Elapsed;
        using var oracleDeadline = CancellationTokenSource.CreateLinkedTokenSource(interrupted);
        oracleDeadline.CancelAfter(remaining > OracleMinimumBudget ? remaining : OracleMinimumBudget);
        IReadOnlyList<CheckResult> results;
        IReadOnlyDictionary<string, long>? statsAfter = null;
        clock.Restart();
        if (statsBefore is null)
        {
            results = [new CheckResult("service reachable", false, "the admin API never answered 200 before --max-seconds")];
        }
        else
        {
            Say($"oracle: comparing {log.Projection.Rooms.Count} rooms and {log.TouchedUsers.Count} users with the admin API ...");
            var retries = (main?.Retries ?? 0) + (duplicates?.Retries ?? 0) + (warmup?.Retries ?? 0);
            var checker = new OracleChecker(admin, new OracleOptions
            {
                EventCheckLimit = o.CheckEvents,
                StatsBefore = statsBefore,
                RejectedSlack = retries + (long)(Math.Max(1, plan.Transactions.Max(t => t.Copies)) - 1) * log.Projection.RejectedWithoutIdDeliveries,
            });
            results = await checker.CheckAsync(log, oracleDeadline.Token);
            try
            {
                statsAfter = await admin.GetStatsAsync(oracleDeadline.Token);
            }
            catch (Exception ex) when (ex is AdminApiException or HttpRequestException or OperationCanceledException)
            {
                Say($"stats after the run unavailable: {ex.Message}");
            }
        }
        var oracleSeconds = clock.Elapsed.TotalSeconds;

        // 4. Report.
        var failures = results.Where(r => !r.Passed).ToList();
        var unacknowledged = (main is null ? plan.Transactions.Count : main.Unacknowledged + (duplicates?.Unacknowledged ?? 0))
                             + (warmup?.Unacknowledged ?? 0);
        var pass = failures.Count == 0 && unacknowledged == 0 && main is not null;
        var peak = memory.PeakBytes;
        var report = new RunReport("AppService.Simulator", startedAt.ToString("O", CultureInfo.InvariantCulture), o.Url.ToString(), Mode(),
            FaultNames.Format(o.Faults), o.ConcurrentCopies, workloadReport, plan.Injected,
            warmup is null ? null : PhaseReport.From(warmup, preparedWarmup.Count),
            main is null ? null : PhaseReport.From(main, prepared.Count),
            duplicates is null ? null : PhaseReport.From(duplicates, preparedDuplicates.Count),
            memory.Enabled ? new MemoryReport(memory.PidsSeen, peak, peak is null ? null : Math.Round(peak.Value / 1048576.0, 1)) : null,
            statsBefore, statsAfter,
            new OracleReport(results.Count - failures.Count, failures.Count, Math.Round(oracleSeconds, 3), log.Projection.Rooms.Count,
                log.Projection.Rooms.Values.Sum(r => r.Members.Count), log.Projection.AppliedCount, log.Projection.RejectedCount,
                log.EventsDelivered, log.DuplicatesDelivered, log.Projection.NotFollowingCount,
                log.Projection.Rooms.Values.Count(r => r.Suspect), failures),
            new MachineReport(Environment.ProcessorCount, loadAtStart, MachineReport.LoadAverage()),
            pass ? "pass" : "fail");
        output.WriteLine();
        output.Write(report.ToTable());
        Say($"oracle: {results.Count} checks in {oracleSeconds:0.00} s; expected {log.Projection.Rooms.Count} rooms, "
            + $"{report.Oracle!.ExpectedMemberRows} member rows, {log.Projection.AppliedCount} events accepted, "
            + $"{log.Projection.RejectedCount} rejected; {log.DuplicatesDelivered} duplicate deliveries; "
            + $"{report.Oracle.ExpectedStateEventsNotApplied} state events not following what was held (not applied), "
            + $"{report.Oracle.ExpectedSuspectRooms} rooms suspect");
        foreach (var failure in failures.Take(30))
        {
            Say($"FAILED {failure.Name}: {failure.Detail}");
        }
        if (failures.Count > 30)
        {
            Say($"... and {failures.Count - 30} more failures (all of them in the JSON report)");
        }
        if (unacknowledged > 0)
        {
            Say($"{unacknowledged} transactions were never acknowledged (deadline --max-seconds {o.MaxSeconds})");
        }
        await WriteJsonAsync(report);
        output.WriteLine(OracleChecker.Summary(results));
        return pass ? 0 : 1;
    }

    private string Mode() => o.Mode.ToString().ToLowerInvariant();

    /// <summary>A separate small workload (its own seed, so its own rooms and event ids) under txnIds warmup-N, which
    /// no homeserver plan produces, so it cannot collide with the main run's txnIds.</summary>
    private (IReadOnlyList<PlannedTransaction> Plan, IReadOnlyList<PreparedTransaction> Prepared) PrepareWarmup()
    {
        if (o.Warmup == 0)
        {
            return ([], []);
        }
        var perTransaction = o.Mode == HomeserverMode.Synapse ? TransactionPlanner.SynapseMaxEvents : TransactionPlanner.DendriteMaxEvents;
        var workload = WorkloadGenerator.Generate(new WorkloadOptions
        {
            Events = o.Warmup * perTransaction, Rooms = Math.Clamp(o.Rooms / 10, 1, 5), Users = o.Users,
            Seed = o.Seed ^ 0x5741524D, BotUserId = o.Bot, GhostPrefix = o.GhostPrefix,
        });
        var plan = TransactionPlanner.Plan(workload, new PlanOptions { Mode = o.Mode, Seed = o.Seed })
            .Transactions.Take(o.Warmup)
            .Select((t, i) => new PlannedTransaction { TxnId = $"warmup-{i + 1}", Events = t.Events, Kind = t.Kind })
            .ToList();
        return (plan, PreparedTransaction.Prepare(plan, o.Url, o.Mode));
    }

    /// <summary>Runs a phase and adds the service's CPU time to it, if its pid is known and stayed the same.</summary>
    private static async Task<SendPhaseResult> MeasuredAsync(ProcessMemory memory, Func<Task<SendPhaseResult>> phase)
    {
        var pid = memory.Pid;
        var before = pid is { } p1 ? ProcessMemory.ReadCpu(p1) : null;
        var result = await phase();
        if (pid is { } p2 && memory.Pid == p2 && before is { } b && ProcessMemory.ReadCpu(p2) is { } after)
        {
            result.ServiceCpu = after - b;
        }
        return result;
    }

    /// <summary>Polls the admin stats until the service answers (it may still be starting); null at the deadline.</summary>
    private async Task<IReadOnlyDictionary<string, long>?> WaitForServiceAsync(AdminApiClient admin, CancellationToken deadline)
    {
        var waited = Stopwatch.StartNew();
        var said = false;
        while (!deadline.IsCancellationRequested)
        {
            try
            {
                return await admin.GetStatsAsync(deadline);
            }
            catch (Exception ex) when (ex is AdminApiException or HttpRequestException or OperationCanceledException)
            {
                if (!said && waited.Elapsed > TimeSpan.FromSeconds(1))
                {
                    Say($"waiting for the service at {o.Url} ({ex.Message})");
                    said = true;
                }
            }
            try
            {
                await Task.Delay(200, deadline);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return null;
    }

    private async Task WriteJsonAsync(RunReport report)
    {
        if (o.JsonPath is null)
        {
            return;
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(o.JsonPath));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
        await File.WriteAllTextAsync(o.JsonPath, report.ToJson());
        Say($"report written to {o.JsonPath}");
    }

    private void Say(string line) => output.WriteLine(line);
}
