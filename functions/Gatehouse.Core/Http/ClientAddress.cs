using System.Net;

namespace Gatehouse.Http;

/// <summary>How Gatehouse writes a client's address (audit, logs, the failure limiter): IPv4 clients of a dual-stack socket as IPv4.</summary>
public static class ClientAddress
{
    /// <summary>The address as text, an IPv4-mapped IPv6 address as its IPv4 form; null when unknown.</summary>
    public static string? Text(IPAddress? address) => address is null ? null : (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
}
