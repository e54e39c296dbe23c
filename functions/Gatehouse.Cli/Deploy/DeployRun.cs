using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.ResourceManager;

namespace Gatehouse.Cli.Deploy;

/// <summary>
/// One <c>gatehouse deploy</c>, in order: check the options, compile the Bicep, build the code package, make sure the
/// resource group exists, then either what-if or deploy (PUT, poll, outputs) and publish the code. Everything that can
/// fail before Azure is touched fails first.
/// </summary>
internal sealed partial class DeployRun(DeployServices services, TextWriter output, TextWriter error)
{
    private const int Failed = 1;
    private const int UsageOrEnvironment = 2;

    /// <summary>The output naming the Function App the code is published to (the infra contract).</summary>
    public const string FunctionAppOutput = "AZURE_FUNCTION_APP_NAME";

    private TimeProvider Time => services.Time;

    public async Task<int> RunAsync(DeployRequest request, CancellationToken cancellationToken)
    {
        if (Check(request) is { } problem)
        {
            return Usage(problem);
        }
        var subscription = request.Subscription!;
        var resourceGroup = request.ResourceGroup!;
        var name = request.Name ?? $"gatehouse-{Time.GetUtcNow():yyyyMMdd-HHmmss}";

        var compiled = await CompileAsync(request, cancellationToken);
        if (compiled is null)
        {
            return UsageOrEnvironment;
        }
        var publishCode = !request.WhatIf && !request.SkipCode;
        if (publishCode && !(compiled.Template["outputs"] is JsonObject declared && declared.ContainsKey(FunctionAppOutput)))
        {
            return Usage($"The template has no {FunctionAppOutput} output, so there is no app to publish the code to; add it or pass --skip-code.");
        }

        DirectoryInfo? scratch = null;
        try
        {
            string? zip = null;
            if (publishCode)
            {
                scratch = Directory.CreateTempSubdirectory("gatehouse-deploy-");
                zip = await FunctionAppPackage.PrepareAsync(request.Package, request.Project, scratch.FullName, output, cancellationToken);
            }

            // --timeout bounds the waiting on Azure, not the local compile and publish.
            var deadline = Time.GetUtcNow().AddSeconds(request.TimeoutSeconds);
            var arm = CreateArm(request);
            var deployments = new ResourceGroupDeployments(arm, subscription, resourceGroup);
            var poller = new OperationPoller(arm, Time);

            var existing = await deployments.FindResourceGroupAsync(cancellationToken);
            if (existing is null)
            {
                if (request.Location is null)
                {
                    return Usage($"Resource group {resourceGroup} does not exist in subscription {subscription}; pass --location (or AZURE_LOCATION) to create it.");
                }
                if (request.WhatIf)
                {
                    output.WriteLine($"Resource group {resourceGroup} does not exist: a deployment would create it in {request.Location}, and every resource of the template in it.");
                    return 0;
                }
                output.WriteLine($"Creating resource group {resourceGroup} in {request.Location}");
                await deployments.CreateResourceGroupAsync(request.Location, cancellationToken);
            }
            else
            {
                output.WriteLine($"Resource group {resourceGroup} ({existing}) exists");
            }

            var infrastructure = new InfrastructureDeployment(deployments, poller, services.Timing, Time, output, error);
            if (request.WhatIf)
            {
                return await infrastructure.WhatIfAsync(name, compiled, subscription, resourceGroup, deadline, cancellationToken) ? 0 : Failed;
            }

            var outputs = await infrastructure.DeployAsync(name, compiled, deadline, cancellationToken);
            if (outputs is null)
            {
                return Failed;
            }
            if (zip is not null)
            {
                var app = outputs[FunctionAppOutput]?["value"].Text();
                if (string.IsNullOrEmpty(app))
                {
                    error.WriteLine($"The deployment succeeded but its {FunctionAppOutput} output is empty; the code was not published.");
                    return Failed;
                }
                var site = await deployments.GetSiteAsync(app, cancellationToken);
                var scm = FlexOneDeploy.ScmHost(site.Body, app);
                await new FlexOneDeploy(arm, poller, output, services.Timing, Time).PublishAsync(scm, zip, deadline, cancellationToken);
                output.WriteLine($"Code published to {app}");
            }
            output.WriteLine("Outputs:");
            foreach (var (key, value) in outputs)
            {
                var shown = value?["value"] is JsonValue v && v.TryGetValue<string>(out var text) ? text : value?["value"]?.ToJsonString() ?? "";
                output.WriteLine($"{key}={shown}");
            }
            return 0;
        }
        catch (ArmCallFailedException e)
        {
            error.WriteLine($"Azure refused {e.Call}: {e.Status} {e.Reason}");
            if (e.Error is { } armError)
            {
                armError.WriteTo(error, "  ");
            }
            else if (e.Body.Trim().Length > 0)
            {
                error.WriteLine("  " + e.Body.Trim());
            }
            return e.Status == 401 ? UsageOrEnvironment : Failed;
        }
        catch (DeployFailedException e)
        {
            error.WriteLine(e.Message);
            return Failed;
        }
        catch (DeployTimedOutException e)
        {
            error.WriteLine($"gatehouse deploy: {e.Message} ({request.TimeoutSeconds} s); it goes on in Azure.");
            return UsageOrEnvironment;
        }
        catch (PackageException e)
        {
            return Usage(e.Message);
        }
        catch (AuthenticationFailedException e)
        {
            return Usage($"Could not get an Azure token (sign in with 'az login', or set AZURE_CLIENT_ID/AZURE_TENANT_ID/…): {e.Message}");
        }
        catch (Exception e) when (e is RequestFailedException or HttpRequestException or IOException or InvalidDataException)
        {
            return Usage($"gatehouse deploy: {e.Message}");
        }
        catch (Exception e) when (e is UriFormatException or System.Text.Json.JsonException)
        {
            error.WriteLine($"gatehouse deploy: Azure answered something this command cannot follow: {e.Message}");
            return Failed;
        }
        finally
        {
            scratch?.Delete(recursive: true);
        }
    }

