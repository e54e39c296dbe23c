using Gatehouse.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gatehouse.Functions.Http;

/// <summary>PEP 740 provenance passthrough for a listed file.</summary>
public sealed class PypiIntegrityFunction(GatehouseHttp http)
{
    [Function(nameof(GatehouseHttp.PypiIntegrity))]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", Route = GatehouseRoutes.PypiIntegrity)] HttpRequest req,
        [DurableClient] DurableTaskClient durable,
        string? path)
    {
        await http.PypiIntegrity(req.HttpContext, durable, path);
        return new EmptyResult(); // Core has written the whole response; EmptyResult tells the proxy it is handled.
    }
}
