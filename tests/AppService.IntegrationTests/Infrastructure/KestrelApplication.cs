using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace AppService.IntegrationTests.Infrastructure;

/// <summary>
/// The service behind real Kestrel on 127.0.0.1 (an ephemeral port, so parallel runs never collide), as it runs in
/// production: requests keep their raw target, bodies come over sockets. Every intent method of
/// <see cref="AppServiceApplication"/> goes over loopback here.
/// </summary>
public class KestrelApplication : AppServiceApplication
{
    public KestrelApplication() => UseKestrel(options => ConfigureKestrel(options));

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Listens on an ephemeral loopback port; a derived fixture may add limits.</summary>
    protected virtual void ConfigureKestrel(KestrelServerOptions options) => options.Listen(IPAddress.Loopback, 0);

    protected override void Start()
    {
        StartServer();
        string address = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
    }

    /// <summary>A real HTTP client (SocketsHttpHandler over loopback).</summary>
    public override HttpClient Client() =>
        new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
}
