using AppService.Simulator.Workload;

namespace AppService.Simulator.Tests.Workload;

/// <summary>The homeserver model applies a redaction of state only when a real homeserver would.</summary>
public class HomeserverStateTests
{
    private const string Local = "@mod:localhost";
    private const string Remote = "@eve:remote.example";
    private static int _next;

    private static SimEvent Redaction(string redacter, SimEvent target) => new()
    {
        Index = 1000 + Interlocked.Increment(ref _next),
        EventId = $"$r{Interlocked.Increment(ref _next)}:{MatrixIds.Domain(redacter)}",
        RoomId = Ev.Room,
        Type = "m.room.redaction",
        Sender = redacter,
        OriginServerTs = 1_700_000_000_000,
        Content = Json.Object(("redacts", target.EventId)),
        Redacts = target.EventId,
    };

    private static string? NameAfterRedaction(string version, string nameSender, string redacter, string? powerLevels = null, string? create = null)
    {
        var hs = new HomeserverState(Ev.Bot, "@_bot_");
        hs.AddRoom(Ev.Room, version);
        hs.Apply(Ev.State("m.room.create", create ?? $$"""{"room_version":"{{version}}"}""", sender: Local));
        hs.Apply(Ev.State("m.room.power_levels", powerLevels ?? $$"""{"users":{"{{Local}}":100},"users_default":0,"redact":50}""", sender: Local));
        var name = Ev.State("m.room.name", """{"name":"Ops"}""", sender: nameSender);
        hs.Apply(name);
        hs.Apply(Redaction(redacter, name));
        var now = hs.Rooms[Ev.Room].State[("m.room.name", "")];
        Assert.Equal(name.EventId, now.EventId);
        return HomeserverState.ReadString(now.Content, "name");
    }

    [Theory]
    [InlineData("3")]
    [InlineData("11")]
    [InlineData("12")]
    public void A_powerless_remote_users_redaction_of_local_state_changes_nothing(string version) =>
        Assert.Equal("Ops", NameAfterRedaction(version, Local, Remote));

    [Theory]
    [InlineData("3")]
    [InlineData("11")]
    public void A_redaction_by_a_user_on_the_target_senders_server_applies(string version) =>
        Assert.Null(NameAfterRedaction(version, Remote, Remote));

    [Fact]
    public void A_remote_user_with_the_redact_level_may_redact_local_state() =>
        Assert.Null(NameAfterRedaction("11", Local, Remote, "{\"users\":{\"" + Remote + "\":50},\"redact\":50}"));

    [Fact]
    public void Users_default_counts_for_users_not_listed() =>
        Assert.Null(NameAfterRedaction("11", Local, Remote, """{"users_default":60,"redact":60}"""));

    [Fact]
    public void A_missing_redact_level_means_50() =>
        Assert.Equal("Ops", NameAfterRedaction("11", Local, Remote, "{\"users\":{\"" + Remote + "\":49}}"));

    [Fact]
    public void In_room_v1_the_event_ids_servers_decide_not_the_senders()
    {
        // The name's id is on localhost (Ev), its sender claims remote.example; the redaction's id is on remote.example.
        Assert.Equal("Ops", NameAfterRedaction("1", Remote, Remote));
        Assert.Null(NameAfterRedaction("1", Remote, Local.Replace("mod", "other", StringComparison.Ordinal), """{"redact":50}"""));
    }

    [Fact]
    public void In_room_v12_an_additional_creator_on_another_server_has_infinite_power() =>
        Assert.Null(NameAfterRedaction("12", Local, Remote, """{"redact":100}""", $$"""{"room_version":"12","additional_creators":["{{Remote}}"]}"""));

    [Fact]
    public void A_redacted_member_keeps_its_membership_and_loses_its_profile()
    {
        var member = Ev.Member(Remote, Remote, "join", displayname: "Eve");

        var redacted = HomeserverState.RedactedContent(member, "11");

        Assert.Equal("join", HomeserverState.ReadString(redacted, "membership"));
        Assert.Null(HomeserverState.ReadString(redacted, "displayname"));
    }
}
