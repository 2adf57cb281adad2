using AppService.Registrations;
using YamlDotNet.RepresentationModel;

namespace AppService.Tests.Deploy;

/// <summary>
/// There is no Docker engine where the tests run, so these tests read docker-compose.yml and the files it mounts
/// and check that they are wired to each other: the parts a typo breaks silently.
/// </summary>
public sealed class DockerComposeTests
{
    private static readonly YamlMappingNode Compose = Yaml.Load("docker-compose.yml");
    private static readonly YamlMappingNode Services = Compose.Map("services");

    private static YamlMappingNode Service(string name) => Services.Map(name);

    private static IReadOnlyList<string> Profiles(string service) => Service(service).List("profiles");

    private static string Env(string service, string key) => Yaml.WithComposeDefaults(Service(service).Map("environment").Str(key));

    /// <summary>Bind mounts of a service as (host path relative to the root, container path).</summary>
    private static Dictionary<string, string> BindMounts(string service) => Service(service).List("volumes")
        .Select(v => v.Split(':'))
        .Where(p => p[0].StartsWith("./", StringComparison.Ordinal))
        .ToDictionary(p => p[1], p => p[0][2..]);

    /// <summary>The host file mounted at <paramref name="containerPath"/>; fails if nothing is mounted there.</summary>
    private static string HostFileMountedAt(string service, string containerPath)
    {
        Assert.True(BindMounts(service).TryGetValue(containerPath, out string? host), $"{service}: nothing is mounted at {containerPath}");
        Assert.True(File.Exists(RepoRoot.File(host!)), $"{service}: {host} does not exist");
        return host!;
    }

    private static Registration ComposeRegistration() =>
        RegistrationLoader.LoadFile(RepoRoot.File("deploy", "registration.compose.yaml"), allowPlaceholderTokens: true);

    [Fact]
    public void The_stack_has_postgres_the_appservice_synapse_and_a_dendrite_profile()
    {
        Assert.Equal(["postgres", "appservice", "synapse", "dendrite"], Services.Children.Keys.Select(k => ((YamlScalarNode)k).Value));
        Assert.Empty(Profiles("postgres"));
        Assert.Empty(Profiles("appservice"));
        Assert.Empty(Profiles("synapse"));
        Assert.Equal(["dendrite"], Profiles("dendrite"));
    }

    [Fact]
    public void Postgres_has_a_pg_isready_healthcheck_over_tcp_and_the_appservice_waits_for_it()
    {
        var test = Service("postgres").Map("healthcheck").List("test");
        Assert.Contains("pg_isready", test);
        Assert.Contains("127.0.0.1", test);

        foreach (string service in new[] { "appservice", "synapse", "dendrite" })
        {
            Assert.Equal("service_healthy", Service(service).Map("depends_on").Map("postgres").Str("condition"));
        }
    }

    [Fact]
    public void The_appservice_is_built_from_the_deploy_dockerfile_and_configured_by_environment()
    {
        var build = Service("appservice").Map("build");
        Assert.Equal(".", build.Str("context"));
        Assert.True(File.Exists(RepoRoot.File(build.Str("dockerfile"))));

        Assert.Equal("Development", Env("appservice", "ASPNETCORE_ENVIRONMENT"));
        Assert.Equal("http://synapse:8008", Env("appservice", "AppService__HomeserverUrl"));
        Assert.Equal("localhost", Env("appservice", "AppService__ServerName"));
        Assert.True(Env("appservice", "AppService__AdminToken").Length >= 16);
        Assert.Equal("/config/registration.yaml", Env("appservice", "AppService__RegistrationFile"));

        string connectionString = Env("appservice", "ConnectionStrings__AppService");
        Assert.Contains("Host=postgres;", connectionString, StringComparison.Ordinal);
        Assert.Contains($"Username={Env("postgres", "POSTGRES_USER")};", connectionString, StringComparison.Ordinal);
        Assert.Contains($"Password={Env("postgres", "POSTGRES_PASSWORD")};", connectionString, StringComparison.Ordinal);
        Assert.Contains($"Database={Env("postgres", "POSTGRES_DB")}", connectionString, StringComparison.Ordinal);
    }

