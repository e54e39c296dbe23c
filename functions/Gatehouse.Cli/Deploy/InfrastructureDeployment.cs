using System.Text.Json.Nodes;

namespace Gatehouse.Cli.Deploy;

/// <summary>Azure answered in a way the command cannot follow, or the code deployment failed.</summary>
internal sealed class DeployFailedException(string message) : Exception(message);

/// <summary>
/// The ARM side of one deployment: PUT it and follow the long-running operation to its end with progress, or ask
/// what-if. Failures are printed here, where their details are; callers get the outputs, or null / exit 1.
/// </summary>
internal sealed class InfrastructureDeployment(ResourceGroupDeployments deployments, OperationPoller poller, DeployTiming timing,
    TimeProvider time, TextWriter output, TextWriter error)
{
    /// <summary>PUTs the deployment and follows it to the end; the outputs when it succeeded, null (error printed) when not.</summary>
    public async Task<JsonObject?> DeployAsync(string name, CompiledTemplate compiled, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        output.WriteLine($"Deploying {name} (Incremental)");
        var progress = new DeploymentProgress(output, time);
        var started = await deployments.StartDeploymentAsync(name, compiled, cancellationToken);
        var state = ProvisioningState(started) ?? "Accepted";
        progress.Deployment(name, state);
        var what = $"deployment {name}";

        async Task RefreshAsync(CancellationToken ct) => progress.Operations(await deployments.ListOperationsAsync(name, ct));

        ArmError? operationError = null;
        // The long-running operation protocol: Azure-AsyncOperation first, then Location, else the resource's own state.
        if (started.Header("Azure-AsyncOperation") is { } operation)
        {
            var done = await poller.UntilAsync(new Uri(operation), started, timing.ArmPollInterval, deadline, what,
                r => DeploymentProgress.IsTerminal(Status(r)),
                async (r, ct) =>
                {
                    await RefreshAsync(ct);
                    progress.Deployment(name, Status(r));
                }, cancellationToken);
            operationError = ArmError.From(done.Body?["error"]);
        }
        else if (started.Status == 202 && started.Header("Location") is { } location)
        {
            await poller.UntilAsync(new Uri(location), started, timing.ArmPollInterval, deadline, what, r => r.Status != 202, (_, ct) => RefreshAsync(ct), cancellationToken);
        }
        else if (!DeploymentProgress.IsTerminal(state))
        {
            await poller.UntilAsync(deployments.DeploymentUri(name), started, timing.ArmPollInterval, deadline, what,
                r => DeploymentProgress.IsTerminal(ProvisioningState(r) ?? ""),
                async (r, ct) =>
                {
                    await RefreshAsync(ct);
                    progress.Deployment(name, ProvisioningState(r) ?? "Unknown");
                }, cancellationToken);
        }

        var deployment = await deployments.GetDeploymentAsync(name, cancellationToken);
        await RefreshAsync(cancellationToken);
        state = ProvisioningState(deployment) ?? "Unknown";
        progress.Deployment(name, state);
        if (state != "Succeeded")
        {
            error.WriteLine($"Deployment {name} {state.ToLowerInvariant()}:");
            (ArmError.From(deployment.Body?["properties"]?["error"]) ?? operationError ?? new ArmError(state, "ARM gave no error details.", null, []))
                .WriteTo(error, "  ");
            return null;
        }
        return deployment.Body?["properties"]?["outputs"] as JsonObject ?? [];
    }

    /// <summary>POSTs what-if, polls its Location, and prints the changes; true when it succeeded.</summary>
    public async Task<bool> WhatIfAsync(string name, CompiledTemplate compiled, string subscription, string resourceGroup,
        DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        output.WriteLine($"What-if of {name} in resource group {resourceGroup}");
        var response = await deployments.StartWhatIfAsync(name, compiled, cancellationToken);
        if (response.Status == 202)
        {
            var location = response.Header("Location") ?? throw new DeployFailedException("What-if answered 202 Accepted without a Location to poll.");
            response = await poller.UntilAsync(new Uri(location), response, timing.ArmPollInterval, deadline, $"what-if {name}",
                r => r.Status != 202, null, cancellationToken);
        }
        var status = response.Body?["status"].Text();
        if (status is not null && status != "Succeeded" || response.Body?["error"] is JsonObject)
        {
            error.WriteLine($"What-if {name} {status?.ToLowerInvariant() ?? "failed"}:");
            (ArmError.From(response.Body?["error"]) ?? new ArmError("(no code)", response.Text, null, [])).WriteTo(error, "  ");
            return false;
        }
        WhatIfReport.Write(output, response.Body, subscription, resourceGroup);
        return true;
    }

    private static string Status(ArmResponse r) => r.Body?["status"].Text() ?? "Unknown";

    private static string? ProvisioningState(ArmResponse r) => r.Body?["properties"]?["provisioningState"].Text();
}
