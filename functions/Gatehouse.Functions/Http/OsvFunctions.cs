using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gatehouse.Functions.Http;

/// <summary>The OSV-compatible API's trigger; Core writes the whole response (see <see cref="PypiFunctions"/>).</summary>
public sealed class OsvFunctions(GatehouseHttp http)
{
    [Function(nameof(GatehouseHttp.OsvApi))]
    public async Task<IActionResult> OsvApi(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "POST", Route = GatehouseRoutes.OsvApi)] HttpRequest req, string? path)
    {
        await http.OsvApi(req.HttpContext, path);
        return new EmptyResult();
    }
}