    [Fact]
    public void The_registration_mounted_into_the_appservice_is_the_one_mounted_into_both_homeservers()
    {
        string forAppservice = HostFileMountedAt("appservice", Env("appservice", "AppService__RegistrationFile"));
        Assert.Equal("deploy/registration.compose.yaml", forAppservice);

        var synapse = Yaml.Load(HostFileMountedAt("synapse", Env("synapse", "SYNAPSE_CONFIG_PATH")));
        string synapsePath = Assert.Single(synapse.List("app_service_config_files"));
        Assert.Equal(forAppservice, HostFileMountedAt("synapse", synapsePath));

        var dendrite = Yaml.Load(HostFileMountedAt("dendrite", "/etc/dendrite/dendrite.yaml"));
        string dendritePath = Assert.Single(dendrite.Map("app_service_api").List("config_files"));
        Assert.Equal(forAppservice, HostFileMountedAt("dendrite", dendritePath));

        Assert.All(Service("synapse").List("volumes").Concat(Service("dendrite").List("volumes")).Concat(Service("appservice").List("volumes"))
            .Where(v => v.Contains("registration", StringComparison.Ordinal)),
            v => Assert.EndsWith(":ro", v, StringComparison.Ordinal));
    }

    [Fact]
    public void The_dendrite_command_uses_the_mounted_config_and_the_signing_key_in_its_volume()
    {
        string command = Assert.Single(Service("dendrite").List("command"));
        var dendrite = Yaml.Load("deploy", "dendrite", "dendrite.yaml");
        string key = dendrite.Map("global").Str("private_key");

        Assert.Contains("-config /etc/dendrite/dendrite.yaml", command, StringComparison.Ordinal);
        Assert.Contains($"generate-keys -private-key {key}", command, StringComparison.Ordinal);
        Assert.Contains($"test -s {key}", command, StringComparison.Ordinal);
        Assert.Contains(Service("dendrite").List("volumes"), v => v.StartsWith("dendrite-data:", StringComparison.Ordinal)
            && key.StartsWith(v.Split(':')[1] + "/", StringComparison.Ordinal));
    }

