using System.Text.Json.Nodes;
using AppService.Hosting;
using AppService.Matrix;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace AppService.Admin;

/// <summary>
/// What Swagger UI shows for the admin API beyond the routes themselves: a description, a realistic example and,
/// for closed sets, the allowed values of every parameter and response field, so that the page alone explains each
/// call. Naming follows the Matrix spec: path parameters in camelCase ({roomId}, as in the spec's paths), query
/// parameters and JSON fields in snake_case (room_id, next_batch).
/// </summary>
internal static class AdminOpenApi
{
    public const string TokenHelp =
        "The value of AppService:AdminToken. scripts/run.sh makes one and keeps it in .data/admin-token (and prints it "
        + "when it starts): paste the content of that file here.";

    public const string DocumentDescription =
        "Queries over the room projections. Every route needs 'Authorization: Bearer <AppService:AdminToken>' (Authorize "
        + "button; run.sh keeps it in .data/admin-token). Path parameters are Matrix ids, which Swagger UI URL-encodes "
        + "for you (!room:server is %21room%3Aserver). Path parameters are named as in the Matrix spec ({roomId}); "
        + "query parameters and JSON fields are snake_case (room_id, next_batch). Lists are paged: pass next_batch back as 'from'.";

    private static readonly string[] MembershipValues = ["join", "invite", "leave", "ban", "knock"];

    private sealed record Doc(string Description, JsonNode? Example, string[]? Values = null);

    private static readonly Dictionary<string, Doc> Parameters = new(StringComparer.Ordinal)
    {
        ["roomId"] = new("A Matrix room id (!opaque:server).", "!OGEhHVWSdvArJzumhm:example.org"),
        ["userId"] = new("A Matrix user id (@localpart:server).", "@alice:example.org"),
        ["eventId"] = new(
            "An event id: $opaque:server in room versions 1-2, an unpadded base64 hash from v3 on, which may contain / and + "
            + "(URL-encoded as %2F and %2B; Swagger UI does it).",
            "$Rqnc/UnY0h6ZQd2+5hPE0sNX5dBcRzkQW7oVKg4NqzM"),
        ["jobId"] = new("A job id, as answered by POST /admin/v1/rooms/{roomId}/resync or listed by GET /admin/v1/jobs.", 42),
        ["membership"] = new("Only rows with this membership. 'join' lists who is in the room; without it every stored row (leave and ban too).", "join", MembershipValues),
        ["state"] = new("open (default): queued, running or waiting to retry; failed: given up after a permanent refusal; all.", "open", ["open", "failed", "all"]),
        ["from"] = new("The next_batch of the previous page; omit it for the first page.", null),
        ["limit"] = new("Page size, 1 to 1000 (default 100).", 100),
        ["room_id"] = new("Only the rows of this room id.", "!OGEhHVWSdvArJzumhm:example.org"),
        ["exact"] = new("true: count every row (seconds on large tables). Default: tables of 100,000 rows or more by the planner's estimate, named in 'estimated'.", false),
    };

    private const string FeedTokenExample = "7813_52204";

    /// <summary>Parameters whose meaning depends on the route, keyed by "route parameter" (route as in <see cref="Route"/>).</summary>
    private static readonly Dictionary<string, Doc> RouteParameters = new(StringComparer.Ordinal)
    {
        ["GET /admin/v1/jobs room_id"] = new("Only the jobs of this room id.", "!OGEhHVWSdvArJzumhm:example.org"),
        ["GET /admin/v1/rejected-events room_id"] = new("Only the rejected events of this room id.", "!OGEhHVWSdvArJzumhm:example.org"),
        ["GET /admin/v1/rejected-events reason"] = new(
            "Only the rejected events with this reason code: not_object, missing_field, invalid_string, wrong_type, too_large, too_deep "
            + "(the event broke a rule of docs/api.md \"Input safety\"), processing_failed (valid, but applying it failed alone), legacy "
            + "(stored before reason codes existed).",
            RejectionCodes.MissingField,
            [.. RejectionCodes.All, RejectionCodes.Legacy]),
        ["GET /admin/v1/users/{userId}/rooms membership"] = new(
            "Only the rooms where the user has this membership. 'join' lists the rooms the user is in; without it every room the user has a member row in (left and banned too).",
            "join",
            MembershipValues),
        ["GET /admin/v1/changes from"] = new(
            "The next_batch of the previous answer (or the position of the last change you handled). Omit it to start at the oldest "
            + "change kept. Older than what retention kept: 410 with oldest_token; not a token of this feed: 400.", FeedTokenExample),
        ["GET /admin/v1/changes limit"] = new("Most changes per answer, 1 to 1000 (default 100).", 100),
        ["GET /admin/v1/changes timeout"] = new(
            "Milliseconds to wait when there is no change yet (long poll), 0 (default) to 30000; larger values wait 30000. "
            + "Nothing by then: an empty list and the same next_batch.", 30000),
        ["GET /admin/v1/changes room_id"] = new("Only the changes of this room.", "!OGEhHVWSdvArJzumhm:example.org"),
        ["GET /admin/v1/changes kind"] = new("Only member changes or only room changes.", "member", ["member", "room"]),
        ["GET /admin/v1/rooms/{roomId}/members/{userId}/history from"] = new("The next_batch of the previous page; omit it for the first page. Older than what retention kept: 410 with oldest_token.", FeedTokenExample),
        ["GET /admin/v1/rooms/{roomId}/members at"] = new(
            "An RFC 3339 date-time with a time zone: the member rows as they were then, from the change log (same paging and "
            + "filters). Before what the change log keeps: 410 with oldest_at.", "2026-12-01T09:30:00Z"),
    };

