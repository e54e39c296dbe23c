using System.Text.Json;

namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>
/// Error answers in the distribution spec's shape (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes):
/// <c>{"errors":[{"code","message","detail"}]}</c>, built in this one place.
/// </summary>
internal static class OciErrors
{
    public static IResult Write(int status, string code, string message, object? detail = null) =>
        Results.Json(new { errors = new[] { new { code, message, detail } } }, JsonSerializerOptions.Web, statusCode: status);

    public static IResult NameInvalid(string name) => Write(StatusCodes.Status400BadRequest, "NAME_INVALID", "invalid repository name", new { name });

    public static IResult NameUnknown(string name) =>
        Write(StatusCodes.Status404NotFound, "NAME_UNKNOWN", "repository name not known to registry", new { name });

    public static IResult ManifestUnknown(string name, string reference) =>
        Write(StatusCodes.Status404NotFound, "MANIFEST_UNKNOWN", "manifest unknown", new { name, reference });

    public static IResult BlobUnknown(string digest) => Write(StatusCodes.Status404NotFound, "BLOB_UNKNOWN", "blob unknown to registry", new { digest });

    public static IResult DigestInvalid(string digest) =>
        Write(StatusCodes.Status400BadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content", new { digest });

    public static IResult Unsupported(string what) => Write(StatusCodes.Status405MethodNotAllowed, "UNSUPPORTED", "The operation is unsupported.", what);

    public static IResult TooManyRequests() => Write(StatusCodes.Status429TooManyRequests, "TOOMANYREQUESTS",
        "You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit");
}
