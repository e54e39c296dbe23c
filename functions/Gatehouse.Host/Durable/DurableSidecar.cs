using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;

namespace Gatehouse.Host.Durable;

/// <summary>The loopback HTTP/2 endpoint on which the gRPC sidecar (TaskHubGrpcServer) listens.</summary>
public sealed class DurableSidecarEndpoint
{
    internal DurableSidecarEndpoint(int port)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(port);
        Port = port;
    }

    public int Port { get; }

    /// <summary>Address the in-process worker and client dial, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public Uri Address => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}"));

    /// <summary><c>RequireHost</c> pattern that only matches requests addressed to the sidecar port.</summary>
    internal string HostPattern => string.Create(CultureInfo.InvariantCulture, $"*:{Port}");

    /// <summary>Resolves the configured port; 0 asks the OS for a free loopback port.</summary>
    internal static DurableSidecarEndpoint Resolve(int configuredPort)
    {
        if (configuredPort != 0)
        {
            return new DurableSidecarEndpoint(configuredPort);
        }

        // The route must name the port before Kestrel starts (RequireHost, channel address), so reserve-and-release
        // a free port now. The OS does not hand the same ephemeral port out again right away.
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new DurableSidecarEndpoint(port);
    }
}

/// <summary>
/// The single gRPC channel the in-process <c>DurableTaskWorker</c> and <c>DurableTaskClient</c> use to reach the sidecar.
/// </summary>
/// <remarks>
/// In a <c>WebApplication</c>, hosted services (the worker among them) start before Kestrel binds, so the worker's first
/// connection attempt would be refused and it would back off for seconds. The connect callback instead retries
/// "connection refused" for a short window, so the worker attaches as soon as the sidecar listens.
/// </remarks>
internal sealed class DurableSidecarChannel : IDisposable
{
    private static readonly TimeSpan ConnectRetryWindow = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ConnectRetryDelay = TimeSpan.FromMilliseconds(50);

    public DurableSidecarChannel(DurableSidecarEndpoint endpoint)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = (context, cancellationToken) => ConnectAsync(endpoint.Port, cancellationToken),
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        };
        Channel = GrpcChannel.ForAddress(endpoint.Address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
        });
    }

    public GrpcChannel Channel { get; }

    public void Dispose() => Channel.Dispose();

    private static async ValueTask<Stream> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused
                                             && Stopwatch.GetElapsedTime(started) < ConnectRetryWindow)
            {
                socket.Dispose();
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            await Task.Delay(ConnectRetryDelay, cancellationToken).ConfigureAwait(false);
        }
    }
}
