using System.Reflection;
using AppService.Observability;
using Microsoft.Extensions.Logging;

namespace AppService.Tests.Observability;

/// <summary>
/// Issue 16 point 7c: a value from the homeserver (a rejection reason quoting a membership, an id, an error) never
/// writes a raw line break or another control character into a log message, and never an unbounded amount of text.
/// </summary>
public sealed class LogTextTests
{
    [Theory]
    [InlineData("join\nWarning: forged line", "join\\nWarning: forged line")]
    [InlineData("a\r\nb\tc", "a\\r\\nb\\tc")]
    [InlineData("nul\0bell\a", "nul\\u0000bell\\u0007")]
    [InlineData("del\u007f c1\u0085 ls\u2028 ps\u2029", "del\\u007f c1\\u0085 ls\\u2028 ps\\u2029")]
    [InlineData("rtl\u202Eevil\u2066", "rtl\\u202eevil\\u2066")]
    [InlineData("back\\slash", "back\\\\slash")]
    public void Control_characters_line_breaks_and_lone_surrogates_are_escaped(string value, string logged) =>
        Assert.Equal(logged, new LogText(value).ToString());

    [Fact]
    public void A_lone_surrogate_is_escaped_and_a_pair_kept() =>
        Assert.Equal("lone\\ud800 \\udc00 pair 😀", new LogText("lone" + '\uD800' + " " + '\uDC00' + " pair 😀").ToString());

    [Theory]
    [InlineData("!room:hs.test")]
    [InlineData("Café ✓ 😀")]
    [InlineData("")]
    public void Ordinary_text_is_written_as_it_is(string value) =>
        Assert.Same(value, LogText.Safe(value));

    [Fact]
    public void Null_is_written_as_null_in_parentheses() => Assert.Equal("(null)", new LogText(null).ToString());

    [Fact]
    public void A_long_value_is_cut_and_says_how_much_was_left_out()
    {
        string logged = new LogText(new string('x', 10_000)).ToString();

        Assert.Equal(new string('x', LogText.MaxLength) + "…(+" + (10_000 - LogText.MaxLength) + ")", logged);
    }

    [Fact]
    public void A_cut_never_splits_a_surrogate_pair()
    {
        string logged = LogText.Safe(new string('x', LogText.MaxLength - 1) + "😀tail");

        Assert.Equal(new string('x', LogText.MaxLength - 1) + "…(+6)", logged);
    }

    /// <summary>Any string parameter would bypass the escaping: every log message takes <see cref="LogText"/> instead.</summary>
    [Fact]
    public void No_log_message_of_the_service_takes_a_raw_string()
    {
        var methods = typeof(LogText).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => m.GetCustomAttribute<LoggerMessageAttribute>() is not null)
            .ToList();

        Assert.True(methods.Count > 40, $"found only {methods.Count} [LoggerMessage] methods");
        var raw = methods
            .SelectMany(m => m.GetParameters().Where(p => p.ParameterType == typeof(string)).Select(p => $"{m.DeclaringType!.FullName}.{m.Name}({p.Name})"))
            .ToList();
        Assert.True(raw.Count == 0, "string parameters of log messages (make them LogText): " + string.Join(", ", raw));
    }
}
