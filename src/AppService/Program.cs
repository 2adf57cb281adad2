using AppService.Hosting;
using AppService.Registrations;
using Microsoft.Extensions.Options;

if (args is ["generate-registration", .. var options])
{
    return RegistrationCommand.Run(options, Console.Out, Console.Error, Environment.CurrentDirectory);
}

var builder = WebApplication.CreateBuilder(HostPaths.Options(args));
builder.AddAppService();

var app = builder.Build();
try
{
    app.ValidateConfiguration();
}
catch (Exception ex) when (ex is RegistrationException or OptionsValidationException or InvalidOperationException)
{
    // One line that says what is wrong; no stack trace for a configuration mistake.
    Console.Error.WriteLine($"appservice: configuration error: {ex.Message}");
    return 2;
}

app.UseAppService();
app.Run();
return 0;

public partial class Program;
