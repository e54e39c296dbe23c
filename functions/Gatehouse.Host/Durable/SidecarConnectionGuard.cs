using System.Net;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Gatehouse.Host.Durable;

/// <summary>
/// Refuses sidecar gRPC calls that did not arrive on the sidecar's own loopback endpoint.
/// </summary>
/// <remarks>
/// <c>RequireHost</c> matches the request's Host header, which the caller chooses: over an application endpoint that
/// speaks HTTP/2 (e.g. HTTPS with ALPN), a request claiming the sidecar's host:port would otherwise reach
/// <c>TaskHubGrpcServer</c>, whose operations (start, terminate, purge, ...) must stay process-local. This check uses
/// the connection's actual local address and port instead.
/// </remarks>
internal sealed class SidecarConnectionGuard(DurableSidecarEndpoint sidecar) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        var connection = context.GetHttpContext().Connection;
        var onSidecar = connection.LocalPort == sidecar.Port
                         && connection.LocalIpAddress is { } local && IPAddress.IsLoopback(local);
        if (!onSidecar)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "The durable sidecar only answers on its own loopback endpoint."));
        }
    }
}
