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

    private const string FeedTokenExample = "7813_52204";

    /// <summary>Parameters whose meaning depends on the route (admin/v1/... path | name); the rest are in <see cref="Parameters"/>.</summary>
    private static readonly Dictionary<string, Doc> RouteParameters = new(StringComparer.Ordinal)
    {
        ["admin/v1/changes|from"] = new(
            "The next_batch of the previous answer (or the position of the last change you handled). Omit it to start at the oldest "
            + "change kept. Older than what retention kept: 410 with oldest_token; not a token of this feed: 400.", FeedTokenExample),
        ["admin/v1/changes|limit"] = new("Most changes per answer, 1 to 1000 (default 100).", 100),
        ["admin/v1/changes|timeout"] = new(
            "Milliseconds to wait when there is no change yet (long poll), 0 (default) to 30000; larger values wait 30000. "
            + "Nothing by then: an empty list and the same next_batch.", 30000),
        ["admin/v1/changes|room_id"] = new("Only the changes of this room.", "!OGEhHVWSdvArJzumhm:example.org"),
        ["admin/v1/changes|kind"] = new("Only member changes or only room changes.", "member", ["member", "room"]),
        ["admin/v1/rooms/{roomId}/members/{userId}/history|from"] = new("The next_batch of the previous page; omit it for the first page.", FeedTokenExample),
        ["admin/v1/rooms/{roomId}/members|at"] = new(
            "An RFC 3339 date-time with a time zone: the member rows as they were then, from the change log (same paging and "
            + "filters). Before what the change log keeps: 410 with oldest_at.", "2026-12-01T09:30:00Z"),
    };

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
            foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
            {
                if (parameter.Name is { } name
                    && (RouteParameters.TryGetValue($"{context.ApiDescription.RelativePath}|{name}", out var doc) || Parameters.TryGetValue(name, out doc)))
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
}
