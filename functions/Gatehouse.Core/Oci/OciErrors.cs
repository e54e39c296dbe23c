using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Oci;

/// <summary>
/// The registry's error answers, built in one place: the OCI distribution spec's error codes and its body
/// <c>{"errors":[{"code","message","detail"}]}</c>, which docker, podman and skopeo print as the reason.
/// </summary>
public static class OciErrors
{
    public const string Unauthorized = "UNAUTHORIZED", Denied = "DENIED", NameInvalid = "NAME_INVALID", NameUnknown = "NAME_UNKNOWN",
        ManifestUnknown = "MANIFEST_UNKNOWN", ManifestInvalid = "MANIFEST_INVALID", BlobUnknown = "BLOB_UNKNOWN", DigestInvalid = "DIGEST_INVALID",
        Unsupported = "UNSUPPORTED", TooManyRequests = "TOOMANYREQUESTS", Unknown = "UNKNOWN";

    /// <summary>The header registries answer every <c>/v2/</c> request with (distribution's registry API v2).</summary>
    public const string ApiVersionHeader = "Docker-Distribution-API-Version";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Writes <c>{"errors":[{"code":…,"message":…,"detail":…}]}</c> as <c>application/json</c>; a HEAD answer gets the headers only.</summary>
    public static Task WriteAsync(HttpContext context, int status, string code, string message, object? detail = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        response.Headers[ApiVersionHeader] = "registry/2.0";
        response.ContentType = "application/json";
        var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorsBody([new ErrorEntry(code, message, detail)]), Json);
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    private sealed record ErrorsBody(IReadOnlyList<ErrorEntry> Errors);

    private sealed record ErrorEntry(string Code, string Message, object? Detail);
}
