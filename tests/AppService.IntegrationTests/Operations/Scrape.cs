using System.Globalization;

namespace AppService.IntegrationTests.Operations;

/// <summary>One scrape of <c>/metrics</c> in the Prometheus text format: series (name with labels) to value.</summary>
public sealed class Scrape
{
    private Scrape(string text, Dictionary<string, double> series) => (Text, Series) = (text, series);

    public string Text { get; }

    public IReadOnlyDictionary<string, double> Series { get; }

    /// <summary>The value of a series, e.g. <c>appservice_transactions_failed_total{reason="bad_request"}</c>; 0 if absent.</summary>
    public double this[string series] => Series.TryGetValue(series, out double value) ? value : 0;

    /// <summary>How much a series grew since <paramref name="before"/>.</summary>
    public double Growth(Scrape before, string series) => this[series] - before[series];

    public static async Task<Scrape> TakeAsync(HttpClient client)
    {
        string text = await client.GetStringAsync("/metrics");
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            int space = line.LastIndexOf(' ');
            series[line[..space]] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }

        return new Scrape(text, series);
    }
}
