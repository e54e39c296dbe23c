namespace Gatehouse;

/// <summary>The one route table both hosts serve; templates are constants so Functions attributes can use them.</summary>
public static class GatehouseRoutes
{
    public const string PypiSimple = "pypi/simple/{*path}";
    public const string PypiFiles = "pypi/files/{*path}";
    public const string PypiIntegrity = "pypi/integrity/{*path}";
    public const string PypiJson = "pypi/{project}/{*rest}";
    public const string HuggingFace = "hf/{*path}";
    public const string AdminTokens = "admin/tokens/{id?}/{operation?}";
    public const string AdminPrefetch = "admin/prefetch/{source}/{id?}";
    public const string AdminPolicy = "admin/policy/{operation?}";
    public const string AdminOsv = "admin/osv/{operation?}";
    public const string Health = "healthz";
    public const string OsvApi = "osv/v1/{*path}";
    public const string AdminBom = "admin/bom/{remote}/{*name}";
    public const string AdminAudit = "admin/audit/{operation?}";
    public const string AdminQuarantine = "admin/quarantine/{sha256?}/{operation?}";
    public const string AdminOpenApi = "admin/openapi.json";
    public const string Uploads = "uploads/{*path}";
    public const string AdminRescan = "admin/rescan/{id?}";
    public const string Console = "console/{*path}";
    public const string AdminStats = "admin/stats";
    public const string AdminArtifacts = "admin/artifacts";
    public const string OciRoot = "v2";
    public const string Oci = "v2/{*path}";
    public const string OciToken = "oci/token";

    /// <summary>Every route with its function name and methods, as the Functions metadata must list it.</summary>
    public static readonly IReadOnlyList<GatehouseRoute> All =
    [
        new("PypiSimple", PypiSimple, ["GET", "HEAD"]),
        new("PypiFiles", PypiFiles, ["GET", "HEAD"]),
        new("PypiIntegrity", PypiIntegrity, ["GET", "HEAD"]),
        new("PypiJson", PypiJson, ["GET", "HEAD"]),
        new("HuggingFace", HuggingFace, ["GET", "HEAD", "POST"]),
        new("AdminTokens", AdminTokens, ["GET", "POST", "DELETE", "PATCH"]),
        new("AdminPrefetch", AdminPrefetch, ["GET", "HEAD", "POST"]),
        new("AdminPolicy", AdminPolicy, ["GET", "PUT", "POST"]),
        new("AdminOsv", AdminOsv, ["GET", "POST"]),
        new("Health", Health, ["GET"]),
        new("OsvApi", OsvApi, ["GET", "POST"]),
        new("AdminBom", AdminBom, ["GET"]),
        new("AdminAudit", AdminAudit, ["GET"]),
        new("AdminQuarantine", AdminQuarantine, ["GET", "POST"]),
        new("AdminOpenApi", AdminOpenApi, ["GET"]),
        new("Uploads", Uploads, ["GET", "HEAD", "PUT"]),
        new("AdminRescan", AdminRescan, ["GET", "POST"]),
        new("Console", Console, ["GET", "HEAD", "POST", "DELETE"]),
        new("AdminStats", AdminStats, ["GET"]),
        new("AdminArtifacts", AdminArtifacts, ["GET"]),
        new("OciRoot", OciRoot, ["GET", "HEAD"]),
        new("Oci", Oci, ["GET", "HEAD"]),
        new("OciToken", OciToken, ["GET"]),
    ];
}

/// <summary>A named HTTP route.</summary>
public sealed record GatehouseRoute(string Name, string Template, IReadOnlyList<string> Methods);
