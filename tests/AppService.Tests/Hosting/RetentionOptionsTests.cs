using System.ComponentModel.DataAnnotations;
using AppService.Hosting;

namespace AppService.Tests.Hosting;

public sealed class RetentionOptionsTests
{
    private static List<ValidationResult> Validate(RetentionOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results;
    }

    [Fact]
    public void Defaults_keep_thirty_days_in_batches_of_5000_every_hour()
    {
        var options = new RetentionOptions();

        Assert.True(options.Enabled);
        Assert.Equal(TimeSpan.FromDays(30), options.ProcessedEvents);
        Assert.Equal(5000, options.BatchSize);
        Assert.Equal(TimeSpan.FromHours(1), options.Interval);
        Assert.Empty(Validate(options));
    }

    [Fact]
    public void A_retention_shorter_than_a_day_is_refused_with_the_setting_named()
    {
        var error = Assert.Single(Validate(new RetentionOptions { ProcessedEvents = TimeSpan.FromHours(2) }));

        Assert.Contains("AppService:Retention:ProcessedEvents", error.ErrorMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(1_000_000)]
    public void A_batch_size_out_of_range_is_refused(int batchSize)
    {
        var error = Assert.Single(Validate(new RetentionOptions { BatchSize = batchSize }));

        Assert.Contains("AppService:Retention:BatchSize", error.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void An_interval_under_a_minute_is_refused()
    {
        var error = Assert.Single(Validate(new RetentionOptions { Interval = TimeSpan.FromSeconds(5) }));

        Assert.Contains("AppService:Retention:Interval", error.ErrorMessage, StringComparison.Ordinal);
    }
}
