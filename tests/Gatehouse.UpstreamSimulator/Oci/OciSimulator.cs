namespace Gatehouse.UpstreamSimulator.Oci;

/// <summary>
/// The container-registry half of the simulator (registry-1.docker.io, auth.docker.io and a CDN path, on the same host):
/// images built in code by <see cref="OciImages"/> and synthetic big ones. Shares the host, <c>/_sim/down</c>,
/// <c>/_sim/delay</c> and <c>/_sim/fault</c> with the other halves; its own controls live under <c>/_sim/oci/</c>.
/// </summary>
public static class OciSimulator
{
    public static void Map(WebApplication app, OciState state)
    {
        OciRegistryEndpoints.Map(app, state);
        OciControlEndpoints.Map(app, state);
    }
}
