using Gatehouse.Cli.Tests.Fakes;

namespace Gatehouse.Cli.Tests;

/// <summary>Usage and environment errors: exit 2, a message that says what to do, and no request to Azure.</summary>
public sealed class UsageErrorTests(ITestOutputHelper log) : IAsyncLifetime
{
    private FakeAzure _azure = null!;
    private readonly FakeCredential _credential = new();

    public async Task InitializeAsync() => _azure = await FakeAzure.StartAsync();

    public async Task DisposeAsync() => await _azure.DisposeAsync();

    [Theory]
    [InlineData("", "Say which subscription: --subscription <id> (or AZURE_SUBSCRIPTION_ID).")]
    [InlineData("--subscription not-a-guid -g rg1", "--subscription must be a subscription id (a GUID), not 'not-a-guid'.")]
    [InlineData("--subscription 3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "Say which resource group: --resource-group <name> (or AZURE_RESOURCE_GROUP).")]
    [InlineData("--subscription 3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b -g rg/1", "'rg/1' is not a resource group name")]
    [InlineData("--subscription 3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b -g rg1 --timeout 0", "--timeout must be a positive number of seconds.")]
    public async Task Missing_or_malformed_target_exits_2_with_what_to_pass(string args, string message)
    {
        var result = await DeployCli.RunAsync(_azure, _credential, log,
            [.. args.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--parameters", DeployCli.Fixture("main.bicepparam")]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Error);
        Assert.Empty(_azure.Requests);
        Assert.Empty(_credential.Scopes);
    }

    [Fact]
    public async Task Bicep_compile_errors_are_printed_as_bicep_wrote_them_with_exit_2_and_nothing_is_sent()
    {
        var result = await DeployCli.RunAsync(_azure, _credential, log,
            ["--subscription", Arm.Subscription, "-g", Arm.ResourceGroup, "--parameters", DeployCli.Fixture("broken.bicepparam")]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"{DeployCli.Fixture("broken.bicepparam")}(4,25) : Error BCP033: Expected a value of type \"string\" but the provided value is of type \"42\".", result.Error);
        Assert.Contains("bicep failed (exit 1); nothing was deployed.", result.Error);
        Assert.Empty(_azure.Requests);
    }

    [Fact]
    public async Task A_parameters_file_that_does_not_exist_is_named_before_anything_runs()
    {
        var result = await DeployCli.RunAsync(_azure, _credential, log,
            ["--subscription", Arm.Subscription, "-g", Arm.ResourceGroup, "--parameters", DeployCli.Fixture("missing.bicepparam")]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("missing.bicepparam does not exist.", result.Error);
        Assert.Empty(_azure.Requests);
    }

    [Fact]
    public async Task Code_publish_needs_the_function_app_output_so_a_template_without_it_is_refused_before_azure()
    {
        var result = await DeployCli.RunAsync(_azure, _credential, log,
            ["--subscription", Arm.Subscription, "-g", Arm.ResourceGroup, "--template", DeployCli.Fixture("infra-only.bicep"),
             "--environment", "dev", "--package", DeployCli.Fixture("package")]);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("The template has no AZURE_FUNCTION_APP_NAME output, so there is no app to publish the code to; add it or pass --skip-code.", result.Error);
        Assert.Empty(_azure.Requests);
    }

    [Fact]
    public async Task A_missing_bicep_binary_is_an_environment_error_naming_where_it_was_expected()
    {
        var empty = Directory.CreateTempSubdirectory("gatehouse-no-tools-");
        try
        {
            var result = await DeployCli.RunAsync(_azure, _credential, log,
                ["--subscription", Arm.Subscription, "-g", Arm.ResourceGroup, "--parameters", DeployCli.Fixture("main.bicepparam")], empty.FullName);

            Assert.True(result.ExitCode == 2, result.ToString());
            Assert.Contains($"The Bicep CLI is missing: expected {Path.Combine(empty.FullName, "tools/bicep")}.", result.Error);
            Assert.Empty(_azure.Requests);
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }
}
