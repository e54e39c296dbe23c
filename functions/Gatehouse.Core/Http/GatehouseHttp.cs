using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;

namespace Gatehouse.Http;

/// <summary>Entry points for every HTTP route; both hosts call these and nothing else.</summary>
public sealed class GatehouseHttp
{
    public Task PypiSimple(HttpContext context, DurableTaskClient durable, string? path) => throw new NotImplementedException();
    public Task PypiFiles(HttpContext context, DurableTaskClient durable, string? path) => throw new NotImplementedException();
    public Task PypiJson(HttpContext context, DurableTaskClient durable, string project, string? rest) => throw new NotImplementedException();
    public Task AdminTokens(HttpContext context, string? id) => throw new NotImplementedException();
    public Task Health(HttpContext context) => throw new NotImplementedException();
}
