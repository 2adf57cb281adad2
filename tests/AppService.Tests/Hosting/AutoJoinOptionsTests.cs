using AppService.Hosting;
using Microsoft.Extensions.Configuration;

namespace AppService.Tests.Hosting;

/// <summary>AppService:AutoJoin: the old boolean form and the new section (Enabled, AllowedInviters) both bind.</summary>
public sealed class AutoJoinOptionsTests
{
    private static (bool Enabled, bool AllowsLocal, bool AllowsRemote) Policy(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)))
            .Build();
        _ = configuration.GetSection(AppServiceOptions.SectionName).Get<AppServiceOptions>(); // binds whichever form is used
        var autoJoin = configuration.GetSection(AutoJoinOptions.SectionName).Get<AutoJoinOptions>() ?? new AutoJoinOptions();
        autoJoin.Legacy = configuration[AutoJoinOptions.SectionName];
        var policy = autoJoin.Policy("@bot:example.org");
        return (policy.Enabled, policy.Allows("@alice:example.org"), policy.Allows("@mallory:evil.test"));
    }

    [Fact]
    public void By_default_the_bot_joins_for_anyone_on_its_own_server_only() =>
        Assert.Equal((true, true, false), Policy());

    [Fact]
    public void The_old_boolean_form_still_turns_auto_join_off() =>
        Assert.False(Policy(("AppService:AutoJoin", "false")).Enabled);

    [Fact]
    public void The_new_section_sets_enabled_and_the_allowed_inviters()
    {
        Assert.False(Policy(("AppService:AutoJoin:Enabled", "false")).Enabled);
        Assert.Equal((true, false, true), Policy(("AppService:AutoJoin:AllowedInviters:0", "@mallory:evil\\.test")));
    }

    [Fact]
    public void An_invalid_pattern_fails_validation_with_the_key_named()
    {
        var errors = new AutoJoinOptions { AllowedInviters = ["@[unclosed"] }
            .Validate(new System.ComponentModel.DataAnnotations.ValidationContext(new object())).ToList();
        Assert.Contains("AppService:AutoJoin:AllowedInviters", Assert.Single(errors).ErrorMessage, StringComparison.Ordinal);
    }
}
