using AppService.Simulator;
using AppService.Simulator.Cli;

var (options, error) = OptionsParser.Parse(args);
if (options is null)
{
    Console.Error.WriteLine($"error: {error}");
    Console.Error.WriteLine("Run with --help for the options.");
    return 2;
}
if (options.Help)
{
    Console.WriteLine(SimulatorOptions.Usage);
    return 0;
}

using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    interrupted.Cancel();
};
if (options.HomeserverPort is not null)
{
    return await AppService.Simulator.Homeserver.HomeserverCommand.RunAsync(options, Console.Out, interrupted.Token);
}
return await new SimulatorRun(options, Console.Out).RunAsync(interrupted.Token);
