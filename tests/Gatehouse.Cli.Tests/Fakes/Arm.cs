using System.Text.Json.Nodes;

namespace Gatehouse.Cli.Tests.Fakes;

/// <summary>The ids, paths and response bodies of ARM the tests script, shaped as the REST reference documents them.</summary>
public static class Arm
{
    public const string Subscription = "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b";
    public const string ResourceGroup = "rg-gatehouse-test";
    public const string Deployment = "gh-test-1";
    public const string Audience = "https://management.fake.test";

    public const string GroupPath = $"/subscriptions/{Subscription}/resourcegroups/{ResourceGroup}";
    public const string DeploymentPath = $"{GroupPath}/providers/Microsoft.Resources/deployments/{Deployment}";
    public const string OperationsPath = $"{DeploymentPath}/operations";
    public const string OperationStatusPath = $"{DeploymentPath}/operationStatuses/08584371126450963524";

    public static string SitePath(string app) => $"{GroupPath}/providers/Microsoft.Web/sites/{app}";

    public static string ResourceId(string type, string name) => $"/subscriptions/{Subscription}/resourceGroups/{ResourceGroup}/providers/{type}/{name}";

    /// <summary><c>{"error":{"code","message","details":[…]}}</c></summary>
    public static JsonObject Error(string code, string message, params JsonObject[] details) => new() { ["error"] = Inner(code, message, details) };

    public static JsonObject Inner(string code, string message, params JsonObject[] details)
    {
        var error = new JsonObject { ["code"] = code, ["message"] = message };
        if (details.Length > 0)
        {
            error["details"] = new JsonArray(details.Select(d => (JsonNode)d).ToArray());
        }
        return error;
    }

    public static JsonObject ResourceGroupBody(string location) => new()
    {
        ["id"] = $"/subscriptions/{Subscription}/resourceGroups/{ResourceGroup}",
        ["name"] = ResourceGroup,
        ["location"] = location,
        ["properties"] = new JsonObject { ["provisioningState"] = "Succeeded" },
    };

    /// <summary>A deployment (DeploymentExtended) in a provisioning state, with outputs or an error.</summary>
    public static JsonObject DeploymentBody(string state, JsonObject? outputs = null, JsonObject? error = null)
    {
        var properties = new JsonObject { ["provisioningState"] = state, ["mode"] = "Incremental" };
        if (outputs is not null)
        {
            properties["outputs"] = outputs;
        }
        if (error is not null)
        {
            properties["error"] = error;
        }
        return new JsonObject { ["id"] = $"/subscriptions/{Subscription}/resourceGroups/{ResourceGroup}/providers/Microsoft.Resources/deployments/{Deployment}", ["name"] = Deployment, ["properties"] = properties };
    }

    public static JsonObject Outputs(params (string Name, string Value)[] outputs)
    {
        var result = new JsonObject();
        foreach (var (name, value) in outputs)
        {
            result[name] = new JsonObject { ["type"] = "String", ["value"] = value };
        }
        return result;
    }

    /// <summary>The body of an Azure-AsyncOperation status URL.</summary>
    public static JsonObject Status(string status, JsonObject? error = null)
    {
        var body = new JsonObject { ["status"] = status };
        if (error is not null)
        {
            body["error"] = error;
        }
        return body;
    }

    /// <summary>One deployment operation (one resource).</summary>
    public static JsonObject Operation(string id, string state, string type, string name, string timestamp, string? duration = null, JsonObject? statusMessage = null)
    {
        var properties = new JsonObject
        {
            ["provisioningOperation"] = "Create",
            ["provisioningState"] = state,
            ["timestamp"] = timestamp,
            ["targetResource"] = new JsonObject { ["id"] = ResourceId(type, name), ["resourceType"] = type, ["resourceName"] = name },
        };
        if (duration is not null)
        {
            properties["duration"] = duration;
        }
        if (statusMessage is not null)
        {
            properties["statusMessage"] = statusMessage;
        }
        return new JsonObject { ["id"] = $"{DeploymentPath}/operations/{id}", ["operationId"] = id, ["properties"] = properties };
    }

    public static JsonObject Operations(params JsonObject[] operations) => new() { ["value"] = new JsonArray(operations.Select(o => (JsonNode)o.DeepClone()).ToArray()) };
}