    private const string Unauthorized =
        "No Authorization header, another scheme, or a bearer token that is not AppService:AdminToken (the detail says which; the token is never echoed).";

    private const string Unavailable =
        "The database is unavailable: nothing was read or changed. Retry after the Retry-After header's seconds.";

    private const string BadPage =
        "A parameter is invalid (ValidationProblem naming it): limit outside 1-1000, a 'from' that is not a next_batch of this list, or a value holding U+0000 or invalid UTF-16.";

    /// <summary>
    /// The error answers of every admin route, with what each means for that route. The route table declares them
    /// (ProducesProblem); this says what they mean, and a route without its entry here fails the document.
    /// </summary>
    private static readonly Dictionary<string, Dictionary<int, string>> Answers = new(StringComparer.Ordinal)
    {
        ["GET /admin/v1/rooms"] = new() { [400] = BadPage, [401] = Unauthorized, [503] = Unavailable },
        ["GET /admin/v1/rooms/{roomId}"] = new()
        {
            [400] = "roomId holds U+0000 or invalid UTF-16.",
            [401] = Unauthorized,
            [404] = "Unknown room: no event of this room id was processed (or it was never pushed to the bot).",
            [503] = Unavailable,
        },
        ["GET /admin/v1/rooms/{roomId}/members"] = new()
        {
            [400] = "A parameter is invalid (ValidationProblem naming it): membership not one of join, invite, leave, ban, knock; limit outside 1-1000; a 'from' that is not a next_batch of this list; U+0000 or invalid UTF-16.",
            [401] = Unauthorized,
            [404] = "Unknown room: no event of this room id was processed. (A known room with no member rows is 200 with an empty list.)",
            [410] = "at is before what the change log keeps (AppService:Retention:Changes); the answer gives oldest_at.",
            [503] = Unavailable,
        },
        ["GET /admin/v1/users/{userId}/rooms"] = new()
        {
            [400] = "A parameter is invalid (ValidationProblem naming it): membership not one of join, invite, leave, ban, knock; limit outside 1-1000; a 'from' that is not a next_batch of this list; U+0000 or invalid UTF-16.",
            [401] = Unauthorized,
            [503] = Unavailable,
        },
        ["GET /admin/v1/events/{eventId}"] = new()
        {
            [400] = "eventId holds U+0000 or invalid UTF-16.",
            [401] = Unauthorized,
            [404] = "Unknown event: never processed, or its record was deleted by retention (AppService:Retention:ProcessedEvents).",
            [503] = Unavailable,
        },
        ["POST /admin/v1/rooms/{roomId}/resync"] = new()
        {
            [400] = "roomId holds U+0000 or invalid UTF-16.",
            [401] = Unauthorized,
            [404] = "Unknown room: no event of this room id was processed, so there is nothing to resync.",
            [503] = Unavailable,
        },
        ["GET /admin/v1/rooms/{roomId}/members/{userId}/history"] = new()
        {
            [400] = BadPage,
            [401] = Unauthorized,
            [404] = "Unknown room: no event of this room id was processed.",
            [410] = "from is older than what retention kept (AppService:Retention:Changes): entries after it were deleted; read the history again from the start (the answer gives oldest_token).",
            [503] = Unavailable,
        },
        ["GET /admin/v1/changes"] = new()
        {
            [400] = "A parameter is invalid (ValidationProblem naming it): from not a token of this feed (malformed, or never issued by this database cluster), limit outside 1-1000, timeout negative, kind not member or room, U+0000 or invalid UTF-16.",
            [401] = Unauthorized,
            [410] = "from is older than what retention kept (AppService:Retention:Changes): start again from a snapshot (the admin routes) and the oldest_token the answer gives.",
            [503] = Unavailable,
        },
        ["GET /admin/v1/jobs"] = new()
        {
            [400] = "A parameter is invalid (ValidationProblem naming it): state not one of open, failed, all; limit outside 1-1000; U+0000 or invalid UTF-16.",
            [401] = Unauthorized,
            [503] = Unavailable,
        },
        ["GET /admin/v1/jobs/{jobId}"] = new()
        {
            [401] = Unauthorized,
            [404] = "Unknown job: no such id, or the job finished longer ago than AppService:Jobs:Retention and was deleted.",
            [503] = Unavailable,
        },
        ["GET /admin/v1/rejected-events"] = new() { [400] = BadPage, [401] = Unauthorized, [503] = Unavailable },
        ["GET /admin/v1/stats"] = new()
        {
            [400] = "exact is not true or false.",
            [401] = Unauthorized,
            [503] = Unavailable,
        },
        ["POST /admin/v1/maintenance/prune"] = new()
        {
            [401] = Unauthorized,
            [503] = Unavailable + " Rows deleted by batches that committed before the outage stay deleted.",
        },
    };

