using AppService.Benchmarks;
using AppService.Benchmarks.Live;

// floor     --connection CS [--events N --rooms R --users U --seed S --warmup W --bot @bot:localhost --json out.json]
// compare   --service simulator.json --floor floor.json [--markdown out.md] [--json out.json]
// rounds    --phase NAME --target "name=..;url=..;token=..;pid=..[;metrics=..;body=..;script=..;threads=..;connections=..;prune=..;admin_token=..;db=..]"
//           [--target ...] [--body F --script F --threads 1 --connections 1] [--warmup-seconds 20 --warmup-max-seconds 240
//           --warmup-chunk-seconds 5 --jit-rate 20] [--rounds 3 --round-seconds 10] [--run-prefix r] [--json out.json]
//           [--pg CS: the server of the targets' db=, whose hot tables' sequential scans in the timed rounds fail the phase]
// report    --dir bench-results/<run> [--markdown out.md] [--json out.json]
// load-big  --connection CS [--processed-events 10000000 --members 1000000 --seed 1]
try
{
    switch (args)
    {
        case ["floor", .. var rest]:
            return await new FloorDriver(FloorOptions.Parse(rest), Console.Out).RunAsync();
        case ["compare", "--service", var service, "--floor", var floor, .. var rest]:
            string? markdown = rest is ["--markdown", var md, ..] ? md : null;
            string? json = rest is [.., "--json", var j] ? j : null;
            return Comparison.Run(service, floor, markdown, json, Console.Out);
        case ["rounds", .. var rest]:
            return await new RoundsRunner(RoundsOptions.Parse(rest), Console.Out).RunAsync(CancellationToken.None);
        case ["report", "--dir", var dir, .. var rest]:
            return GoalReport.Run(dir, rest is ["--markdown", var gm, ..] ? gm : null, rest is [.., "--json", var gj] ? gj : null, Console.Out);
        case ["load-big", .. var rest]:
            return await new BigLoader(BigLoadOptions.Parse(rest), Console.Out).RunAsync(CancellationToken.None);
        default:
            Console.Error.WriteLine("usage: AppService.Benchmarks floor|compare|rounds|report|load-big ... (see the comment at the top of Program.cs)");
            return 2;
    }
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"benchmarks: {ex.Message}");
    return 2;
}
