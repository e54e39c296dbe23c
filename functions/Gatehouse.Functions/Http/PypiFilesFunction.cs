using Gatehouse.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Gatehouse.Functions.Http;

/// <summary>Distribution files, served only after a clean verdict.</summary>
public sealed class PypiFilesFunction(GatehouseHttp http)
{
    [Function(nameof(GatehouseHttp.PypiFiles))]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", Route = GatehouseRoutes.PypiFiles)] HttpRequest req,
        [DurableClient] DurableTaskClient durable,
        string? path)
    {
        await http.PypiFiles(req.HttpContext, durable, path);
        return new EmptyResult(); // Core has written the whole response; EmptyResult tells the proxy it is handled.
    }
}
