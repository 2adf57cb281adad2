using System.Text.Json.Serialization;

namespace AppService.Matrix;

/// <summary>The Matrix error body: <c>{"errcode": "...", "error": "..."}</c>.</summary>
public sealed record MatrixError(
    [property: JsonPropertyName("errcode")] string ErrCode,
    [property: JsonPropertyName("error")] string Error)
{
    public static class Codes
    {
        public const string Forbidden = "M_FORBIDDEN";
        public const string MissingToken = "M_MISSING_TOKEN";
        public const string Unrecognized = "M_UNRECOGNIZED";
        public const string NotJson = "M_NOT_JSON";
        public const string BadJson = "M_BAD_JSON";
        public const string TooLarge = "M_TOO_LARGE";
        public const string NotFound = "M_NOT_FOUND";
        public const string Unknown = "M_UNKNOWN";
    }
}
