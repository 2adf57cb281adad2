using System.Globalization;
using System.Text;

namespace AppService.IntegrationTests.Fuzz;

/// <summary>Random JSON: bodies of any shape built from ids, keys and numbers the service reads.</summary>
public sealed partial class HostileBodies
{
    private static readonly string[] RandomNumbers = ["0", "-0", "1e999999", "-1e-999999", "123456789012345678901234567890", "3.14", "-7"];
    private static readonly string[] RandomIds = ["$e:test", "!r:test", "m.room.member", "@u:test", ""];
    private static readonly string[] RandomKeys = ["events", "event_id", "room_id", "type", "content", "state_key", "sender"];

    public static HostileBody RandomJson(Random rng)
    {
        if (rng.Next(10) == 0)
        {
            var garbage = new byte[rng.Next(1, 64)];
            rng.NextBytes(garbage);
            return new HostileBody { Kind = "random bytes", Bytes = garbage };
        }

        var value = RandomValue(rng, 0);
        string text = rng.Next(2) == 0 ? "{\"events\":[" + value + "," + RandomValue(rng, 1) + "]}" : value;
        return new HostileBody { Kind = "random json", Bytes = RawNode.Encode(text) };
    }

    private static string RandomValue(Random rng, int depth)
    {
        int pick = rng.Next(depth > 4 ? 6 : 9);
        switch (pick)
        {
            case 0: return "null";
            case 1: return rng.Next(2) == 0 ? "true" : "false";
            case 2: return RandomNumbers[rng.Next(7)];
            case 3:
            case 4: return RandomString(rng);
            case 5: return "\"" + RandomIds[rng.Next(5)] + "\"";
            case 6:
            case 7:
            {
                int n = rng.Next(5);
                var members = Enumerable.Range(0, n).Select(_ =>
                    (rng.Next(3) == 0 ? "\"" + RandomKeys[rng.Next(7)] + "\"" : RandomString(rng))
                    + ":" + RandomValue(rng, depth + 1));
                return "{" + string.Join(',', members) + "}";
            }

            default:
                return "[" + string.Join(',', Enumerable.Range(0, rng.Next(5)).Select(_ => RandomValue(rng, depth + 1))) + "]";
        }
    }

    private static string RandomString(Random rng)
    {
        var sb = new StringBuilder("\"");
        int length = rng.Next(12);
        for (int i = 0; i < length; i++)
        {
            switch (rng.Next(12))
            {
                case 0: sb.Append(PoisonEscapes[rng.Next(PoisonEscapes.Length)]); break;
                case 1: sb.Append("\\n\\\"\\\\\\/"); break;
                case 2: sb.Append(char.ConvertFromUtf32(rng.Next(0x1F600, 0x1F64F))); break;
                case 3: sb.Append((char)rng.Next(0x00A0, 0xD7FF)); break;
                default: sb.Append((char)rng.Next('a', 'z' + 1)); break;
            }
        }

        return sb.Append('"').ToString();
    }
}
