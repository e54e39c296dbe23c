using Gatehouse.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gatehouse.Functions.Http;

/// <summary>PEP 503/691 simple index pages.</summary>
public sealed class PypiSimpleFunction(GatehouseHttp http)
{
    [Function(nameof(GatehouseHttp.PypiSimple))]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", Route = GatehouseRoutes.PypiSimple)] HttpRequest req,
        [DurableClient] DurableTaskClient durable,
        string? path)
    {
        await http.PypiSimple(req.HttpContext, durable, path);
        return new EmptyResult(); // Core has written the whole response; EmptyResult tells the proxy it is handled.
    }
}
