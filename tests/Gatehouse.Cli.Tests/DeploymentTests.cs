using System.Text.Json.Nodes;
using Gatehouse.Cli.Tests.Fakes;

namespace Gatehouse.Cli.Tests;

/// <summary>The infrastructure deployment: the exact PUT, the long-running operation, progress, outputs and failures.</summary>
public sealed class DeploymentTests(ITestOutputHelper log) : IAsyncLifetime
{
    private FakeAzure _azure = null!;
    private readonly FakeCredential _credential = new();

    private const string Storage = "Microsoft.Storage/storageAccounts";

    public async Task InitializeAsync() => _azure = await FakeAzure.StartAsync();

    public async Task DisposeAsync() => await _azure.DisposeAsync();

    private Task<CliResult> DeployAsync(params string[] args) => DeployCli.RunAsync(_azure, _credential, log,
        ["--subscription", Arm.Subscription, "--resource-group", Arm.ResourceGroup, "--name", Arm.Deployment,
         "--parameters", DeployCli.Fixture("main.bicepparam"), .. args]);

    private (string Name, string Value) AsyncOperation => ("Azure-AsyncOperation", _azure.Url($"{Arm.OperationStatusPath}?api-version=2025-04-01"));

    [Fact]
    public async Task Deploy_puts_the_compiled_template_and_bicepparam_values_then_follows_the_async_operation_to_its_outputs()
    {
        _azure.On("GET", Arm.GroupPath, FakeResponse.Ok(Arm.ResourceGroupBody("westeurope")));
        _azure.On("PUT", Arm.DeploymentPath, FakeResponse.With(201, Arm.DeploymentBody("Accepted"), AsyncOperation, ("Retry-After", "0")));
        _azure.On("GET", Arm.OperationStatusPath,
            FakeResponse.Ok(Arm.Status("InProgress"), ("Retry-After", "0")),
            FakeResponse.Ok(Arm.Status("InProgress"), ("Retry-After", "0")),
            FakeResponse.Ok(Arm.Status("Succeeded")));
        _azure.On("GET", Arm.OperationsPath,
            FakeResponse.Ok(Arm.Operations(Arm.Operation("A1", "Running", Storage, "stabc", "2026-11-25T10:00:01Z"))),
            FakeResponse.Ok(Arm.Operations(Arm.Operation("A1", "Running", Storage, "stabc", "2026-11-25T10:00:01Z"))),
            FakeResponse.Ok(Arm.Operations(Arm.Operation("A1", "Succeeded", Storage, "stabc", "2026-11-25T10:00:01Z", "PT12.5S"))));
        _azure.On("GET", Arm.DeploymentPath, FakeResponse.Ok(Arm.DeploymentBody("Succeeded",
            Arm.Outputs(("AZURE_STORAGE_ACCOUNT_NAME", "stabc"), ("AZURE_FUNCTION_APP_NAME", "func-abc")))));

        var result = await DeployAsync("--skip-code");

        Assert.True(result.ExitCode == 0, result.ToString());
        // The exact conversation: group, PUT, three status polls each followed by the operations, then the result.
        Assert.Equal(
        [
            $"GET {Arm.GroupPath}",
            $"PUT {Arm.DeploymentPath}",
            $"GET {Arm.OperationStatusPath}", $"GET {Arm.OperationsPath}",
            $"GET {Arm.OperationStatusPath}", $"GET {Arm.OperationsPath}",
            $"GET {Arm.OperationStatusPath}", $"GET {Arm.OperationsPath}",
            $"GET {Arm.DeploymentPath}", $"GET {Arm.OperationsPath}",
        ], _azure.Requests.Select(r => $"{r.Method} {r.Path}"));

        var put = Assert.Single(_azure.To("PUT", Arm.DeploymentPath));
        Assert.Equal("2025-04-01", put.ApiVersion);
        Assert.StartsWith("application/json", put.Header("Content-Type"));
        var body = put.Json!.AsObject();
        Assert.Equal(["properties"], body.Select(p => p.Key));
        var properties = body["properties"]!.AsObject();
        Assert.Equal(["mode", "template", "parameters"], properties.Select(p => p.Key));
        Assert.Equal("Incremental", properties["mode"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(await Bicep.BuildAsync(DeployCli.Fixture("main.bicep")), properties["template"]),
            "the template sent is not what `bicep build main.bicep` makes");
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"environmentName":{"value":"test"}}"""), properties["parameters"]),
            properties["parameters"]!.ToJsonString());

        Assert.Equal("2021-04-01", _azure.To("GET", Arm.GroupPath).Single().ApiVersion);
        Assert.All(_azure.To("GET", Arm.OperationsPath), r => Assert.Equal("2025-04-01", r.ApiVersion));
        // The status URL is followed exactly as ARM gave it, api-version included.
        Assert.All(_azure.To("GET", Arm.OperationStatusPath), r => Assert.Equal("?api-version=2025-04-01", r.Query));
        Assert.All(_azure.Requests, r => Assert.Equal($"Bearer {FakeCredential.Token}", r.Header("Authorization")));
        Assert.Equal([$"{Arm.Audience}/.default"], _credential.Scopes.Distinct());

        // Progress: one line per change of state, not per poll.
        Assert.Single(Lines(result.Output, $"deployment {Arm.Deployment}: Accepted"));
        Assert.Single(Lines(result.Output, $"deployment {Arm.Deployment}: InProgress"));
        Assert.Single(Lines(result.Output, $"deployment {Arm.Deployment}: Succeeded"));
        Assert.Single(Lines(result.Output, $"Running    {Storage}/stabc"));
        Assert.Single(Lines(result.Output, $"Succeeded  {Storage}/stabc (12.5 s)"));
        Assert.Contains("AZURE_STORAGE_ACCOUNT_NAME=stabc\n", result.Output);
        Assert.Contains("AZURE_FUNCTION_APP_NAME=func-abc\n", result.Output);
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task Retry_after_from_the_status_url_is_waited_for_before_the_next_poll()
    {
        _azure.On("GET", Arm.GroupPath, FakeResponse.Ok(Arm.ResourceGroupBody("westeurope")));
        _azure.On("PUT", Arm.DeploymentPath, FakeResponse.With(201, Arm.DeploymentBody("Accepted"), AsyncOperation, ("Retry-After", "0")));
        _azure.On("GET", Arm.OperationStatusPath,
            FakeResponse.Ok(Arm.Status("Running"), ("Retry-After", "1")),
            FakeResponse.Ok(Arm.Status("Running"), ("retry-after-ms", "150")),
            FakeResponse.Ok(Arm.Status("Succeeded")));
        _azure.On("GET", Arm.OperationsPath, FakeResponse.Ok(Arm.Operations()));
        _azure.On("GET", Arm.DeploymentPath, FakeResponse.Ok(Arm.DeploymentBody("Succeeded", Arm.Outputs())));

        var result = await DeployAsync("--skip-code");

        Assert.True(result.ExitCode == 0, result.ToString());
        var polls = _azure.To("GET", Arm.OperationStatusPath).Select(r => r.At).ToList();
        Assert.Equal(3, polls.Count);
        // Retry-After: 1 (seconds), then retry-after-ms: 150; the default interval here is 10 ms.
        Assert.InRange((polls[1] - polls[0]).TotalMilliseconds, 950, 5000);
        Assert.InRange((polls[2] - polls[1]).TotalMilliseconds, 140, 5000);
    }

    [Fact]
    public async Task Failed_deployment_prints_the_nested_arm_error_and_the_failed_resource_and_exits_1()
    {
        var taken = Arm.Inner("StorageAccountAlreadyTaken", "The storage account named stabc is already taken.");
        // ARM wraps the resource provider's error body, as JSON text, in the message of a Conflict detail.
        var wrapped = new JsonObject { ["status"] = "Failed", ["error"] = taken.DeepClone() }.ToJsonString();
        var error = Arm.Inner("DeploymentFailed", "At least one resource deployment operation failed. Please list deployment operations for details.",
            Arm.Inner("Conflict", wrapped));
        _azure.On("GET", Arm.GroupPath, FakeResponse.Ok(Arm.ResourceGroupBody("westeurope")));
        _azure.On("PUT", Arm.DeploymentPath, FakeResponse.With(201, Arm.DeploymentBody("Accepted"), AsyncOperation, ("Retry-After", "0")));
        _azure.On("GET", Arm.OperationStatusPath,
            FakeResponse.Ok(Arm.Status("Running"), ("Retry-After", "0")),
            FakeResponse.Ok(Arm.Status("Failed", (JsonObject)error.DeepClone())));
        _azure.On("GET", Arm.OperationsPath,
            FakeResponse.Ok(Arm.Operations(Arm.Operation("A1", "Running", Storage, "stabc", "2026-11-25T10:00:01Z"))),
            FakeResponse.Ok(Arm.Operations(Arm.Operation("A1", "Failed", Storage, "stabc", "2026-11-25T10:00:01Z", "PT3S",
                new JsonObject { ["status"] = "Failed", ["error"] = taken.DeepClone() }))));
        _azure.On("GET", Arm.DeploymentPath, FakeResponse.Ok(Arm.DeploymentBody("Failed", error: (JsonObject)error.DeepClone())));

        var result = await DeployAsync("--package", DeployCli.Fixture("package"));

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"Deployment {Arm.Deployment} failed:\n" +
            "  DeploymentFailed: At least one resource deployment operation failed. Please list deployment operations for details.\n" +
            "    Conflict:\n" +
            "      StorageAccountAlreadyTaken: The storage account named stabc is already taken.\n", result.Error);
        Assert.Single(Lines(result.Output, $"Failed     {Storage}/stabc (3.0 s)"));
        Assert.Contains("StorageAccountAlreadyTaken: The storage account named stabc is already taken.", result.Output);
        Assert.Single(Lines(result.Output, $"deployment {Arm.Deployment}: Failed"));
        // Nothing is published to an app whose deployment failed.
        Assert.DoesNotContain(_azure.Requests, r => r.Path.Contains("/sites/", StringComparison.Ordinal) || r.Path.StartsWith("/api/", StringComparison.Ordinal));
        Assert.DoesNotContain("Outputs:", result.Output);
    }

    [Fact]
    public async Task Invalid_template_refused_on_put_is_printed_with_code_and_nested_details_and_not_polled()
    {
        _azure.On("GET", Arm.GroupPath, FakeResponse.Ok(Arm.ResourceGroupBody("westeurope")));
        _azure.On("PUT", Arm.DeploymentPath, FakeResponse.With(400, Arm.Error("InvalidTemplateDeployment",
            $"The template deployment '{Arm.Deployment}' is not valid according to the validation procedure. The tracking id is '7d1c'. See inner errors for details.",
            Arm.Inner("PreflightValidationCheckFailed", "Preflight validation failed. Please refer to the details for the specific errors.",
                Arm.Inner("AccountNameInvalid", "st-Bad is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.")))));

        var result = await DeployAsync("--skip-code");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"Azure refused PUT {_azure.BaseUri.AbsoluteUri.TrimEnd('/')}{Arm.DeploymentPath}: 400 Bad Request\n", result.Error);
        Assert.Contains($"  InvalidTemplateDeployment: The template deployment '{Arm.Deployment}' is not valid according to the validation procedure.", result.Error);
        Assert.Contains("\n    PreflightValidationCheckFailed: Preflight validation failed.", result.Error);
        Assert.Contains("\n      AccountNameInvalid: st-Bad is not a valid storage account name.", result.Error);
        Assert.Equal($"PUT {Arm.DeploymentPath}", _azure.Requests.Last().Method + " " + _azure.Requests.Last().Path);
    }

    [Fact]
    public async Task Without_an_async_operation_header_the_deployment_resource_itself_is_polled_until_terminal()
    {
        _azure.On("GET", Arm.GroupPath, FakeResponse.Ok(Arm.ResourceGroupBody("westeurope")));
        _azure.On("PUT", Arm.DeploymentPath, FakeResponse.Ok(Arm.DeploymentBody("Running")));
        _azure.On("GET", Arm.OperationsPath, FakeResponse.Ok(Arm.Operations()));
        _azure.On("GET", Arm.DeploymentPath,
            FakeResponse.Ok(Arm.DeploymentBody("Running")),
            FakeResponse.Ok(Arm.DeploymentBody("Succeeded", Arm.Outputs(("AZURE_FUNCTION_APP_NAME", "func-abc")))));

        var result = await DeployAsync("--skip-code");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(3, _azure.To("GET", Arm.DeploymentPath).Count); // Running, Succeeded, then the final read
        Assert.Single(Lines(result.Output, $"deployment {Arm.Deployment}: Running"));
        Assert.Contains("AZURE_FUNCTION_APP_NAME=func-abc\n", result.Output);
    }

    [Fact]
    public async Task Missing_resource_group_is_created_in_the_given_location_which_also_reaches_the_template()
    {
        _azure.On("GET", Arm.GroupPath, FakeResponse.With(404, Arm.Error("ResourceGroupNotFound", $"Resource group '{Arm.ResourceGroup}' could not be found.")));
        _azure.On("PUT", Arm.GroupPath, FakeResponse.With(201, Arm.ResourceGroupBody("swedencentral")));
        _azure.On("PUT", Arm.DeploymentPath, FakeResponse.Ok(Arm.DeploymentBody("Succeeded")));
        _azure.On("GET", Arm.OperationsPath, FakeResponse.Ok(Arm.Operations()));
        _azure.On("GET", Arm.DeploymentPath, FakeResponse.Ok(Arm.DeploymentBody("Succeeded", Arm.Outputs())));

        var result = await DeployAsync("--skip-code", "--location", "swedencentral", "--environment", "prod");

        Assert.True(result.ExitCode == 0, result.ToString());
        var create = Assert.Single(_azure.To("PUT", Arm.GroupPath));
        Assert.Equal("2021-04-01", create.ApiVersion);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"location":"swedencentral"}"""), create.Json), create.Json!.ToJsonString());
        var parameters = _azure.To("PUT", Arm.DeploymentPath).Single().Json!["properties"]!["parameters"];
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"environmentName":{"value":"prod"},"location":{"value":"swedencentral"}}"""), parameters),
            parameters!.ToJsonString());
        Assert.Contains($"Creating resource group {Arm.ResourceGroup} in swedencentral", result.Output);
    }

    [Fact]
    public async Task Missing_resource_group_without_a_location_is_a_usage_error_and_nothing_is_created()
    {
        _azure.On("GET", Arm.GroupPath, FakeResponse.With(404, Arm.Error("ResourceGroupNotFound", $"Resource group '{Arm.ResourceGroup}' could not be found.")));

        var result = await DeployAsync("--skip-code");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"Resource group {Arm.ResourceGroup} does not exist in subscription {Arm.Subscription}; pass --location", result.Error);
        Assert.Equal([$"GET {Arm.GroupPath}"], _azure.Requests.Select(r => $"{r.Method} {r.Path}"));
    }

    [Fact]
    public async Task A_deployment_still_running_at_the_timeout_exits_2_and_says_it_goes_on()
    {
        _azure.On("GET", Arm.GroupPath, FakeResponse.Ok(Arm.ResourceGroupBody("westeurope")));
        _azure.On("PUT", Arm.DeploymentPath, FakeResponse.With(201, Arm.DeploymentBody("Accepted"), AsyncOperation, ("Retry-After", "0")));
        _azure.On("GET", Arm.OperationStatusPath, FakeResponse.Ok(Arm.Status("Running"), ("retry-after-ms", "100")));
        _azure.On("GET", Arm.OperationsPath, FakeResponse.Ok(Arm.Operations()));

        var result = await DeployAsync("--skip-code", "--timeout", "1");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"deployment {Arm.Deployment} was still running when --timeout ran out (1 s); it goes on in Azure.", result.Error);
        // It polled at the pace asked for until the next wait would have ended past the deadline, and never read the
        // deployment as finished.
        var polls = _azure.To("GET", Arm.OperationStatusPath).Select(r => r.At).ToList();
        Assert.NotEmpty(polls);
        Assert.All(polls.Zip(polls.Skip(1)), pair => Assert.True((pair.Second - pair.First).TotalMilliseconds >= 90));
        Assert.Empty(_azure.To("GET", Arm.DeploymentPath));
    }

    private static IEnumerable<string> Lines(string text, string fragment) =>
        text.Split('\n').Where(line => line.Contains(fragment, StringComparison.Ordinal));
}
