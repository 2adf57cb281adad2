using AppService.Admin;
using AppService.Data;
using AppService.Homeserver;
using AppService.Maintenance;
using AppService.Matrix;
using AppService.Observability;
using AppService.Projections;
using AppService.Registrations;
using AppService.Transactions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Npgsql;

namespace AppService.Hosting;

public static class AppServiceSetup
{
    /// <summary>Registers everything the service needs; configuration is read lazily and validated on start.</summary>
    public static WebApplicationBuilder AddAppService(this WebApplicationBuilder builder)
    {
        var services = builder.Services;

        // The hosting diagnostics log request URLs, and a legacy homeserver puts hs_token in the query string.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Routing", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Http.Result", LogLevel.Warning);

        // EF logs every failed command at Error, including its own probe of __EFMigrationsHistory on a fresh database.
        // Failures that matter reach our code as exceptions and are logged there, with the transaction they hit.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.Critical);

        services.AddOptions<AppServiceOptions>()
            .BindConfiguration(AppServiceOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AppServiceOptions>>(new ServerNameValidation(builder.Environment));

        services.AddSingleton(sp => LoadRegistration(sp.GetRequiredService<IOptions<AppServiceOptions>>().Value.RegistrationFile, builder.Environment));
        services.AddSingleton(sp => new BotIdentity(
            sp.GetRequiredService<Registration>().BotUserId(
                sp.GetRequiredService<IOptions<AppServiceOptions>>().Value.ServerName ?? AppServiceOptions.DevelopmentServerName)));
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<AutoJoinOptions>()
            .BindConfiguration(AutoJoinOptions.SectionName)
            .Configure<IConfiguration>((o, configuration) => o.Legacy = configuration[AutoJoinOptions.SectionName])
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<AutoJoinOptions>>().Value.Policy(sp.GetRequiredService<BotIdentity>().UserId));

        services.AddSingleton(sp => CreateDataSource(sp.GetRequiredService<IConfiguration>()));
        services.AddSingleton<ConnectionHygiene>();
        services.AddSingleton(sp => new SalvageLockSource(sp.GetRequiredService<IConfiguration>().GetConnectionString("AppService")
            ?? throw new InvalidOperationException("ConnectionStrings:AppService is not set (env ConnectionStrings__AppService).")));
        services.AddDbContextPool<AppDbContext>((sp, options) => options.UseNpgsql(
            sp.GetRequiredService<NpgsqlDataSource>(),
            npgsql => npgsql.EnableRetryOnFailure(maxRetryCount: 3, maxRetryDelay: TimeSpan.FromSeconds(2), errorCodesToAdd: null)));
        services.AddHostedService<DatabaseMigrator>();

        builder.AddOperations();
        services.AddRetention();

        services.AddSingleton<HomeserverAuth>();
        services.AddSingleton<IHttpContextFactory, QueryTokenStrippingContextFactory>();
        services.AddScoped<TransactionProcessor>();
        services.AddHomeserverWork();

        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never);
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(o =>
        {
            o.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Matrix AppService admin API",
                Version = "v1",
                Description = AdminOpenApi.DocumentDescription,
            });
            o.AddSecurityDefinition("bearer", new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = AdminOpenApi.TokenHelp,
            });
            o.OperationFilter<AdminOpenApi.ParameterFilter>();
            o.OperationFilter<AdminOpenApi.ResponseFilter>();
            o.SchemaFilter<AdminOpenApi.FieldFilter>();
            o.SchemaFilter<AdminOpenApi.ProblemDetailsFilter>();
            o.AddSecurityRequirement(document => new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
        });
        return builder;
    }

    /// <summary>
    /// The outbound side: the typed <see cref="HomeserverClient"/> with its resilience pipeline, the durable job
    /// queue's worker, and the drift check scheduler. Each piece is described where it is defined.
    /// </summary>
    private static void AddHomeserverWork(this IServiceCollection services)
    {
        services.AddOptions<JobOptions>().BindConfiguration(JobOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DriftCheckOptions>().BindConfiguration(DriftCheckOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<HomeserverClientOptions>().BindConfiguration(HomeserverClientOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        services.AddHttpClient<HomeserverClient>((sp, http) =>
            {
                if (sp.GetRequiredService<IOptions<AppServiceOptions>>().Value.HomeserverUrl is { } url)
                {
                    // A trailing slash, so relative API paths keep a base path (https://example.org/matrix/).
                    http.BaseAddress = url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/");
                }

                // The as_token rides in this header only; header values are redacted from HttpClient's logs below.
                http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
                    "Bearer", sp.GetRequiredService<Registration>().AsToken);
                http.Timeout = Timeout.InfiniteTimeSpan; // the resilience pipeline owns the timeouts
            })
            .RedactLoggedHeaders(_ => true)
            .AddStandardResilienceHandler()
            .Configure((options, sp) => HomeserverResilience.Configure(
                options, sp.GetRequiredService<IOptions<HomeserverClientOptions>>().Value, sp.GetRequiredService<TimeProvider>()));

        services.AddSingleton<JobSignal>();
        services.AddScoped<RoomJobs>();
        services.AddHostedService<JobWorker>();
        services.AddHostedService<DriftScheduler>();
    }

    /// <summary>
    /// Every problem of the registration, the options and the connection string, one line each (empty: the service
    /// can start). <see cref="ConfigurationProblems"/> says how.
    /// </summary>
    public static IReadOnlyList<string> FindConfigurationProblems(this WebApplication app) => ConfigurationProblems.Find(app.Services);

    public static WebApplication UseAppService(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions { StatusCodeSelector = _ => StatusCodes.Status500InternalServerError });
        app.UseStatusCodePages(WriteStatusCodeBodyAsync);
        if (SwaggerOptions.IsEnabled(app.Configuration, app.Environment))
        {
            app.UseSwagger();
            app.UseSwaggerUI(o =>
            {
                o.SwaggerEndpoint("/swagger/v1/swagger.json", "Admin API v1");
                o.RoutePrefix = "swagger";
            });

            // A newcomer opens the URL run.sh printed: show them the API rather than a 404.
            app.MapGet("/", () => TypedResults.Redirect("/swagger")).ExcludeFromDescription();
        }

        app.UseOperations();
        app.MapAppServiceApi();
        app.MapAdminApi().MapMaintenanceApi();
        return app;
    }

    /// <summary>
    /// Bodies for answers that have none (no route, wrong method): Matrix errors on the homeserver's routes
    /// (404/405 M_UNRECOGNIZED, spec), ProblemDetails everywhere else.
    /// </summary>
    private static async Task WriteStatusCodeBodyAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        if (IsHomeserverPath(http.Request.Path))
        {
            string errCode = http.Response.StatusCode is 404 or 405 ? MatrixError.Codes.Unrecognized : MatrixError.Codes.Unknown;
            string message = http.Response.StatusCode switch
            {
                404 => "Unrecognized request",
                405 => "Method not allowed on this endpoint",
                _ => "Request failed",
            };
            await http.Response.WriteAsJsonAsync(new MatrixError(errCode, message));
            return;
        }

        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = http });
    }

    public static bool IsHomeserverPath(PathString path) =>
        path.StartsWithSegments("/_matrix") || path.StartsWithSegments("/transactions")
        || path.StartsWithSegments("/users") || path.StartsWithSegments("/rooms");

    // Placeholder (CHANGE_ME) tokens are refused by the loader, with the field named, unless in Development.
    internal static Registration LoadRegistration(string registrationFile, IHostEnvironment environment) =>
        RegistrationLoader.LoadFile(HostPaths.Resolve(registrationFile), allowPlaceholderTokens: environment.IsDevelopment());

    private static NpgsqlDataSource CreateDataSource(IConfiguration configuration) =>
        CreateDataSource(configuration.GetConnectionString("AppService")
            ?? throw new InvalidOperationException("ConnectionStrings:AppService is not set (env ConnectionStrings__AppService)."));

    /// <summary>The session setting every connection of the service's data source starts with (see CreateDataSource).</summary>
    public const string ForceCustomPlans = "-c plan_cache_mode=force_custom_plan";

    /// <summary>The service's data source for a connection string (public so the protocol tests use exactly this one).</summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        // No automatic preparation (Npgsql's default, Max Auto Prepare=0; a connection string may still set it).
        // With it, Npgsql 10.0.3 prepares a statement on its 5th use, and if that very run fails (a parameter the
        // server refuses at Bind, such as U+0000 in text, or one Npgsql cannot encode) the connection keeps a
        // broken cache entry: later batches on it skip a result set silently or fail for good (issue 8 cause 4,
        // Data/AutoPrepareProtocolTests). What it saved is PostgreSQL parsing and planning each statement (about
        // 1.3 ms of server CPU per 100-event transaction): the ingest gets that back by preparing its fixed
        // statements explicitly (NpgsqlBatch.PrepareAsync), which takes the row description from a Describe
        // before any parameter is sent, so a refused parameter cannot leave a half-made cache entry.
        var builder = new NpgsqlDataSourceBuilder(connectionString);

        // Every execution of a prepared statement is planned for its parameters and the tables as they are then
        // (plan_cache_mode=force_custom_plan, issue 19's plan trap): PostgreSQL would otherwise switch a prepared
        // statement to a generic plan at its 6th execution, planned with the statistics of that moment, and keep it
        // until an ANALYZE invalidates it. A service started on an empty database makes those plans while every table
        // is one page, where reading it whole is cheapest, and went on reading processed_events, room_members and
        // room_state whole once they were large (81,304 sequential scans in one benchmark run; the test
        // Data/PlanTrapTests). What the preparation still saves is the parse and the analysis. A connection string
        // that sets plan_cache_mode itself (Options=-c plan_cache_mode=...) keeps its own.
        string options = builder.ConnectionStringBuilder.Options ?? "";
        if (!options.Contains("plan_cache_mode", StringComparison.Ordinal))
        {
            builder.ConnectionStringBuilder.Options = (options + " " + ForceCustomPlans).Trim();
        }

        // No reset round when a connection goes back to the pool (No Reset On Close). With prepared statements on the
        // connection, Npgsql's reset is seven statements (RESET ALL, CLOSE ALL, UNLISTEN *, pg_advisory_unlock_all(),
        // DISCARD SEQUENCES, DISCARD TEMP, SET SESSION AUTHORIZATION DEFAULT), sent ahead of the next use: PostgreSQL
        // parsed and ran them once per ingest transaction (about 50 us of its CPU, issue 19, docs/benchmarks.md). The
        // service leaves no session state on a pooled connection to reset: its settings are transaction-local
        // (set_config(..., true)), its advisory locks transaction-level (the safety net's session lock has a connection
        // outside the pool, Data/SalvageLockSource), and it uses no LISTEN, cursor, temporary table or session SET;
        // a connection whose transaction failed is not pooled again (Data/ConnectionHygiene). The test
        // Data/PooledConnectionStateTests checks a connection after an ingest holds none. A connection string that
        // sets No Reset On Close itself keeps its own.
        if (!ConnectionStringSets(connectionString, "No Reset On Close", "NoResetOnClose"))
        {
            builder.ConnectionStringBuilder.NoResetOnClose = true;
        }

        return builder.Build();
    }

    /// <summary>Whether the connection string names one of the keys itself (keys compare case-insensitively).</summary>
    private static bool ConnectionStringSets(string connectionString, params string[] keys)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        return keys.Any(given.ContainsKey);
    }
}