    /// <summary>The route of an operation as "METHOD /path", route constraints removed ({jobId:long} is {jobId}).</summary>
    private static string Route(OperationFilterContext context) =>
        $"{context.ApiDescription.HttpMethod} /{System.Text.RegularExpressions.Regex.Replace(context.ApiDescription.RelativePath ?? "", "{([^}:]+):[^}]+}", "{$1}")}";


    /// <summary>Fields whose meaning depends on the response type; the rest are in <see cref="Fields"/>.</summary>
    private static readonly Dictionary<(Type Type, string Name), Doc> TypeFields = new()
    {
        [(typeof(ChangeResponse), "kind")] = new("member: a member row changed; room: room fields changed.", "member", ["member", "room"]),
        [(typeof(ChangeResponse), "position")] = new("This change's place in the feed; pass it as 'from' to go on after it.", FeedTokenExample),
        [(typeof(ChangeResponse), "membership")] = new("member: the membership now; null: the row was removed (the bot left the room, or a resync found no member).", "join", MembershipValues),
        [(typeof(ChangeResponse), "changed")] = new(
            "room: the fields that changed, with their new values (null: cleared): name, topic, canonical_alias, avatar_url, join_rule, "
            + "history_visibility, encryption, room_version, creators, tombstone_successor, bot_membership. A new room lists every field it has.",
            new JsonObject { ["name"] = "Ops demo", ["topic"] = "Hello" }),
        [(typeof(ChangesResponse), "next_batch")] = new("Pass it back as 'from' for the next answer; never null.", FeedTokenExample),
        [(typeof(MemberHistoryEntry), "position")] = new("The change's place in the feed.", FeedTokenExample),
        [(typeof(MemberHistoryEntry), "membership")] = new("The membership after the change; null: the row was removed.", "join", MembershipValues),
        [(typeof(MemberHistoryResponse), "next_batch")] = new("Pass it back as 'from' for the next page; null on the last page.", FeedTokenExample),
    };

    private static readonly Dictionary<string, Doc> Fields = new(StringComparer.Ordinal)
    {
        ["room_id"] = new("Room id.", "!OGEhHVWSdvArJzumhm:example.org"),
        ["user_id"] = new("User id.", "@alice:example.org"),
        ["event_id"] = new("Event id.", "$Rqnc/UnY0h6ZQd2+5hPE0sNX5dBcRzkQW7oVKg4NqzM"),
        ["sender"] = new("Who sent the event that set this row (a kick: sender is not the member).", "@alice:example.org"),
        ["membership"] = new("Membership.", "join", MembershipValues),
        ["bot_membership"] = new("The bot's own membership in the room.", "join", MembershipValues),
        ["displayname"] = new("Display name from the member event.", "Alice"),
        ["name"] = new("m.room.name.", "Ops demo"),
        ["topic"] = new("m.room.topic.", "Hello from the stack"),
        ["canonical_alias"] = new("m.room.canonical_alias.", "#ops:example.org"),
        ["join_rule"] = new("m.room.join_rules.", "invite"),
        ["history_visibility"] = new("m.room.history_visibility.", "shared"),
        ["room_version"] = new("From m.room.create.", "10"),
        ["creator"] = new("From m.room.create.", "@alice:example.org"),
        ["state_source"] = new("null: pushed events only; stripped: an invite's unverified stripped state; homeserver: resynced.", "homeserver", ["stripped", "homeserver"]),
        ["next_batch"] = new("Pass it back as 'from' for the next page; null on the last page.", "IU9HRWhIVldTZHZBckp6dW1obTpleGFtcGxlLm9yZw"),
        ["txn_id"] = new("The homeserver's transaction id.", "1712"),
        ["kind"] = new("Job kind.", "resync", ["join", "resync", "drift_check"]),
        ["outcome"] = new("null while open.", "done", ["done", "skipped", "stale", "drift", "failed"]),
        ["reason"] = new("Why the job was queued.", "admin"),
        ["prev_membership"] = new("The membership before the change; null: there was no row.", "invite", MembershipValues),
        ["cause"] = new(
            "event: a pushed event; resync: the homeserver's snapshot; redaction: a redaction of the row's current event; "
            + "purge: the bot left the room and its member rows were deleted.", "event", ["event", "resync", "redaction", "purge"]),
        ["at"] = new("When the change was written, by the database's clock, in the transaction that committed it.", "2026-12-06T21:48:01.123456+00:00"),
    };

    /// <summary>Descriptions, examples and allowed values of the parameters.</summary>
    internal sealed class ParameterFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            string route = Route(context);
            foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
            {
                if (parameter.Name is { } name
                    && (RouteParameters.TryGetValue($"{route} {name}", out var doc) || Parameters.TryGetValue(name, out doc)))
                {
                    parameter.Description = doc.Description;
                    parameter.Example = doc.Example?.DeepClone();
                    if (doc.Values is not null && parameter.Schema is OpenApiSchema schema)
                    {
                        schema.Enum = doc.Values.Select(v => (JsonNode)JsonValue.Create(v)).ToList();
                    }
                }
            }
        }
    }

    /// <summary>Examples (instead of "string") and allowed values of the response fields.</summary>
    internal sealed class FieldFilter : ISchemaFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
        {
            if (context.Type.Namespace != typeof(AdminOpenApi).Namespace || schema.Properties is null)
            {
                return;
            }

            foreach (var (name, property) in schema.Properties)
            {
                bool typed = TypeFields.TryGetValue((context.Type, name), out var doc);
                if (property is OpenApiSchema field && (typed || Fields.TryGetValue(name, out doc)))
                {
                    field.Description = typed ? doc!.Description : field.Description ?? doc!.Description;
                    field.Example = doc!.Example?.DeepClone();
                    if (doc.Values is not null)
                    {
                        field.Enum = doc.Values.Select(v => (JsonNode)JsonValue.Create(v)).ToList();
                    }
                }
            }
        }
    }

    /// <summary>
    /// Each route's error answers, described for that route; answers the route cannot give are removed (the group
    /// declares 400 for all). The success answers are left as the route table made them.
    /// </summary>
    internal sealed class ResponseFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            string route = Route(context);
            if (!route.Contains(" /admin/", StringComparison.Ordinal) || operation.Responses is null)
            {
                return;
            }

            if (!Answers.TryGetValue(route, out var answers))
            {
                throw new InvalidOperationException($"AdminOpenApi.Answers has no entry for {route}: say what its error answers mean.");
            }

            foreach (string status in operation.Responses.Keys.Where(k => k.Length == 3 && k[0] is '4' or '5').ToList())
            {
                if (!answers.ContainsKey(int.Parse(status, System.Globalization.CultureInfo.InvariantCulture)))
                {
                    operation.Responses.Remove(status);
                }
            }

            foreach (var (status, description) in answers)
            {
                if (!operation.Responses.TryGetValue(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response) || response is not OpenApiResponse answer)
                {
                    throw new InvalidOperationException($"{route} does not declare its {status} answer (ProducesProblem in AdminApi's route table).");
                }

                answer.Description = description;
            }
        }
    }

    /// <summary>
    /// ProblemDetails as the service writes it: its extension members are not open-ended (Swagger UI would invent
    /// additionalProp1..3), and the example is a real answer.
    /// </summary>
    internal sealed class ProblemDetailsFilter : ISchemaFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
        {
            if (schema is not OpenApiSchema problem || !typeof(ProblemDetails).IsAssignableFrom(context.Type) && context.Type != typeof(HttpValidationProblemDetails))
            {
                return;
            }

            problem.AdditionalPropertiesAllowed = false;
            problem.AdditionalProperties = null;
            problem.Example = context.Type == typeof(HttpValidationProblemDetails) || typeof(HttpValidationProblemDetails).IsAssignableFrom(context.Type)
                ? new JsonObject
                {
                    ["type"] = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                    ["title"] = "One or more validation errors occurred.",
                    ["status"] = 400,
                    ["errors"] = new JsonObject { ["limit"] = new JsonArray("limit must be between 1 and 1000.") },
                }
                : new JsonObject
                {
                    ["type"] = "https://tools.ietf.org/html/rfc9110#section-15.6.4",
                    ["title"] = "Database unavailable",
                    ["status"] = 503,
                    ["detail"] = $"The database did not answer; nothing was changed. Retry in {ApiExceptionHandler.RetryAfterSeconds} seconds.",
                };
        }
    }
}
