using System.Text.Json.Nodes;
using Azure.Core;

namespace Gatehouse.Cli.Deploy;

/// <summary>
/// Deploys the code package to a Flex Consumption app with One Deploy, the publish path Flex supports:
/// <c>POST https://&lt;scm host&gt;/api/publish?RemoteBuild=false</c> with the zip (<c>application/zip</c>) and an ARM
/// bearer token. The platform writes it to the app's deployment container (<c>functionAppConfig.deployment.storage</c>,
/// as <c>released-package.zip</c>) and the app runs from it; writing that blob directly is not a documented deploy path.
/// The answer is the deployment id; <c>GET /api/deployments/{id}</c> is polled until <c>complete</c>: status 4 is
/// success, 3 failure. The SCM host is the site's <c>hostNameSslStates</c> entry of type <c>Repository</c>.
/// </summary>
internal sealed class FlexOneDeploy(ArmRest arm, OperationPoller poller, TextWriter output, DeployTiming timing, TimeProvider time)
{
    /// <summary>Kudu's deployment status codes.</summary>
    private static readonly Dictionary<int, string> Statuses = new()
    {
        [-1] = "cancelled",
        [0] = "pending",
        [1] = "building",
        [2] = "deploying",
        [3] = "failed",
        [4] = "succeeded",
        [5] = "cancelled: another deployment was in progress",
        [6] = "partially succeeded",
    };

    /// <summary>The SCM (Kudu) host of a Flex Consumption site, from <c>GET Microsoft.Web/sites/{name}</c>.</summary>
    public static string ScmHost(JsonNode? site, string name)
    {
        if (site?["properties"]?["functionAppConfig"] is not JsonObject)
        {
            throw new DeployFailedException($"{name} is not a Flex Consumption app (it has no properties.functionAppConfig); gatehouse deploy publishes to Flex only.");
        }
        var repository = (site["properties"]?["hostNameSslStates"] as JsonArray ?? []).OfType<JsonObject>()
            .FirstOrDefault(s => string.Equals(s["hostType"].Text(), "Repository", StringComparison.OrdinalIgnoreCase));
        return repository?["name"].Text()
            ?? throw new DeployFailedException($"{name} lists no SCM (Repository) host name in properties.hostNameSslStates.");
    }

    /// <summary>Uploads the zip and waits for the deployment to complete; returns Kudu's final status object.</summary>
    public async Task<JsonNode?> PublishAsync(string scmHost, string zipPath, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var publish = new Uri($"https://{scmHost}/api/publish?RemoteBuild=false&Deployer=gatehouse");
        var size = new FileInfo(zipPath).Length;
        output.WriteLine($"Uploading the code package ({size / 1024} KiB) to https://{scmHost}/api/publish");
        var accepted = await UploadAsync(publish, zipPath, deadline, cancellationToken);
        var id = accepted.Body is JsonValue value && value.TryGetValue<string>(out var text) ? text : accepted.Text.Trim().Trim('"');
        if (id.Length == 0)
        {
            throw new DeployFailedException($"{publish.GetLeftPart(UriPartial.Path)} answered {accepted.Status} without a deployment id.");
        }

        var status = new Uri($"https://{scmHost}/api/deployments/{Uri.EscapeDataString(id)}");
        var last = accepted;
        JsonNode? report = null;
        string? shown = null;
        while (report is null || !report["complete"].IsTrue())
        {
            await poller.WaitAsync(last, timing.KuduPollInterval, deadline, $"code deployment {id}", cancellationToken);
            try
            {
                last = await arm.SendAsync(RequestMethod.Get, status, null, cancellationToken);
            }
            catch (ArmCallFailedException e) when (e.Status == 404 && report is not null)
            {
                break; // Kudu recycles finished deployment records; the last status seen stands.
            }
            report = last.Body;
            var code = report?["status"].Number() ?? 0;
            var line = $"code deployment {id}: {Statuses.GetValueOrDefault(code, $"status {code}")}" +
                (report?["status_text"].Text() is { Length: > 0 } statusText ? $" ({statusText})" : "");
            if (line != shown)
            {
                output.WriteLine(line);
                shown = line;
            }
            if (code is 3 or -1 or 5 or 6)
            {
                var log = report?["log_url"].Text() is { Length: > 0 } url ? $"; log: {url}" : "";
                throw new DeployFailedException($"The code deployment {id} {Statuses[code]}{log}");
            }
        }
        return report;
    }

    // On a new environment the app's identity may not yet hold its role on the deployment storage account; Kudu then
    // answers 400 with a BlobUploadFailedException (or 403) until the role assignment has propagated.
    private async Task<ArmResponse> UploadAsync(Uri publish, string zipPath, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var retryUntil = MinOf(deadline, time.GetUtcNow() + timing.StorageAccessRetryWindow);
        while (true)
        {
            await using var zip = File.OpenRead(zipPath);
            try
            {
                return await arm.SendAsync(RequestMethod.Post, publish, RequestContent.Create(zip), "application/zip", TimeSpan.FromMinutes(10), cancellationToken);
            }
            catch (ArmCallFailedException e) when (IsStorageAccessDenied(e) && time.GetUtcNow() + timing.StorageAccessRetryInterval < retryUntil)
            {
                output.WriteLine($"The app cannot write to its deployment storage yet ({e.Status}); its role assignment may still be propagating. Retrying.");
                await Task.Delay(timing.StorageAccessRetryInterval, time, cancellationToken);
            }
        }
    }

    private static bool IsStorageAccessDenied(ArmCallFailedException e) =>
        e.Status == 403 || (e.Status == 400 && e.Body.Contains("BlobUploadFailed", StringComparison.OrdinalIgnoreCase));

    private static DateTimeOffset MinOf(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
