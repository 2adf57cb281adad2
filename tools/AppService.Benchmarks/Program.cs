using AppService.Benchmarks;

// floor   --connection CS [--events N --rooms R --users U --seed S --warmup W --bot @bot:localhost --json out.json]
// compare --service simulator.json --floor floor.json [--markdown out.md] [--json out.json]
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
        default:
            Console.Error.WriteLine("usage: AppService.Benchmarks floor --connection CS [--events N] [--seed S] [--json F] | compare --service F --floor F [--markdown F] [--json F]");
            return 2;
    }
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"benchmarks: {ex.Message}");
    return 2;
}
