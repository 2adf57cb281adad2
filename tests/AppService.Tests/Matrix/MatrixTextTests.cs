using System.Text;
using System.Text.Json;
using AppService.Matrix;

namespace AppService.Tests.Matrix;

public sealed class MatrixTextTests : IDisposable
{
    private readonly Bodies _bodies = new();

    public void Dispose() => _bodies.Dispose();

    private string Read(string jsonString) => MatrixText.Read(_bodies.Document(jsonString).RootElement);

    [Theory]
    [InlineData("\"plain\"", "plain")]
    [InlineData("\"caf\u00e9 \\\"q\\\" \\\\ \\/ \\n\\t\\b\\f\\r\"", "caf\u00e9 \"q\" \\\\ / \n\t\b\f\r")] // expected is Regex-unescaped: \\\\ is one backslash
    [InlineData("\"\\u00e9\\ud83d\\ude00\"", "\u00e9\U0001F600")]
    [InlineData("\"a\\u0000b\"", "a\0b")]
    [InlineData("\"\\ud800\"", "\\ud800")]
    [InlineData("\"x\\udc00y\\ud800\"", "x\\udc00y\\ud800")]
    public void Reading_a_string_never_throws_and_keeps_what_was_sent(string json, string expected) =>
        Assert.Equal(U(expected), Read(json));

    /// <summary>xUnit cannot carry lone surrogates in attributes: cases write them as \uXXXX text, decoded here.</summary>
    private static string U(string escaped) => System.Text.RegularExpressions.Regex.Unescape(escaped);

    [Fact]
    public void Reading_keeps_lone_surrogates_where_GetString_throws()
    {
        var element = _bodies.Document("\"\\ud800\"").RootElement;

        Assert.Throws<InvalidOperationException>(() => element.GetString());
        Assert.Equal("\ud800", MatrixText.Read(element));
    }

    [Fact]
    public void A_property_lookup_never_throws_on_an_invalidly_escaped_name()
    {
        var element = _bodies.Document("""{"\ud800":1,"a":"x"}""").RootElement;

        Assert.Throws<InvalidOperationException>(() => element.TryGetProperty("b", out _));
        Assert.False(MatrixText.TryGetProperty(element, "b", out _));
        Assert.Equal("x", MatrixText.Get(element, "a"));
    }

    [Theory]
    [InlineData("ok", true)]
    [InlineData("\U0001F600", true)]
    [InlineData("a\0", false)]
    [InlineData("\\ud800", false)]
    [InlineData("\\udc00\\ud800", false)]
    [InlineData("x\\ud83d", false)]
    public void Ids_are_valid_without_nul_and_with_well_formed_utf16(string value, bool valid) =>
        Assert.Equal(valid, MatrixText.IsValid(U(value)));

    [Theory]
    [InlineData("Eve\0", "Eve")]
    [InlineData("a\\ud800b", "a\uFFFDb")]
    [InlineData("\0\\udc00\U0001F600", "\uFFFD\U0001F600")]
    [InlineData("fine", "fine")]
    public void Display_values_lose_nul_and_get_U_FFFD_for_lone_surrogates(string value, string expected) =>
        Assert.Equal(expected, MatrixText.Clean(U(value)));

    [Fact]
    public void Clean_returns_the_same_instance_when_nothing_changes()
    {
        string value = "unchanged";
        Assert.Same(value, MatrixText.Clean(value));
    }

    [Fact]
    public void Rejected_ids_are_made_storable_escaped_or_hashed()
    {
        Assert.Null(MatrixText.StorableId(null));
        Assert.Equal("$a\\u0000b", MatrixText.StorableId("$a\0b"));
        Assert.Equal("$\uFFFD", MatrixText.StorableId("$\ud800"));
        string longId = "$" + new string('a', 3000);
        string hashed = MatrixText.StorableId(longId)!;
        Assert.StartsWith("sha256:", hashed, StringComparison.Ordinal);
        Assert.Equal(71, hashed.Length);
        Assert.Equal(hashed, MatrixText.StorableId(longId));
        Assert.Equal(new string('\u00e9', 127), MatrixText.StorableId(new string('\u00e9', 127))); // 254 bytes
        Assert.StartsWith("sha256:", MatrixText.StorableId(new string('\u00e9', 128)), StringComparison.Ordinal); // 256 bytes
    }

    [Fact]
    public void Cutting_utf8_never_splits_a_character()
    {
        byte[] utf8 = Encoding.UTF8.GetBytes("ab\u00e9\U0001F600");

        Assert.Equal("ab", MatrixText.CutUtf8(utf8, 3));
        Assert.Equal("ab\u00e9", MatrixText.CutUtf8(utf8, 4));
        Assert.Equal("ab\u00e9", MatrixText.CutUtf8(utf8, 7));
        Assert.Equal("ab\u00e9\U0001F600", MatrixText.CutUtf8(utf8, 8));
        Assert.Equal("ab\u00e9\U0001F600", MatrixText.CutUtf8(utf8, 100));
    }

    [Fact]
    public void Display_reads_a_property_cleaned_and_null_when_absent_or_not_a_string()
    {
        var element = _bodies.Document("""{"d":"Eve\u0000","n":5}""").RootElement;

        Assert.Equal("Eve", MatrixText.Display(element, "d"));
        Assert.Null(MatrixText.Display(element, "n"));
        Assert.Null(MatrixText.Display(element, "missing"));
        Assert.Null(MatrixText.Display(JsonDocument.Parse("[]").RootElement, "d"));
    }
}
