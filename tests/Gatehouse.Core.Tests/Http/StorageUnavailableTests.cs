using Azure;

namespace Gatehouse.Core.Tests.Http;

/// <summary>Which storage failures make a request a 503 to come back: the service's absence, never a refused request.</summary>
public sealed class StorageUnavailableTests
{
    public static TheoryData<Exception, bool> Failures => new()
    {
        { new RequestFailedException("Connection refused"), true },
        { new RequestFailedException(503, "Server busy"), true },
        { new RequestFailedException(500, "Internal error"), true },
        { new AggregateException("Retry failed after 4 tries", new HttpRequestException("Connection refused"), new TimeoutException()), true },
        { new HttpRequestException("Connection refused"), true },
        { new RequestFailedException(404, "The specified blob does not exist"), false },
        { new RequestFailedException(409, "Conflict"), false },
        { new RequestFailedException(403, "AuthorizationFailure"), false },
        { new AggregateException(new HttpRequestException("refused"), new InvalidOperationException("a bug")), false },
        { new InvalidOperationException("a bug"), false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Only_an_unreachable_or_failing_service_counts(Exception failure, bool unavailable) =>
        Assert.Equal(unavailable, GatehouseHttp.StorageUnavailable(failure));
}
