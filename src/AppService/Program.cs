using AppService.Hosting;
using AppService.Registrations;

if (args is ["generate-registration", .. var options])
{
    return RegistrationCommand.Run(options, Console.Out, Console.Error, Environment.CurrentDirectory);
}

var builder = WebApplication.CreateBuilder(HostPaths.Options(args));
builder.AddAppService();

var app = builder.Build();
var problems = app.FindConfigurationProblems();
if (problems.Count > 0)
{
    // Every problem at once, one line each; no stack trace for a configuration mistake.
    if (problems.Count == 1)
    {
        Console.Error.WriteLine($"appservice: configuration problem: {problems[0]}");
    }
    else
    {
        Console.Error.WriteLine($"appservice: {problems.Count} configuration problems (fix them all, then start again):");
        foreach (string problem in problems)
        {
            Console.Error.WriteLine($"  {problem}");
        }
    }

    return 2;
}

app.UseAppService();
app.Run();
return 0;

public partial class Program;
