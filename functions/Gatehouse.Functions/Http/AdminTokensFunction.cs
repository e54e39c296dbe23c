using Gatehouse.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gatehouse.Functions.Http;

/// <summary>Issue, list and revoke entitlement tokens.</summary>
public sealed class AdminTokensFunction(GatehouseHttp http)
{
    [Function(nameof(GatehouseHttp.AdminTokens))]
    public async Task<IActionResult> Run(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "POST", "DELETE", Route = GatehouseRoutes.AdminTokens)] HttpRequest req,
        string? id)
    {
        await http.AdminTokens(req.HttpContext, id);
        return new EmptyResult(); // Core has written the whole response; EmptyResult tells the proxy it is handled.
    }
}
