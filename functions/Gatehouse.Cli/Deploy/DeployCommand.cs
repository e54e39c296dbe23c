using System.CommandLine;

namespace Gatehouse.Cli.Deploy;

/// <summary>
/// <c>gatehouse deploy</c>: compiles the Bicep with the Bicep CLI shipped beside <c>gatehouse</c>, deploys it to a
/// resource group through ARM (or shows what it would change, <c>--what-if</c>), then publishes the Functions app to
/// the Flex Consumption app the deployment made. Exit 0 when everything succeeded, 1 when Azure refused or failed the
/// deployment or the code publish, 2 for usage and environment errors (options, bicep errors, sign-in, timeout).
/// </summary>
public static class DeployCommand
{
    public static Command Build() => Build(DeployServices.Default);

    internal static Command Build(DeployServices services)
    {
        var subscription = new Option<string?>("--subscription") { Description = "Azure subscription id (env AZURE_SUBSCRIPTION_ID)" };
        var resourceGroup = new Option<string?>("--resource-group", "-g") { Description = "Resource group to deploy to (env AZURE_RESOURCE_GROUP); created when missing, which needs --location" };
        var location = new Option<string?>("--location", "-l") { Description = "Azure region for a new resource group, and the template's 'location' parameter (env AZURE_LOCATION)" };
        var template = new Option<string?>("--template") { Description = "Bicep (or ARM JSON) template; default infra/main.bicep. With a .bicepparam it must be the file its 'using' line names" };
        var parameters = new Option<string?>("--parameters") { Description = "A .bicepparam (or ARM parameters .json); default infra/main.bicepparam when neither file option is given and it exists" };
        var environment = new Option<string?>("--environment") { Description = "Sets the template's 'environmentName' parameter (env AZURE_ENV_NAME; also visible to readEnvironmentVariable in .bicepparam)" };
        var name = new Option<string?>("--name") { Description = "Deployment name (default gatehouse-<UTC time>)" };
        var whatIf = new Option<bool>("--what-if") { Description = "Show what the deployment would change, deploy nothing" };
        var skipCode = new Option<bool>("--skip-code") { Description = "Deploy the infrastructure only; do not publish the Functions app" };
        var package = new Option<string?>("--package") { Description = "Publish this prebuilt 'dotnet publish' folder or zip instead of publishing --project" };
        var project = new Option<string>("--project") { Description = "Functions project to publish", DefaultValueFactory = _ => "functions/Gatehouse.Functions" };
        var armEndpoint = new Option<string?>("--arm-endpoint") { Description = "Azure Resource Manager endpoint (default https://management.azure.com/; for sovereign clouds and tests)" };
        var armAudience = new Option<string?>("--arm-audience") { Description = "Token audience for an --arm-endpoint that is not a known cloud's (default: the endpoint)" };
        var timeout = new Option<int>("--timeout") { Description = "Give up waiting for Azure after this many seconds (what was started goes on there)", DefaultValueFactory = _ => 3600 };

        var command = new Command("deploy", "Deploy Gatehouse to Azure: Bicep infrastructure through ARM, then the Functions app code (Flex Consumption)")
        {
            subscription, resourceGroup, location, template, parameters, environment, name, whatIf, skipCode, package, project,
            armEndpoint, armAudience, timeout,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            string? Or(Option<string?> option, string variable) => parse.GetValue(option) is { Length: > 0 } given ? given : services.Environment(variable) is { Length: > 0 } set ? set : null;
            var request = new DeployRequest(
                Or(subscription, "AZURE_SUBSCRIPTION_ID"),
                Or(resourceGroup, "AZURE_RESOURCE_GROUP"),
                Or(location, "AZURE_LOCATION"),
                parse.GetValue(template),
                parse.GetValue(parameters),
                Or(environment, "AZURE_ENV_NAME"),
                parse.GetValue(name),
                parse.GetValue(whatIf),
                parse.GetValue(skipCode),
                parse.GetValue(package),
                parse.GetValue(project)!,
                parse.GetValue(armEndpoint),
                parse.GetValue(armAudience),
                parse.GetValue(timeout));
            var run = new DeployRun(services, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
            return run.RunAsync(request, cancellationToken);
        });
        return command;
    }
}

/// <summary>The options of one <c>gatehouse deploy</c>, environment fallbacks applied.</summary>
internal sealed record DeployRequest(
    string? Subscription,
    string? ResourceGroup,
    string? Location,
    string? Template,
    string? Parameters,
    string? Environment,
    string? Name,
    bool WhatIf,
    bool SkipCode,
    string? Package,
    string Project,
    string? ArmEndpoint,
    string? ArmAudience,
    int TimeoutSeconds);
