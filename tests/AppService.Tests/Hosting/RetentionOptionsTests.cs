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

    [Fact]
    public void By_default_a_run_spends_at_most_a_quarter_of_its_time_deleting()
    {
        var options = new RetentionOptions();

        Assert.Equal(0.25, options.DutyCycle);
        Assert.Equal(TimeSpan.FromMilliseconds(300), options.PauseAfter(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public void A_duty_cycle_of_one_deletes_without_pausing()
    {
        var options = new RetentionOptions { DutyCycle = 1.0 };

        Assert.Equal(TimeSpan.Zero, options.PauseAfter(TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void A_batch_that_waited_long_on_a_lock_pauses_the_run_a_minute_at_most()
    {
        var options = new RetentionOptions { DutyCycle = 0.01 };

        Assert.Equal(TimeSpan.FromMinutes(1), options.PauseAfter(TimeSpan.FromSeconds(60)));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    public void A_duty_cycle_out_of_range_is_refused(double dutyCycle)
    {
        var error = Assert.Single(Validate(new RetentionOptions { DutyCycle = dutyCycle }));

        Assert.Contains("AppService:Retention:DutyCycle", error.ErrorMessage, StringComparison.Ordinal);
    }
}
