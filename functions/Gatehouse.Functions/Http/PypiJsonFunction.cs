using Gatehouse.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gatehouse.Functions.Http;

/// <summary>The PyPI JSON API for a project or a release.</summary>
public sealed class PypiJsonFunction(GatehouseHttp http)
{
    [Function(nameof(GatehouseHttp.PypiJson))]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", Route = GatehouseRoutes.PypiJson)] HttpRequest req,
        [DurableClient] DurableTaskClient durable,
        string project,
        string? rest)
    {
        await http.PypiJson(req.HttpContext, durable, project, rest);
        return new EmptyResult(); // Core has written the whole response; EmptyResult tells the proxy it is handled.
    }
}
