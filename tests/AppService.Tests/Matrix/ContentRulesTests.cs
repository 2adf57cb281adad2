using AppService.Matrix;

namespace AppService.Tests.Matrix;

public sealed class ContentRulesTests : IDisposable
{
    private readonly Bodies _bodies = new();

    public void Dispose() => _bodies.Dispose();

    private string? Check(string type, bool isState, string content) =>
        ContentRules.Check(type, isState, _bodies.Document(content).RootElement)?.Reason;

    [Theory]
    [InlineData(EventTypes.Create, "room_version")]
    [InlineData(EventTypes.Create, "creator")]
    public void A_create_key_that_decides_the_rooms_rules_must_be_a_string_or_null(string type, string key)
    {
        Assert.Null(Check(type, isState: true, $$"""{"{{key}}":"value"}"""));
        Assert.Null(Check(type, isState: true, $$"""{"{{key}}":null}"""));
        Assert.Null(Check(type, isState: true, "{}"));
        Assert.Equal($"content.{key} must be a string or null, got number", Check(type, isState: true, $$"""{"{{key}}":5}"""));
        Assert.Equal($"content.{key} must be a string or null, got object", Check(type, isState: true, $$$"""{"{{{key}}}":{}}"""));
        Assert.Equal($"content.{key} must be a string or null, got true", Check(type, isState: true, $$"""{"{{key}}":true}"""));
    }

    /// <summary>Issue 16 point 4: a display value of the wrong type is projected as null; it never rejects the event.</summary>
    [Theory]
    [InlineData(EventTypes.Create, "type")]
    [InlineData(EventTypes.Member, "displayname")]
    [InlineData(EventTypes.Member, "avatar_url")]
    [InlineData(EventTypes.Name, "name")]
    [InlineData(EventTypes.Topic, "topic")]
    [InlineData(EventTypes.CanonicalAlias, "alias")]
    [InlineData(EventTypes.Avatar, "url")]
    [InlineData(EventTypes.JoinRules, "join_rule")]
    [InlineData(EventTypes.HistoryVisibility, "history_visibility")]
    [InlineData(EventTypes.Encryption, "algorithm")]
    [InlineData(EventTypes.Tombstone, "replacement_room")]
    public void A_display_value_of_another_type_never_rejects_the_event(string type, string key)
    {
        string membership = type == EventTypes.Member ? "\"membership\":\"join\"," : "";
        foreach (string value in new[] { "\"value\"", "null", "5", "{}", "true", "[\"a\"]" })
        {
            Assert.Null(Check(type, isState: true, "{" + membership + "\"" + key + "\":" + value + "}"));
        }
    }

    [Theory]
    [InlineData("""{"predecessor":{"room_id":"!old:hs.test"}}""", null)]
    [InlineData("""{"predecessor":null}""", null)]
    [InlineData("""{"predecessor":"!old:hs.test"}""", null)]
    [InlineData("""{"predecessor":[]}""", null)]
    public void A_create_predecessor_of_any_type_never_rejects_the_event(string content, string? expected) =>
        Assert.Equal(expected, Check(EventTypes.Create, isState: true, content));

    [Theory]
    [InlineData("invite")]
    [InlineData("join")]
    [InlineData("leave")]
    [InlineData("ban")]
    [InlineData("knock")]
    public void Every_spec_membership_is_accepted(string membership) =>
        Assert.Null(Check(EventTypes.Member, isState: true, $$"""{"membership":"{{membership}}","displayname":null}"""));

    [Theory]
    [InlineData("""{}""", "m.room.member content has no string 'membership'")]
    [InlineData("""{"membership":null}""", "m.room.member content has no string 'membership'")]
    [InlineData("""{"membership":5}""", "m.room.member content has no string 'membership'")]
    [InlineData("""{"membership":"dance"}""", "m.room.member content has unknown membership 'dance'")]
    [InlineData("""{"membership":"JOIN"}""", "m.room.member content has unknown membership 'JOIN'")]
    public void A_member_event_needs_a_known_membership(string content, string expected) =>
        Assert.Equal(expected, Check(EventTypes.Member, isState: true, content));

    [Fact]
    public void A_long_unknown_membership_is_truncated_in_the_reason()
    {
        string reason = Check(EventTypes.Member, isState: true, $$"""{"membership":"{{new string('x', 100)}}"}""")!;

        Assert.Equal($"m.room.member content has unknown membership '{new string('x', 64)}…'", reason);
    }

    [Fact]
    public void Keys_the_projections_do_not_read_are_not_checked()
    {
        Assert.Null(Check(EventTypes.Member, isState: true, """{"membership":"ban","reason":5,"is_direct":"yes"}"""));
        Assert.Null(Check(EventTypes.Name, isState: true, """{"name":"n","extra":[]}"""));
        Assert.Null(Check("m.room.power_levels", isState: true, """{"users":"not an object"}"""));
    }

    [Theory]
    [InlineData(EventTypes.Member, """{"membership":"dance"}""")]
    [InlineData(EventTypes.Name, """{"name":5}""")]
    [InlineData(EventTypes.Create, """{"room_version":11}""")]
    public void Message_events_are_not_checked_because_no_projection_reads_them(string type, string content) =>
        Assert.Null(Check(type, isState: false, content));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_redaction_needs_a_string_redacts_whether_or_not_it_has_a_state_key(bool isState)
    {
        Assert.Null(Check(EventTypes.Redaction, isState, """{"redacts":"$x"}"""));
        Assert.Null(Check(EventTypes.Redaction, isState, """{}"""));
        Assert.Equal("content.redacts must be a string or null, got number", Check(EventTypes.Redaction, isState, """{"redacts":5}"""));
    }
}