    private string? Check(DeployRequest r)
    {
        if (r.Subscription is null)
        {
            return "Say which subscription: --subscription <id> (or AZURE_SUBSCRIPTION_ID).";
        }
        if (!Guid.TryParse(r.Subscription, out _))
        {
            return $"--subscription must be a subscription id (a GUID), not '{r.Subscription}'.";
        }
        if (r.ResourceGroup is null)
        {
            return "Say which resource group: --resource-group <name> (or AZURE_RESOURCE_GROUP).";
        }
        if (r.ResourceGroup.Length > 90 || r.ResourceGroup.EndsWith('.') || !ArmName().IsMatch(r.ResourceGroup))
        {
            return $"'{r.ResourceGroup}' is not a resource group name (letters, digits, - _ . ( ), at most 90, not ending in '.').";
        }
        if (r.Name is { } name && (name.Length > 64 || !ArmName().IsMatch(name)))
        {
            return $"'{name}' is not a deployment name (letters, digits, - _ . ( ), at most 64).";
        }
        if (r.TimeoutSeconds <= 0)
        {
            return "--timeout must be a positive number of seconds.";
        }
        foreach (var file in new[] { r.Template, r.Parameters })
        {
            if (file is not null && !File.Exists(file))
            {
                return $"{file} does not exist.";
            }
        }
        if (r.Template is null && r.Parameters is null && !File.Exists(DefaultTemplate))
        {
            return $"{DefaultTemplate} does not exist here; run from the repository root or pass --template/--parameters.";
        }
        if (r.Package is not null && !File.Exists(r.Package) && !Directory.Exists(r.Package))
        {
            return $"--package {r.Package} does not exist.";
        }
        if (r.ArmEndpoint is not null && !(Uri.TryCreate(r.ArmEndpoint, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps))
        {
            return $"--arm-endpoint must be an https URL, not '{r.ArmEndpoint}'.";
        }
        return null;
    }

    private const string DefaultTemplate = "infra/main.bicep";
    private const string DefaultParameters = "infra/main.bicepparam";

    private async Task<CompiledTemplate?> CompileAsync(DeployRequest r, CancellationToken cancellationToken)
    {
        var (bicep, problem) = BicepCompiler.Locate(services.ToolsDirectory);
        if (bicep is null)
        {
            error.WriteLine(problem);
            return null;
        }
        var (template, parameters) = (r.Template, r.Parameters) switch
        {
            (null, null) => (DefaultTemplate, File.Exists(DefaultParameters) ? DefaultParameters : null),
            var given => given,
        };
        // A .bicepparam names its template; --template then only checks it (bicep --bicep-file).
        var checkTemplate = parameters?.EndsWith(".bicepparam", StringComparison.OrdinalIgnoreCase) == true ? r.Template : template;
        var variables = new Dictionary<string, string>();
        if (r.Environment is not null)
        {
            variables["AZURE_ENV_NAME"] = r.Environment;
        }
        if (r.Location is not null)
        {
            variables["AZURE_LOCATION"] = r.Location;
        }
        output.WriteLine($"Compiling {parameters ?? template} with bicep");
        CompileResult result;
        try
        {
            result = await new BicepCompiler(bicep).CompileAsync(checkTemplate, parameters, variables, cancellationToken);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or System.Text.Json.JsonException or IOException or InvalidCastException)
        {
            error.WriteLine($"gatehouse deploy: compiling {parameters ?? template} failed: {e.Message}");
            return null;
        }
        foreach (var line in result.Diagnostics)
        {
            error.WriteLine(line);
        }
        if (result.Compiled is not { } compiled)
        {
            error.WriteLine($"bicep failed (exit {result.ExitCode}); nothing was deployed.");
            return null;
        }
        if (r.Environment is not null)
        {
            if (!compiled.Declares("environmentName"))
            {
                error.WriteLine($"--environment sets the parameter environmentName, which {template ?? parameters} does not declare.");
                return null;
            }
            compiled = compiled.With("environmentName", r.Environment);
        }
        if (r.Location is not null && compiled.Declares("location"))
        {
            compiled = compiled.With("location", r.Location);
        }
        return compiled;
    }

    private ArmRest CreateArm(DeployRequest r)
    {
        var environment = ArmEnvironment.AzurePublicCloud;
        if (r.ArmEndpoint is not null)
        {
            var endpoint = new Uri(r.ArmEndpoint);
            ArmEnvironment[] known = [ArmEnvironment.AzurePublicCloud, ArmEnvironment.AzureChina, ArmEnvironment.AzureGovernment, ArmEnvironment.AzureGermany];
            environment = known.FirstOrDefault(k => k.Endpoint == endpoint) is { Endpoint: not null } match
                ? match
                : new ArmEnvironment(endpoint, r.ArmAudience ?? endpoint.AbsoluteUri.TrimEnd('/'));
        }
        var options = new ArmClientOptions { Environment = environment };
        if (services.Transport is { } transport)
        {
            options.Transport = transport;
        }
        var client = new ArmClient(services.Credential(), r.Subscription, options);
        return new ResourceGroupScope(client, new ResourceIdentifier($"/subscriptions/{r.Subscription}/resourceGroups/{r.ResourceGroup}")).Rest();
    }

    private int Usage(string message)
    {
        error.WriteLine(message);
        return UsageOrEnvironment;
    }

    [GeneratedRegex(@"^[-\w\._\(\)]+$")]
    private static partial Regex ArmName();
}
