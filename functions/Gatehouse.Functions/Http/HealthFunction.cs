using Gatehouse.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gatehouse.Functions.Http;

/// <summary>Liveness probe.</summary>
public sealed class HealthFunction(GatehouseHttp http)
{
    [Function(nameof(GatehouseHttp.Health))]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", Route = GatehouseRoutes.Health)] HttpRequest req)
    {
        await http.Health(req.HttpContext);
        return new EmptyResult(); // Core has written the whole response; EmptyResult tells the proxy it is handled.
    }
}
