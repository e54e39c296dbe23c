using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Gatehouse.Functions.Http;

/// <summary>The web console's files and sign-in; Core writes the whole response (see <see cref="PypiFunctions"/>).</summary>
public sealed class ConsoleFunctions(GatehouseHttp http)
{
    [Function(nameof(GatehouseHttp.Console))]
    public async Task<IActionResult> Console(
        [HttpTrigger(AuthorizationLevel.Anonymous, "GET", "HEAD", "POST", "DELETE", Route = GatehouseRoutes.Console)] HttpRequest req, string? path)
    {
        await http.Console(req.HttpContext, path);
        return new EmptyResult();
    }
}