    [Fact]
    public void The_registration_url_names_the_appservice_service_and_its_listen_port()
    {
        var url = new Uri(ComposeRegistration().Url!);

        Assert.Equal("appservice", url.Host);
        Assert.True(Services.Children.ContainsKey(new YamlScalarNode(url.Host)));
        Assert.Equal(Env("appservice", "ASPNETCORE_HTTP_PORTS"), url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Dockerfile.Env("ASPNETCORE_HTTP_PORTS"), url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void The_registration_namespace_and_both_homeservers_use_the_appservice_server_name()
    {
        string serverName = Env("appservice", "AppService__ServerName");
        var registration = ComposeRegistration();

        Assert.Equal(serverName, Yaml.Load("deploy", "synapse", "homeserver.yaml").Str("server_name"));
        Assert.Equal(serverName, Yaml.Load("deploy", "dendrite", "dendrite.yaml").Map("global").Str("server_name"));
        Assert.Equal(serverName, Env("synapse", "SYNAPSE_SERVER_NAME"));
        var ns = Assert.Single(registration.Namespaces.Users);
        Assert.Matches(ns.Regex, $"@_bot_alice:{serverName}");
        Assert.DoesNotMatch(ns.Regex, "@_bot_alice:example.org");
    }

    [Fact]
    public void The_compose_registration_uses_placeholder_tokens_that_only_development_accepts()
    {
        Assert.True(RegistrationLoader.IsPlaceholderToken(ComposeRegistration().AsToken));
        Assert.Throws<RegistrationException>(() => RegistrationLoader.LoadFile(RepoRoot.File("deploy", "registration.compose.yaml")));
    }

    [Fact]
    public void The_homeserver_url_of_the_appservice_points_at_the_synapse_listener()
    {
        var url = new Uri(Env("appservice", "AppService__HomeserverUrl"));
        var listener = Assert.Single(
            Yaml.Load("deploy", "synapse", "homeserver.yaml").Get("listeners")!.AllNodes.OfType<YamlMappingNode>(),
            n => n.Get("type") is YamlScalarNode { Value: "http" });

        Assert.Equal("synapse", url.Host);
        Assert.Equal(listener.Str("port"), url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("dendrite")]
    public void Only_the_homeserver_client_port_is_published_and_only_on_loopback(string? profile)
    {
        var running = Services.Children
            .Where(kv => Profiles(((YamlScalarNode)kv.Key).Value!) is var p && (p.Count == 0 || (profile is not null && p.Contains(profile))))
            .Select(kv => ((YamlScalarNode)kv.Key).Value!)
            .Where(name => profile is null || name != "synapse")
            .ToList();

        var published = running.SelectMany(s => Service(s).List("ports").Select(p => (Service: s, Port: p))).ToList();

        var (service, port) = Assert.Single(published);
        Assert.Equal(profile ?? "synapse", service);
        Assert.Equal("127.0.0.1:8008:8008", port);
    }

    [Fact]
    public void Postgres_and_the_appservice_are_only_on_the_internal_network()
    {
        var networks = Compose.Map("networks");
        Assert.Equal("true", networks.Map("backend").Str("internal"));

        Assert.Equal(["backend"], Service("postgres").List("networks"));
        Assert.Equal(["backend"], Service("appservice").List("networks"));
        Assert.Contains("backend", Service("synapse").List("networks"));
        Assert.Contains("backend", Service("dendrite").List("networks"));
        Assert.Empty(Service("postgres").List("ports"));
        Assert.Empty(Service("appservice").List("ports"));
    }

    [Fact]
    public void The_homeserver_databases_created_by_the_init_script_are_the_ones_the_homeservers_use()
    {
        string initSql = RepoRoot.ReadAllText(HostFileMountedAt("postgres", "/docker-entrypoint-initdb.d/10-homeservers.sql"));
        var synapseDb = Yaml.Load("deploy", "synapse", "homeserver.yaml").Map("database");
        var args = synapseDb.Map("args");

        Assert.Equal("psycopg2", synapseDb.Str("name"));
        Assert.Equal("postgres", args.Str("host"));
        Assert.Contains($"CREATE ROLE {args.Str("user")} LOGIN PASSWORD '{args.Str("password")}'", initSql, StringComparison.Ordinal);
        Assert.Contains($"CREATE DATABASE {args.Str("dbname")} OWNER {args.Str("user")} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'", initSql, StringComparison.Ordinal);

        var dendrite = new Uri(Yaml.Load("deploy", "dendrite", "dendrite.yaml").Map("global").Map("database").Str("connection_string"));
        string[] userInfo = dendrite.UserInfo.Split(':');
        Assert.Equal("postgres", dendrite.Host);
        Assert.Contains($"CREATE ROLE {userInfo[0]} LOGIN PASSWORD '{userInfo[1]}'", initSql, StringComparison.Ordinal);
        Assert.Contains($"CREATE DATABASE {dendrite.AbsolutePath.TrimStart('/')} OWNER {userInfo[0]}", initSql, StringComparison.Ordinal);
    }

    [Fact]
    public void Synapse_mounts_its_log_config_and_keeps_keys_and_media_in_its_volume()
    {
        var synapse = Yaml.Load("deploy", "synapse", "homeserver.yaml");

        HostFileMountedAt("synapse", synapse.Str("log_config"));
        Assert.StartsWith("/data/", synapse.Str("signing_key_path"), StringComparison.Ordinal);
        Assert.StartsWith("/data/", synapse.Str("media_store_path"), StringComparison.Ordinal);
        Assert.Contains("synapse-data:/data", Service("synapse").List("volumes"));
        Assert.Equal("false", synapse.Str("enable_registration"));
        Assert.False(string.IsNullOrEmpty(synapse.Str("registration_shared_secret")));
        Assert.Equal("false", synapse.Str("report_stats"));
    }

    [Fact]
    public void The_synapse_log_config_is_a_python_logging_dict_config()
    {
        var log = Yaml.Load("deploy", "synapse", "log.config");

        Assert.Equal("1", log.Str("version"));
        Assert.Contains("console", log.Map("root").List("handlers"));
        Assert.Equal("logging.StreamHandler", log.Map("handlers").Map("console").Str("class"));
    }
}
