using System.Text.Json.Nodes;
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
        ["room_id"] = new("Only the jobs of this room id.", "!OGEhHVWSdvArJzumhm:example.org"),
        ["exact"] = new("true: count every row (seconds on large tables). Default: tables of 100,000 rows or more by the planner's estimate, named in 'estimated'.", false),
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
    };

    /// <summary>Descriptions, examples and allowed values of the parameters.</summary>
    internal sealed class ParameterFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
            {
                if (parameter.Name is { } name && Parameters.TryGetValue(name, out var doc))
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
                if (property is OpenApiSchema field && Fields.TryGetValue(name, out var doc))
                {
                    field.Description ??= doc.Description;
                    field.Example = doc.Example?.DeepClone();
                    if (doc.Values is not null)
                    {
                        field.Enum = doc.Values.Select(v => (JsonNode)JsonValue.Create(v)).ToList();
                    }
                }
            }
        }
    }
}
